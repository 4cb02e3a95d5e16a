/**
 * `deno task demo`: the main job on the embedded default. Loads the synthface world and the shipped
 * ID-Style checkpoint (official preset; if it is missing, trains a quick one first), edits 8 faces
 * from fixed seeds for each attribute in both directions and once with all four toggled at once
 * (absmax), and writes out/demo/edits.png (lib/eval/showcase.ts: rows are faces; columns the original
 * and each edit) and
 * out/demo/metrics.json (per attribute: accuracy by the evaluation classifier and by the oracle,
 * FRS, oracle identity similarity), then prints that table.
 *
 * `deno task demo --world real [--real-config F.json] --checkpoint 100000.ckpt`: the same with the
 * real StyleGAN2 and the authors' networks, on the config's first 8 latents (or 8 sampled at
 * truncation 0.7), to out/demo/real-edits.png and real-metrics.json (no oracle).
 */
import { backend, tf } from "../backend.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { evaluate, idStyleAttributeEditor } from "../eval/evaluate.ts";
import { editShowcase } from "../eval/showcase.ts";
import { writePng } from "../viz/png.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";
import { trainConfig } from "../train/config.ts";
import { train } from "../train/train.ts";
import { quickDataset } from "../data/quick.ts";
import { readLatents } from "../io/latents.ts";
import { parseArgs } from "./args.ts";
import { loadRealWithEditor, WORLD_OPTIONS, worldKind } from "./world_args.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task demo [--world real --real-config F.json --checkpoint C]",
  flags: { help: "this text" },
  options: {
    ...WORLD_OPTIONS,
    checkpoint: "with --world real: the editor (ours or the authors' .ckpt)",
    faces: "with --world real: how many faces (default 8)",
  },
});
const t0 = performance.now();
const OUT = "out/demo";
const FACES = 8, SEED = 2024;
await Deno.mkdir(OUT, { recursive: true });
if (worldKind(args.options, args.fail) === "real") {
  await realDemo();
  Deno.exit(0);
}
const world = await loadSynthFace();

let editor: IDStyleEditor;
let source: string;
try {
  editor = (await loadEditor(SHIPPED_CHECKPOINTS.official)).editor;
  source = SHIPPED_CHECKPOINTS.official;
} catch (err) {
  console.log(
    `no shipped checkpoint (${(err as Error).message.split("\n")[0]}); training a quick one`,
  );
  const cfg = trainConfig("official", "quick");
  editor = (await train(cfg, {
    world,
    dataset: await quickDataset(world),
    name: "demo-quick",
    resume: false,
  })).editor;
  source = "a quick run (out of the box: checkpoints/runs/demo-quick)";
}

// 8 faces from a fixed seed (W mode): the grid, then metrics on the same faces, each attribute both ways.
await writePng(`${OUT}/edits.png`, editShowcase(world, editor, { faces: FACES, seed: SEED }));
const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(FACES, SEED))));
const { summary } = evaluate(
  idStyleAttributeEditor(editor),
  world,
  FACES,
  (rows) => tf.gather(w, rows),
  { silent: true, batch: FACES },
);
const perAttribute = Object.fromEntries(
  world.attributes.map((
    a,
  ) => [a, { accuracy: summary.accuracy[a], oracleAccuracy: summary.oracleAccuracy![a] }]),
);
const metrics = {
  checkpoint: source,
  faces: FACES,
  seed: SEED,
  edits: summary.edits,
  perAttribute,
  mAcc: summary.mAcc,
  oracleMAcc: summary.oracleMAcc,
  frs: summary.frs,
  oracleIdentity: summary.oracleIdentity,
  ssim: summary.ssim,
  backend: backend.name,
};
await writeFileAtomic(`${OUT}/metrics.json`, JSON.stringify(metrics, null, 2) + "\n");

const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);
console.log(
  `\nID-Style (${
    source.split("/").pop()
  }) on ${FACES} synthface faces, each attribute edited both ways:\n`,
);
console.log("attribute   accuracy (eval classifier)   accuracy (oracle)");
for (const a of world.attributes) {
  console.log(
    `${a.padEnd(10)}  ${pct(perAttribute[a].accuracy)}                      ${
      pct(perAttribute[a].oracleAccuracy)
    }`,
  );
}
console.log(`mean        ${pct(summary.mAcc)}                      ${pct(summary.oracleMAcc!)}`);
console.log(
  `\nidentity kept: FRS ${
    summary.frs.toFixed(3)
  } (identity-network cosine), oracle identity similarity ${
    summary.oracleIdentity!.toFixed(3)
  }, SSIM ${summary.ssim.toFixed(3)}`,
);
console.log(
  `\nwrote ${OUT}/edits.png and ${OUT}/metrics.json in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);

async function realDemo(): Promise<void> {
  const loaded = await loadRealWithEditor(args.options, args.fail);
  const { world, editor } = loaded;
  const L = world.numLayers, D = world.latentDim;
  const faces = Number(args.options.faces ?? FACES);
  if (!(Number.isInteger(faces) && faces >= 1)) {
    args.fail(`--faces: expected a positive integer, got "${args.options.faces}"`);
  }
  let w: tf.Tensor3D;
  if (world.config.latents) {
    const lat = await readLatents(world.config.latents, "latents", { numLatents: L, latentDim: D });
    const n = Math.min(faces, lat.n);
    w = tf.tensor3d(lat.data.subarray(0, n * L * D), [n, L, D]);
  } else {
    w = tf.tidy(() =>
      world.toWPlus(world.truncate(world.mapping(world.sampleZ(faces, SEED)), 0.7))
    );
  }
  const n = w.shape[0];
  await writePng(
    `${OUT}/real-edits.png`,
    editShowcase(world, editor, { latents: w, resolution: 256 }),
  );
  const { summary } = evaluate(
    idStyleAttributeEditor(editor),
    world,
    n,
    (rows) => tf.gather(w, rows),
    {
      silent: true,
      batch: 2,
    },
  );
  const scoring = world.scoredByTrainingClassifier
    ? "training classifier (no evalClassifier)"
    : "evaluation classifier";
  await writeFileAtomic(
    `${OUT}/real-metrics.json`,
    JSON.stringify(
      { checkpoint: args.options.checkpoint, faces: n, scoring, ...summary },
      null,
      2,
    ) + "\n",
  );
  console.log(
    `ID-Style (${args.options.checkpoint}) on ${n} real faces, each attribute both ways; accuracy by the ${scoring}:`,
  );
  for (const a of world.attributes) {
    console.log(`  ${a.padEnd(8)} ${(100 * summary.accuracy[a]).toFixed(1)}%`);
  }
  console.log(`  FRS ${summary.frs.toFixed(3)}, SSIM ${summary.ssim.toFixed(3)}`);
  console.log(
    `wrote ${OUT}/real-edits.png and ${OUT}/real-metrics.json in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}
