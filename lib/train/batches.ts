/**
 * Training batches: random samples of the mixed training set with their (classifier) labels,
 * and the edit codes and class targets of the run's target mode. A batch is a pure function of
 * (seed, step), so a resumed run sees exactly the batches an uninterrupted one would.
 */
import * as tf from "@tensorflow/tfjs";
import type { Split } from "../data/dataset.ts";
import type { LossBatch } from "../losses/total.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import type { TargetMode } from "./config.ts";

export interface Batch extends LossBatch {
  /** Sample indices in the training split. */
  rows: number[];
}

/** Edit codes and targets for source labels [B, M] (flat). */
export function targetsFor(
  src: Float32Array,
  M: number,
  mode: TargetMode,
  drawJoint: () => Float32Array,
): { attr: Float32Array; targets: Float32Array } {
  const B = src.length / M;
  const attr = new Float32Array(B * M), targets = new Float32Array(B * M);
  for (let b = 0; b < B; b++) {
    const joint = mode === "joint" ? drawJoint() : null;
    for (let m = 0; m < M; m++) {
      const s = src[b * M + m];
      const t = joint ? joint[m] : 1 - s;
      targets[b * M + m] = t;
      attr[b * M + m] = t - s; // +1 add, -1 remove, 0 keep
    }
  }
  return { attr, targets };
}

export function makeBatch(
  split: Split,
  step: number,
  batchSize: number,
  mode: TargetMode,
  seed: number,
  M: number,
): Batch {
  const rng = new Rng(deriveSeed(seed, `batch/${step}`));
  const n = split.latents.size;
  const rows = Array.from({ length: batchSize }, () => rng.int(0, n - 1));
  const src = new Float32Array(batchSize * M);
  rows.forEach((r, b) => src.set(split.labels.subarray(r * M, (r + 1) * M), b * M));
  const drawJoint = () => {
    const r = rng.int(0, n - 1);
    return split.labels.subarray(r * M, (r + 1) * M);
  };
  const { attr, targets } = targetsFor(src, M, mode, drawJoint);
  return {
    rows,
    wPlus: split.latents.batch(rows),
    attr: tf.tensor2d(attr, [batchSize, M]),
    targets: tf.tensor2d(targets, [batchSize, M]),
  };
}

export function disposeBatch(b: Batch): void {
  tf.dispose([b.wPlus, b.attr, b.targets]);
}
