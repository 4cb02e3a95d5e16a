/**
 * Training runs: a model preset (paper | official, lib/model/config.ts) with optional ablations,
 * and a schedule preset:
 *
 * - `paper`: 100K iterations at batch 2, as published (about 6 h here on the wasm backend);
 * - `default`: what the shipped checkpoints were trained with, under an hour here;
 * - `quick`: under 2 minutes, for tests and notebook smoke runs (on the small quick dataset).
 *
 * The official cosine schedule's warm-up (1,000 of 100K steps) is scaled to the run's length.
 */
import { type Ablation, type IDStyleConfig, makeConfig, type PresetName } from "../model/config.ts";

export type ScheduleName = "paper" | "default" | "quick";

/**
 * How per-sample targets are drawn: `flip-all` toggles every attribute, each in its own output
 * (the official code: attr = -(2 src - 1)); `joint` draws a target label vector from the
 * empirical joint of the training labels, as ISF-GAN does (attr = target - src, 0 where equal).
 */
export type TargetMode = "flip-all" | "joint";

export interface Schedule {
  steps: number;
  batchSize: number;
  /** Warm-up steps of the official cosine schedule. */
  warmupSteps: number;
  /** Steps between metrics lines, evaluations (metrics and a sample grid) and checkpoints. */
  logEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Test samples scored at each evaluation. */
  evalSamples: number;
  /** The full dataset or the small quick one. */
  dataset: "full" | "quick";
}

export const SCHEDULES: Readonly<Record<ScheduleName, Schedule>> = {
  paper: {
    steps: 100_000,
    batchSize: 2,
    warmupSteps: 1000,
    logEvery: 100,
    evalEvery: 5000,
    checkpointEvery: 2000,
    evalSamples: 128,
    dataset: "full",
  },
  default: {
    steps: 12_000,
    batchSize: 2,
    warmupSteps: 120,
    logEvery: 50,
    evalEvery: 2000,
    checkpointEvery: 1000,
    evalSamples: 64,
    dataset: "full",
  },
  quick: {
    steps: 120,
    batchSize: 2,
    warmupSteps: 10,
    logEvery: 10,
    evalEvery: 60,
    checkpointEvery: 60,
    evalSamples: 8,
    dataset: "quick",
  },
};

export interface TrainConfig extends Schedule {
  /** The schedule preset these values came from. */
  schedule: ScheduleName;
  /** Model, loss and optimizer preset. */
  model: PresetName;
  ablations: Ablation[];
  targets: TargetMode;
  /** Training image resolution. */
  resolution: number;
  /**
   * Renders per chunk of the image losses (lib/train/chunked_step.ts): for generators whose tape
   * does not fit in memory at once (the real StyleGAN2). Unset: one graph per step.
   */
  imageChunk?: number;
  /** Seed of the batches (the editor's initialisation has its own, in the model config). */
  seed: number;
}

export function trainConfig(
  model: PresetName,
  schedule: ScheduleName,
  overrides: Partial<TrainConfig> = {},
): TrainConfig {
  if (!(schedule in SCHEDULES)) {
    throw new RangeError(
      `schedule: expected one of ${Object.keys(SCHEDULES).join(", ")}, got "${schedule}"`,
    );
  }
  const cfg: TrainConfig = {
    ...SCHEDULES[schedule],
    schedule,
    model,
    ablations: [],
    targets: "flip-all",
    resolution: 64,
    seed: 7,
    ...overrides,
  };
  for (
    const k of [
      "steps",
      "batchSize",
      "logEvery",
      "evalEvery",
      "checkpointEvery",
      "evalSamples",
      "resolution",
    ] as const
  ) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) {
      throw new RangeError(`train.${k}: expected a positive integer, got ${cfg[k]}`);
    }
  }
  if (cfg.imageChunk !== undefined && !(Number.isInteger(cfg.imageChunk) && cfg.imageChunk > 0)) {
    throw new RangeError(`train.imageChunk: expected a positive integer, got ${cfg.imageChunk}`);
  }
  if (!["flip-all", "joint"].includes(cfg.targets)) {
    throw new RangeError(`train.targets: expected flip-all | joint, got ${cfg.targets}`);
  }
  return cfg;
}

/** The model, loss and optimizer configuration of a run (with its warm-up). */
export function runModelConfig(cfg: TrainConfig): IDStyleConfig {
  const base = makeConfig(cfg.model, {}, cfg.ablations);
  if (base.optim.schedule.kind === "cosine-warmup") {
    base.optim.schedule = {
      ...base.optim.schedule,
      warmupSteps: Math.min(cfg.warmupSteps, cfg.steps - 1),
    };
  }
  return base;
}
