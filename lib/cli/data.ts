/**
 * `deno task data [--quick] [--out DIR]`: writes the synthface dataset (lib/data/dataset.ts) to
 * data/synthface/ with its README (counts, base rates, checksums), and a grid of 32 random faces
 * with their oracle labels (faces.png). --quick writes a small version (512 / 128 latents).
 */
import { tf } from "../backend.ts";
import { buildDataset, DATASET, DATASET_DIR, QUICK_DATASET } from "../data/dataset.ts";
import { writeDatasetReadme } from "../data/report.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { faceGrid } from "../viz/faces.ts";
import { writePng } from "../viz/png.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task data [--quick] [--report] [--out DIR]",
  flags: {
    quick: "512 training and 128 test latents",
    report: "only rewrite the README (and faces.png) from the files",
    help: "this text",
  },
  options: { out: `output directory (default ${DATASET_DIR})` },
});
const dir = (args.options.out ?? DATASET_DIR).replace(/\/$/, "");
// The labels are the training classifier's; the identity network adds FRS to the README's report.
const world = await loadSynthFace({ evaluators: ["classifier", "identity"] });
const cfg = args.flags.quick ? QUICK_DATASET : DATASET;
const summary = args.flags.report ? null : await buildDataset(world, dir, cfg);
const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(32, 7))));
await writePng(`${dir}/faces.png`, faceGrid(world, w, { cols: 8, resolution: 64, scale: 2 }));
await writeDatasetReadme(dir, world, cfg, { entanglementSamples: args.flags.quick ? 128 : 1000 });
if (summary) console.log(JSON.stringify(summary, null, 2));
console.log(
  `wrote ${dir}${summary ? ` in ${summary.seconds.toFixed(0)} s` : " (README and faces.png)"}`,
);
