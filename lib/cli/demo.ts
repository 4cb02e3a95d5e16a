/**
 * `deno task demo`: the main job on the embedded default. Loads the synthface world and the shipped
 * ID-Style checkpoint (official preset; if it is missing, trains a quick one first), edits 8 faces
 * from fixed seeds for each attribute in both directions and once with all four toggled at once
 * (absmax), and writes out/demo/edits.png (rows are faces; columns the original and each edit) and
 * out/demo/metrics.json (per attribute: accuracy by the evaluation classifier and by the oracle,
 * FRS, oracle identity similarity), then prints that table.
 */
import { backend, tf } from "../backend.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { evaluate, idStyleAttributeEditor } from "../eval/evaluate.ts";
import { editGrid, labelCode } from "../viz/faces.ts";
import { writePng } from "../viz/png.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";
import { trainConfig } from "../train/config.ts";
import { train } from "../train/train.ts";
import { quickDataset } from "../data/quick.ts";

const t0 = performance.now();
const OUT = "out/demo";
const FACES = 8, SEED = 2024;
await Deno.mkdir(OUT, { recursive: true });
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

// 8 faces from a fixed seed, W mode.
const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(FACES, SEED))));
const M = world.attributes.length;
const labels = world.oracle.labels(w).dataSync();

// The grid: original, each attribute +1 and -1, all four toggled at once (absmax).
const columns: tf.Tensor4D[] = [world.synthesize(w, { resolution: 96 })];
const headers = ["original"];
for (let m = 0; m < M; m++) {
  for (const dir of [1, -1]) {
    const attr = Array.from({ length: M }, (_, j) => (j === m ? dir : 0));
    const r = editor.edit(w, attr);
    columns.push(world.synthesize(r.combined, { resolution: 96 }));
    headers.push(`${world.attributes[m]}${dir > 0 ? "+" : "-"}`);
    tf.dispose([r.perAttribute, r.combined]);
  }
}
const toggle = tf.tensor2d(Array.from(labels, (l) => 1 - 2 * l), [FACES, M]);
const all = editor.edit(w, toggle);
columns.push(world.synthesize(all.combined, { resolution: 96 }));
headers.push("all toggled");
const rowLabels = Array.from(
  { length: FACES },
  (_, i) => labelCode(labels.subarray(i * M, (i + 1) * M), world.attributes),
);
await writePng(`${OUT}/edits.png`, editGrid(columns, headers, { rowLabels }));

// Metrics on the same faces: each attribute, both directions.
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
