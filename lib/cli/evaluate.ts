/**
 * `deno task evaluate [--limit N] [--space W,W+] [--methods A,B] [--fresh] [--skip-timing]`: the
 * paper's Tables 1 and 2 in the synthface world (lib/eval/tables.ts), printed and written to
 * out/tables/ as parquet and CSV. --limit N uses the first N test latents (a smoke run). Results
 * are cached per method and space under the hash of their inputs (out/cache/eval/); --fresh
 * recomputes them. The full run without a cache takes about an hour here.
 *
 * `deno task evaluate --world real [--real-config F.json] --checkpoint C [--limit N]`: the evaluation
 * protocol for one editor (ours or the authors' .ckpt) on the real world's test split (your latents
 * or sampled ones, mixed once), scored by the world's networks; written to out/tables/real.json.
 */
import { backend } from "../backend.ts";
import { loadDataset } from "../data/dataset.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import {
  loadMethods,
  saveFrame,
  table1,
  TABLE1_METHODS,
  table1Frame,
  table2,
  table2Frame,
} from "../eval/tables.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { readLatents } from "../io/latents.ts";
import { buildWorldDataset, WORLD_DATASET } from "../data/world_dataset.ts";
import { evaluate, idStyleAttributeEditor } from "../eval/evaluate.ts";
import { loadRealWithEditor, WORLD_OPTIONS, worldKind } from "./world_args.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task evaluate [--limit N] [--space W,W+] [--methods A,B] [--fresh] [--skip-timing] [--out DIR]",
  flags: {
    "skip-timing": "skip Table 2",
    fresh: "recompute results the cache holds",
    help: "this text",
  },
  options: {
    "budget-ms": "Table 2: milliseconds of timing per measurement (default 1500)",
    "timing-batch": "Table 2: the batched measurement's batch size (default 256)",
    methods: `comma-separated subset of: ${TABLE1_METHODS.join(", ")} (default: all)`,
    limit: "test latents to use (default: all 1,000)",
    space: "W, W+ or both (default)",
    out: "output directory (default out/tables)",
    checkpoint: "with --world real: the editor to evaluate (ours or the authors' .ckpt)",
    ...WORLD_OPTIONS,
  },
});
const limit = args.options.limit === undefined ? undefined : Number(args.options.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit >= 2)) {
  args.fail(`--limit: expected an integer >= 2, got "${args.options.limit}"`);
}
const spaces = (args.options.space?.split(",") ?? ["W", "W+"]) as ("W" | "W+")[];
for (const s of spaces) {
  if (s !== "W" && s !== "W+") args.fail(`--space: expected W or W+, got "${s}"`);
}
const out = (args.options.out ?? "out/tables").replace(/\/$/, "");

const t0 = performance.now();
if (worldKind(args.options, args.fail) === "real") {
  await evaluateReal();
  Deno.exit(0);
}
const world = await loadSynthFace();
const dataset = await loadDataset();
const only = args.options.methods?.split(",").map((m) => m.trim());
const methods = await loadMethods(world, { only }).catch((err) =>
  args.fail(`--methods: ${(err as Error).message.replace(/^only: /, "")}`)
);
const rows = table1(world, dataset, methods, { limit, spaces, fresh: args.flags.fresh });
const t1 = table1Frame(rows, world.attributes);
await saveFrame(t1, `${out}/table1`);
console.log(t1.toString());
if (!args.flags["skip-timing"]) {
  const budgetMs = args.options["budget-ms"] === undefined
    ? undefined
    : Number(args.options["budget-ms"]);
  if (budgetMs !== undefined && !(budgetMs > 0)) {
    args.fail(`--budget-ms: expected a positive number, got "${args.options["budget-ms"]}"`);
  }
  const batch = args.options["timing-batch"] === undefined
    ? undefined
    : Number(args.options["timing-batch"]);
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1)) {
    args.fail(`--timing-batch: expected a positive integer, got "${args.options["timing-batch"]}"`);
  }
  const t2 = table2Frame(await table2(world, methods, { budgetMs, batch }));
  await saveFrame(t2, `${out}/table2`);
  console.log(t2.toString());
}
const seconds = (performance.now() - t0) / 1000;
await writeFileAtomic(
  `${out}/run.json`,
  JSON.stringify(
    {
      limit: limit ?? dataset.test.latents.size,
      spaces,
      seconds,
      backend: backend.name,
      date: new Date().toISOString(),
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `wrote ${out}/table1.{parquet,csv}${args.flags["skip-timing"] ? "" : " and table2"} in ${
    seconds.toFixed(0)
  } s`,
);

/** One editor through the protocol on the real world's test split. */
async function evaluateReal(): Promise<void> {
  const loaded = await loadRealWithEditor(args.options, args.fail);
  const { world, editor } = loaded;
  const n = limit ?? WORLD_DATASET.numTest;
  const latents = world.config.latents
    ? await readLatents(world.config.latents, "latents", {
      numLatents: world.numLayers,
      latentDim: world.latentDim,
    })
    : undefined;
  const dataset = await buildWorldDataset(
    world,
    { ...WORLD_DATASET, numTest: n, numTrain: latents ? WORLD_DATASET.numTrain : 2 },
    { latents, testOnly: true, cacheDir: `out/cache/real-eval-${n}` },
  );
  const { summary } = evaluate(
    idStyleAttributeEditor(editor),
    world,
    n,
    (rows) => dataset.test.latents.batch(rows),
    { batch: 4 },
  );
  const scoring = world.scoredByTrainingClassifier
    ? "accuracy by the training classifier (no evalClassifier in the config: the paper's setting)"
    : "accuracy by the evaluation classifier";
  const result = { checkpoint: args.options.checkpoint, testLatents: n, scoring, ...summary };
  await writeFileAtomic(`${out}/real.json`, JSON.stringify(result, null, 2) + "\n");
  console.log(`ID-Style (${args.options.checkpoint}) on ${n} real test latents; ${scoring}:`);
  console.log(
    `  mACC ${(100 * summary.mAcc).toFixed(1)}% (${
      world.attributes.map((a) => `${a} ${(100 * summary.accuracy[a]).toFixed(1)}%`).join(", ")
    }), FRS ${summary.frs.toFixed(3)}, SSIM ${summary.ssim.toFixed(3)}`,
  );
  console.log(`wrote ${out}/real.json in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
