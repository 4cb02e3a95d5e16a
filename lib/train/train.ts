/**
 * Training ID-Style (paper section 3.4): batches of mixed W+ latents with their labels, the
 * targets of the run's mode, renders of w and of every edited w^_m, the five losses with their
 * weights, AdaBelief with the preset's schedule. Everything a run produces goes to its run
 * directory (run_dir.ts); a run resumes from its checkpoint with the same losses as an
 * uninterrupted one; Ctrl-C (when `handleSigint`) saves a checkpoint and returns cleanly.
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset.ts";
import type { World } from "../world/types.ts";
import { IDStyleEditor } from "../model/editor.ts";
import { LOSS_NAMES } from "../model/config.ts";
import { AdaBelief } from "../optim/adabelief.ts";
import { lrAt } from "../optim/schedule.ts";
import type { ImageModels } from "../losses/total.ts";
import { disposeBatch, makeBatch } from "./batches.ts";
import { runModelConfig, type TrainConfig } from "./config.ts";
import { type StepLosses, trainStep } from "./step.ts";
import { trainStepChunked } from "./chunked_step.ts";
import { type MetricRow, RunDir } from "./run_dir.ts";
import { TrainingMonitor } from "./monitor.ts";
import { evaluate, idStyleAttributeEditor } from "../eval/evaluate.ts";
import { editGrid } from "../viz/faces.ts";
import { formatDuration } from "../util/progress.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export interface TrainOptions {
  world: World;
  dataset: Dataset;
  /** Run name (directory under checkpoints/runs/); default from the config. */
  name?: string;
  /** Parent of run directories (default checkpoints/runs/). */
  runsDir?: string;
  /** Continue from the run's checkpoint when its config matches (default true). */
  resume?: boolean;
  /** Save and stop on Ctrl-C (command line; default false). */
  handleSigint?: boolean;
  silent?: boolean;
  /** Stop after this many steps of this call (for tests of resuming); the run stays resumable. */
  stopAfter?: number;
}

export interface TrainResult {
  editor: IDStyleEditor;
  run: RunDir;
  /** Steps done in total (including resumed ones). */
  steps: number;
  interrupted: boolean;
  /** Seconds of this call. */
  seconds: number;
  /** Training seconds of the whole run, earlier (resumed) calls included. */
  totalSeconds: number;
  metrics: MetricRow[];
}

export function defaultRunName(cfg: TrainConfig): string {
  return [cfg.model, cfg.schedule, ...cfg.ablations].join("-");
}

/** The world's networks as the loss functions need them. */
export function imageModels(world: World, resolution: number): ImageModels {
  return {
    generator: (w) => world.synthesize(w, { resolution }),
    classifier: (img) => world.classifier(img),
    identity: (img) => world.identity(img),
  };
}

export async function train(cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const modelCfg = runModelConfig(cfg);
  const M = modelCfg.model.attributes.length;
  if (modelCfg.model.attributes.join() !== opts.world.attributes.join()) {
    throw new Error(
      `attributes: the model's (${modelCfg.model.attributes.join(", ")}) differ from the world's (${
        opts.world.attributes.join(", ")
      })`,
    );
  }
  const run = await RunDir.create(opts.name ?? defaultRunName(cfg), opts.runsDir);
  const fullConfig = { train: cfg, ...modelCfg };
  const editor = new IDStyleEditor(modelCfg.model);
  const optimizer = new AdaBelief(editor.trainableVariables(), modelCfg.optim);
  let start = 0;
  let secondsBefore = 0; // training time of earlier calls of this run
  const previous = await run.readConfig<typeof fullConfig>();
  if (
    (opts.resume ?? true) && previous && JSON.stringify(previous) === JSON.stringify(fullConfig)
  ) {
    const restored = await run.loadCheckpoint(editor, optimizer);
    start = restored?.step ?? 0;
    secondsBefore = restored?.seconds ?? 0;
    await run.truncateMetrics(start);
  } else {
    await run.writeConfig(fullConfig);
    await Deno.writeTextFile(`${run.path}/metrics.jsonl`, "");
    // The evaluators a run trains against can be replaced later: record which ones it used.
    const provenance = await opts.world.provenance?.() ?? {};
    await writeFileAtomic(
      `${run.path}/world.json`,
      JSON.stringify({ world: opts.world.name, ...provenance }, null, 2) + "\n",
    );
  }
  const models = imageModels(opts.world, cfg.resolution);
  const monitor = new TrainingMonitor(
    `train ${run.path.split("/").pop()}`,
    cfg.steps,
    start,
    opts.silent,
  );
  let interrupted = false;
  const onSigint = () => (interrupted = true);
  if (opts.handleSigint) Deno.addSignalListener("SIGINT", onSigint);
  const checkpointConfig = { ...modelCfg, train: cfg } as unknown as Parameters<
    RunDir["saveCheckpoint"]
  >[3];
  const t0 = performance.now();
  const elapsed = () => secondsBefore + (performance.now() - t0) / 1000;
  const sums: Record<string, number> = {};
  let since = 0, sinceTime = performance.now();
  let step = start;
  try {
    for (; step < cfg.steps && !interrupted; step++) {
      if (opts.stopAfter !== undefined && step - start >= opts.stopAfter) break;
      const batch = makeBatch(opts.dataset.train, step, cfg.batchSize, cfg.targets, cfg.seed, M);
      const lr = lrAt(step, modelCfg.optim, cfg.steps);
      let losses: StepLosses;
      try {
        losses = cfg.imageChunk
          ? trainStepChunked(
            editor,
            optimizer,
            batch,
            modelCfg.loss,
            step,
            lr,
            models,
            cfg.imageChunk,
          )
          : trainStep(editor, optimizer, batch, modelCfg.loss, step, lr, models);
      } finally {
        disposeBatch(batch);
      }
      if (!Number.isFinite(losses.total)) {
        throw new Error(
          `step ${step}: the loss is ${losses.total}; stopping (the last checkpoint is intact)`,
        );
      }
      for (const [k, v] of Object.entries(losses)) sums[k] = (sums[k] ?? 0) + (v as number);
      since++;
      const done = step + 1;
      monitor.step(done, `loss ${losses.total.toFixed(3)}`);
      if (done % cfg.logEvery === 0 || done === cfg.steps) {
        const secs = (performance.now() - sinceTime) / 1000;
        const row: MetricRow = { type: "train", step: done, lr, stepsPerSecond: since / secs };
        for (const k of ["total", ...LOSS_NAMES]) if (k in sums) row[k] = sums[k] / since;
        await run.appendMetrics(row);
        monitor.log(row);
        for (const k of Object.keys(sums)) delete sums[k];
        since = 0;
        sinceTime = performance.now();
      }
      if (done % cfg.evalEvery === 0 || done === cfg.steps) {
        await evaluateDuringTraining(editor, opts, cfg, run, done, monitor);
      }
      if (done % cfg.checkpointEvery === 0 || done === cfg.steps) {
        await run.saveCheckpoint(editor, optimizer, done, checkpointConfig, elapsed());
      }
      if (done % 10 === 0) await new Promise((r) => setTimeout(r, 0)); // signals and displays
    }
    if (interrupted || (opts.stopAfter !== undefined && step < cfg.steps)) {
      await run.saveCheckpoint(editor, optimizer, step, checkpointConfig, elapsed());
    }
  } finally {
    if (opts.handleSigint) Deno.removeSignalListener("SIGINT", onSigint);
  }
  const seconds = (performance.now() - t0) / 1000;
  const totalSeconds = elapsed();
  monitor.finish(
    interrupted
      ? `interrupted at step ${step}; resume with the same command`
      : `done in ${formatDuration(seconds)}`,
  );
  if (step >= cfg.steps) {
    await run.saveEditor(editor, checkpointConfig, {
      "train.steps": String(step),
      "train.seconds": totalSeconds.toFixed(0), // resumes included
    });
  }
  optimizer.dispose();
  return {
    editor,
    run,
    steps: step,
    interrupted,
    seconds,
    totalSeconds,
    metrics: await run.readMetrics(),
  };
}

/** Metrics on the first test samples, and a grid of edits of four fixed test faces. */
async function evaluateDuringTraining(
  editor: IDStyleEditor,
  opts: TrainOptions,
  cfg: TrainConfig,
  run: RunDir,
  step: number,
  monitor: TrainingMonitor,
): Promise<void> {
  const { world, dataset } = opts;
  const n = Math.min(cfg.evalSamples, dataset.test.latents.size);
  const { summary } = evaluate(
    idStyleAttributeEditor(editor),
    world,
    n,
    (rows) => dataset.test.latents.batch(rows),
    { silent: true, batch: Math.min(25, n) },
  );
  const row: MetricRow = {
    type: "eval",
    step,
    samples: n,
    mAcc: summary.mAcc,
    frs: summary.frs,
    ssim: summary.ssim,
    oracleMAcc: summary.oracleMAcc,
    oracleIdentity: summary.oracleIdentity,
  };
  for (const [a, v] of Object.entries(summary.accuracy)) row[`acc_${a}`] = v;
  await run.appendMetrics(row);
  monitor.log(row);
  const faces = [0, 1, 2, 3].filter((i) => i < dataset.test.latents.size);
  const cols = tf.tidy(() => {
    const w = dataset.test.latents.batch(faces);
    const src = dataset.test.labels;
    const M = world.attributes.length;
    const attr = tf.tensor2d(
      faces.flatMap((f) => Array.from({ length: M }, (_, m) => 1 - 2 * src[f * M + m])),
      [faces.length, M],
    );
    const out = editor.forward(w, attr).edited;
    const [B, , L, D] = out.shape;
    return [
      world.synthesize(w),
      ...world.attributes.map((_, m) =>
        world.synthesize(
          tf.reshape(tf.slice(out, [0, m, 0, 0], [B, 1, L, D]), [B, L, D]) as tf.Tensor3D,
        )
      ),
    ];
  });
  await run.writeSamples(
    step,
    editGrid(cols, ["original", ...world.attributes.map((a) => `flip ${a}`)], { scale: 2 }),
  );
  tf.dispose(cols);
}
