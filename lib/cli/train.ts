/**
 * `deno task train [--model official|paper] [--schedule default|paper|quick] [--ablate A,...]
 *  [--targets flip-all|joint] [--steps N] [--name RUN] [--fresh] [--ship]
 *  [--world synthface|real --real-config F.json --image-chunk K]`: trains ID-Style into
 * checkpoints/runs/<name>/ (config, metrics.jsonl, sample grids, checkpoints), in the synthface
 * world or the real one (the paper's settings: images pooled to 256, batch 2; the dataset from your
 * latents or sampled, labelled by the classifier, cached and resumable). Run it again to resume;
 * Ctrl-C saves a checkpoint and stops.
 */
import { backend } from "../backend.ts";
import { type Ablation, ABLATIONS, type PresetName } from "../model/config.ts";
import { loadDataset } from "../data/dataset.ts";
import type { World } from "../world/types.ts";
import type { Dataset } from "../data/dataset.ts";
import { buildWorldDataset, WORLD_DATASET } from "../data/world_dataset.ts";
import { readLatents } from "../io/latents.ts";
import { loadWorldChoice, WORLD_OPTIONS } from "./world_args.ts";
import { type ScheduleName, SCHEDULES, trainConfig } from "../train/config.ts";
import { defaultRunName, train } from "../train/train.ts";
import { quickDataset } from "../data/quick.ts";
import { shipRun } from "../train/ship.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task train [--model official|paper] [--schedule default|paper|quick] [--ablate A,...] [--targets flip-all|joint] [--steps N] [--name RUN] [--fresh] [--ship] [--world real --real-config F.json]",
  flags: {
    fresh: "start over even if the run has a checkpoint",
    ship:
      "when done, ship it as checkpoints/idstyle-synthface-<model>.safetensors with a model card",
    help: "this text",
  },
  options: {
    model: "model preset: official (default) or paper",
    schedule: `schedule preset: ${Object.keys(SCHEDULES).join(", ")} (default: default)`,
    ablate: `comma-separated ablations: ${ABLATIONS.join(", ")}`,
    targets: "flip-all (default, official) or joint (ISF-GAN)",
    steps: "override the number of steps",
    name: "run name (default: model-schedule[-ablations])",
    ...WORLD_OPTIONS,
    "image-chunk":
      "renders per chunk of the image losses (default: 2 in the real world, off in synthface)",
  },
});
const model = (args.options.model ?? "official") as PresetName;
if (!["official", "paper"].includes(model)) {
  args.fail(`--model: expected official or paper, got "${model}"`);
}
const schedule = (args.options.schedule ?? "default") as ScheduleName;
if (!(schedule in SCHEDULES)) {
  args.fail(`--schedule: expected ${Object.keys(SCHEDULES).join(", ")}, got "${schedule}"`);
}
const ablations = (args.options.ablate?.split(",") ?? []) as Ablation[];
for (const a of ablations) {
  if (!ABLATIONS.includes(a)) {
    args.fail(`--ablate: unknown ablation "${a}"; expected ${ABLATIONS.join(", ")}`);
  }
}
const targets = (args.options.targets ?? "flip-all") as "flip-all" | "joint";
if (!["flip-all", "joint"].includes(targets)) {
  args.fail(`--targets: expected flip-all or joint, got "${targets}"`);
}
const steps = args.options.steps === undefined ? undefined : Number(args.options.steps);
if (steps !== undefined && !(Number.isInteger(steps) && steps > 0)) {
  args.fail(`--steps: expected a positive integer, got "${args.options.steps}"`);
}

const chunk = args.options["image-chunk"] === undefined
  ? undefined
  : Number(args.options["image-chunk"]);
if (chunk !== undefined && !(Number.isInteger(chunk) && chunk > 0)) {
  args.fail(`--image-chunk: expected a positive integer, got "${args.options["image-chunk"]}"`);
}
const choice = await loadWorldChoice(args.options, args.fail).catch((err) =>
  args.fail((err as Error).message)
);
const real = choice.kind === "real";
if (real && args.flags.ship) {
  args.fail(
    "--ship ships a synthface editor; a real run's editor is checkpoints/runs/<name>/editor.safetensors",
  );
}
const cfg = trainConfig(model, schedule, {
  ablations,
  targets,
  ...(steps ? { steps } : {}),
  // The paper's setting in the real world: the 1024 render pooled to 256 for both image losses.
  ...(real ? { resolution: 256, imageChunk: chunk ?? 2 } : chunk ? { imageChunk: chunk } : {}),
});
const world: World = choice.world;
let dataset: Dataset;
if (choice.kind === "real") {
  const size = cfg.dataset === "quick"
    ? { ...WORLD_DATASET, numTrain: 64, numTest: 16 }
    : WORLD_DATASET;
  const latents = choice.world.config.latents
    ? await readLatents(choice.world.config.latents, "latents", {
      numLatents: choice.world.numLayers,
      latentDim: choice.world.latentDim,
    })
    : undefined;
  dataset = await buildWorldDataset(choice.world, size, {
    latents,
    cacheDir: `out/cache/real-dataset-${cfg.dataset}`,
  });
} else {
  dataset = cfg.dataset === "quick" ? await quickDataset(choice.world) : await loadDataset();
}
console.log(
  `backend ${backend.name}; run ${
    args.options.name ?? defaultRunName(cfg)
  }: ${cfg.steps} steps at batch ${cfg.batchSize}`,
);
const result = await train(cfg, {
  world,
  dataset,
  name: args.options.name,
  resume: !args.flags.fresh,
  handleSigint: true,
});
const evals = result.metrics.filter((r) => r.type === "eval");
const last = evals[evals.length - 1];
if (last) {
  console.log(
    `last evaluation (step ${last.step}, ${last.samples} test samples): mACC ${
      (100 * (last.mAcc as number)).toFixed(1)
    }%, FRS ${(last.frs as number).toFixed(3)}, oracle mACC ${
      (100 * (last.oracleMAcc as number)).toFixed(1)
    }%, oracle identity ${(last.oracleIdentity as number).toFixed(3)}`,
  );
}
console.log(
  `${result.interrupted ? "stopped" : "finished"} after ${result.steps} steps in ${
    result.seconds.toFixed(0)
  } s; run directory ${result.run.path}`,
);
result.editor.dispose();
if (args.flags.ship && choice.kind === "synthface") {
  if (result.interrupted || result.steps < cfg.steps) {
    console.error("--ship: the run did not finish; run the command again to resume, then ship");
    Deno.exit(1);
  }
  console.log(
    `shipped ${await shipRun(
      result.run.path,
      model,
      choice.world,
    )} (with .md, .png, .metrics.jsonl)`,
  );
}
Deno.exit(0);
