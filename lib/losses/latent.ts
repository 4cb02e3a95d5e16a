/**
 * Latent-space losses of ID-Style (paper section 3.4). Each returns an unweighted scalar.
 *
 *   sparsity   (eq. 6)  sum_m ||P_m||_1 on the raw directions
 *   direction  (eq. 7)  sum_{m,i} 1 - cos(l_ft^i * P_m, P_m)            (paper)
 *                       1 - mean_{b,m,i} |cos(l_ft^i * P_m, P_m)|       (official)
 *   nb         (eq. 8)  sum_m ||w^_m - w||_F                            (per sample)
 *
 * Per-attribute sums become means under `attributeReduction: "mean"` (official); batch
 * reductions are always means.
 *
 * Both the direction and the neighbourhood terms are computed from l_ft [B, L, D] and the
 * directions [M, D] through matMuls with P^2, never building the [B, M, L, D] products:
 *   cos(l * P, P) = (l . P^2) / (sqrt(l^2 . P^2) ||P||)
 *   ||Delta_m||_F^2 = sum_i c_mi^2 ((1 + l_i)^2 . P^_m^2),   c_mi = attr_m g_mi
 * (tests/losses_test.ts checks them against the direct element-wise formulas).
 */
import * as tf from "@tensorflow/tfjs";
import type { LossConfig } from "../model/config.ts";

/** Euclidean norm along the last axis (sqrt of a sum of squares: tf.norm's pow is slow on wasm). */
export function rowNorm(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(x), -1)));
}

/** Cosine similarity along the last axis, each norm clamped at `eps` (as torch's). */
export function cosineSimilarity(a: tf.Tensor, b: tf.Tensor, eps = 1e-8): tf.Tensor {
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(a, b), -1);
    return tf.div(dot, tf.mul(tf.maximum(rowNorm(a), eps), tf.maximum(rowNorm(b), eps)));
  });
}

/** Reduces a per-attribute vector [M] by sum or mean. */
export function reduceAttributes(
  perAttr: tf.Tensor1D,
  how: LossConfig["attributeReduction"],
): tf.Scalar {
  return (how === "sum" ? tf.sum(perAttr) : tf.mean(perAttr)) as tf.Scalar;
}

/** rawDirections P [M, D] -> sum or mean over m of ||P_m||_1. */
export function sparsityLoss(
  rawDirections: tf.Tensor2D,
  how: LossConfig["attributeReduction"],
): tf.Scalar {
  return tf.tidy(() => reduceAttributes(tf.sum(tf.abs(rawDirections), 1) as tf.Tensor1D, how));
}

/** x [B, L, D] times (P^2)^T [D, M] -> [B, L, M]. */
function dotSquaredDirections(x: tf.Tensor3D, p2T: tf.Tensor2D): tf.Tensor3D {
  const [B, L, D] = x.shape;
  return tf.reshape(tf.matMul(tf.reshape(x, [B * L, D]), p2T), [B, L, p2T.shape[1]]) as tf.Tensor3D;
}

/** cos(l_ft^i * P_m, P_m) for every (b, i, m), [B, L, M]; norms clamped at eps as torch's. */
export function directionCosines(
  lft: tf.Tensor3D,
  directions: tf.Tensor2D,
  eps = 1e-8,
): tf.Tensor3D {
  return tf.tidy(() => {
    const p2T = tf.transpose(tf.square(directions)) as tf.Tensor2D; // [D, M]
    const num = dotSquaredDirections(lft, p2T);
    const tunedNorm = tf.sqrt(dotSquaredDirections(tf.square(lft) as tf.Tensor3D, p2T));
    const pNorm = tf.sqrt(tf.sum(p2T, 0)); // [M]
    return tf.div(num, tf.mul(tf.maximum(tunedNorm, eps), tf.maximum(pNorm, eps))) as tf.Tensor3D;
  });
}

/** lft [B, L, D], directions [M, D] (raw or normalised: cos is scale-free). */
export function directionLoss(
  lft: tf.Tensor3D,
  directions: tf.Tensor2D,
  variant: LossConfig["direction"],
): tf.Scalar {
  return tf.tidy(() => {
    const cos = directionCosines(lft, directions); // [B, L, M]
    if (variant === "paper") return tf.mean(tf.sum(tf.sub(1, cos), [1, 2])) as tf.Scalar;
    return tf.sub(1, tf.mean(tf.abs(cos))) as tf.Scalar;
  });
}

/**
 * ||w^_m - w||_F for every (b, m), [B, M], from lft [B, L, D], the L1-normalised directions
 * [M, D] and the per-row edit coefficients coef = attr * gates [B, M, L].
 */
export function editNorms(
  lft: tf.Tensor3D,
  directions: tf.Tensor2D,
  coef: tf.Tensor3D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const p2T = tf.transpose(tf.square(directions)) as tf.Tensor2D; // [D, M]
    const rowSq = tf.transpose(
      dotSquaredDirections(tf.square(tf.add(lft, 1)) as tf.Tensor3D, p2T),
      [0, 2, 1],
    ); // [B, M, L]
    const sq = tf.sum(tf.mul(rowSq, tf.square(coef)), 2); // [B, M]
    return tf.sqrt(tf.maximum(sq, 1e-20)) as tf.Tensor2D; // zero (sub)gradient at a zero edit
  });
}

/** Attribute-reduced batch mean of ||w^_m - w||_F (eq. 8); arguments as `editNorms`. */
export function neighbourhoodLoss(
  lft: tf.Tensor3D,
  directions: tf.Tensor2D,
  coef: tf.Tensor3D,
  how: LossConfig["attributeReduction"],
): tf.Scalar {
  return tf.tidy(() =>
    reduceAttributes(tf.mean(editNorms(lft, directions, coef), 0) as tf.Tensor1D, how)
  );
}
