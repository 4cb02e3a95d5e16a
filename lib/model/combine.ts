/**
 * Turning per-attribute edits into latents.
 *
 * - Multi-attribute editing (paper eq. 12): element-wise absmax over the attributes' edits,
 *   the value whose magnitude is largest, sign kept. An attribute with attr_m = 0 contributes a
 *   zero edit and so never wins against a non-zero one.
 * - Top-k restriction (paper section 4.5, Figure 9): keep the k largest |values| of each row of
 *   an edit, scaled by an intensity factor. Entries tied with the k-th largest are kept too.
 */
import * as tf from "@tensorflow/tfjs";
import { assertIntInRange, assertPositive } from "../util/validate.ts";

export interface EditOptions {
  /** Keep only the k largest |values| of each row of every edit (paper Figure 9); 1..D. */
  topK?: number;
  /** Scales every edit (after the top-k restriction when given). Default 1. */
  intensity?: number;
}

/** Checks edit options against the latent width D; errors name the option. */
export function checkEditOptions(opts: EditOptions, D: number): void {
  if (opts.topK !== undefined) assertIntInRange("topK", opts.topK, 1, D);
  if (opts.intensity !== undefined) assertPositive("intensity", opts.intensity);
}

/** Edits [..., D] restricted to their top-k entries per row and/or scaled; unchanged without options. */
export function applyEditOptions<T extends tf.Tensor>(edit: T, opts: EditOptions): T {
  if (opts.topK !== undefined) return topKRows(edit, opts.topK, opts.intensity ?? 1);
  if (opts.intensity !== undefined) return tf.mul(edit, opts.intensity) as T;
  return edit;
}

/** deltas [B, M, L, D] -> absmax over M, [B, L, D]. */
export function absmax(deltas: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => {
    const hi = tf.max(deltas, 1);
    const lo = tf.min(deltas, 1);
    return tf.where(tf.greaterEqual(hi, tf.neg(lo)), hi, lo) as tf.Tensor3D;
  });
}

/** Keeps the k largest |values| along the last axis, times `intensity`; same shape as `edit`. */
export function topKRows<T extends tf.Tensor>(edit: T, k: number, intensity = 1): T {
  return tf.tidy(() => {
    const mag = tf.abs(edit);
    const vals = tf.topk(mag, k).values; // [..., k]
    const kth = tf.slice(vals, [...Array(edit.rank - 1).fill(0), k - 1], [
      ...vals.shape.slice(0, -1),
      1,
    ]);
    const keep = tf.cast(tf.greaterEqual(mag, kth), "float32");
    return tf.mul(tf.mul(edit, keep), intensity) as T;
  });
}
