/**
 * The paper's ablation study (section 4.6, Table 3): ID-Style with one part removed at a time,
 * each trained with the same schedule and seed, then scored by the evaluation protocol (FRS, a
 * perceptual distance, mACC; here also the oracle's identity and accuracy).
 *
 *   A  ID-Style (nothing removed)        D  w/o the MLP-Mixer-like column FC of the IAIP
 *   B  w/o the direction loss             E  w/o the input (positional) embedding
 *   C  w/o the sparsity loss              F  w/o the output (layer) embedding of the EDA
 *
 * Runs live in checkpoints/runs/table3-<model>-<schedule>-<id>/ and resume like any training run.
 */
import * as tf from "@tensorflow/tfjs";
import type { Ablation, PresetName } from "../model/config.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import type { Dataset } from "../data/dataset.ts";
import type { World } from "../world/types.ts";
import { type ScheduleName, trainConfig } from "../train/config.ts";
import { train } from "../train/train.ts";
import { type EvalSummary, evaluate, idStyleAttributeEditor } from "./evaluate.ts";

export interface Table3Config {
  id: "A" | "B" | "C" | "D" | "E" | "F";
  label: string;
  ablations: Ablation[];
}

/** The rows of the paper's Table 3, in its order. */
export const TABLE3: readonly Table3Config[] = [
  { id: "A", label: "ID-Style", ablations: [] },
  { id: "B", label: "w/o L_direction", ablations: ["no-direction-loss"] },
  { id: "C", label: "w/o L_sparsity", ablations: ["no-sparsity-loss"] },
  { id: "D", label: "w/o MLP-Mixer (column FC)", ablations: ["no-mixer"] },
  { id: "E", label: "w/o input embedding", ablations: ["no-input-encoding"] },
  { id: "F", label: "w/o output (layer) embedding", ablations: ["no-layer-embedding"] },
];

/** The paper's Table 3 (FRS, LPIPS, mACC %), for display beside the measured one. */
export const PAPER_TABLE3: Readonly<Record<Table3Config["id"], [number, number, number]>> = {
  A: [0.761, 0.105, 96.67],
  B: [0.756, 0.102, 95.82],
  C: [0.778, 0.104, 95.98],
  D: [0.774, 0.104, 96.36],
  E: [0.747, 0.108, 96.0],
  F: [0.801, 0.121, 88.51],
};

export function table3RunName(model: PresetName, schedule: ScheduleName, id: string): string {
  return `table3-${model}-${schedule}-${id}`;
}

export interface Table3TrainOptions {
  model?: PresetName;
  schedule?: ScheduleName;
  /** Override the schedule's number of steps (the run name then carries it). */
  steps?: number;
  /** Only these rows (default all six). */
  ids?: Table3Config["id"][];
  runsDir?: string;
  silent?: boolean;
}

/** Trains (or resumes, or just loads when finished) every Table 3 configuration. */
export async function trainTable3(
  world: World,
  dataset: Dataset,
  opts: Table3TrainOptions = {},
): Promise<
  {
    config: Table3Config;
    editor: IDStyleEditor; /** Training seconds of the run. */
    seconds: number;
  }[]
> {
  const model = opts.model ?? "official", schedule = opts.schedule ?? "default";
  const rows = TABLE3.filter((r) => !opts.ids || opts.ids.includes(r.id));
  const out = [];
  for (const config of rows) {
    const cfg = trainConfig(model, schedule, {
      ablations: config.ablations,
      ...(opts.steps ? { steps: opts.steps } : {}),
    });
    const name = table3RunName(model, schedule, config.id) + (opts.steps ? `-${opts.steps}` : "");
    const result = await train(cfg, {
      world,
      dataset,
      name,
      runsDir: opts.runsDir,
      silent: opts.silent,
    });
    out.push({ config, editor: result.editor, seconds: result.totalSeconds });
  }
  return out;
}

export interface Table3Row {
  config: Table3Config;
  summary: EvalSummary;
}

/** Scores each trained configuration on the first `limit` W+ test latents (each attribute both ways). */
export function table3(
  world: World,
  dataset: Dataset,
  trained: { config: Table3Config; editor: IDStyleEditor }[],
  opts: { limit?: number; silent?: boolean } = {},
): Table3Row[] {
  const n = Math.min(opts.limit ?? dataset.test.latents.size, dataset.test.latents.size);
  const batch = (rows: number[]): tf.Tensor3D => dataset.test.latents.batch(rows);
  return trained.map(({ config, editor }) => ({
    config,
    summary:
      evaluate(idStyleAttributeEditor(editor, `${config.id}: ${config.label}`), world, n, batch, {
        silent: opts.silent,
        label: `Table 3 ${config.id}`,
      }).summary,
  }));
}
