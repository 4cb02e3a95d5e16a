/**
 * Image-space losses of ID-Style (paper eq. 9-10), on the outputs of networks passed in as
 * functions (the world's attribute classifier D and identity network psi).
 *
 *   class  multi-target binary cross-entropy of D's logit for attribute m on the image edited
 *          for m, against that edit's target label; pairs with attr_m = 0 are left out
 *   id     1 - cos(psi(G(w)), psi(G(w^_m))) for the edited outputs that are scored
 */
import * as tf from "@tensorflow/tfjs";
import type { LossConfig } from "../model/config.ts";
import { cosineSimilarity, reduceAttributes } from "./latent.ts";

/** Numerically stable BCE on logits: max(x, 0) - x t + log(1 + exp(-|x|)), element-wise. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, targets)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    )
  );
}

/**
 * logits [B, M, M] (row m: the classifier's logits on the image edited for attribute m),
 * targets [B, M] in {0, 1}, mask [B, M] (1 where the edit was requested).
 */
export function classLoss(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
  how: LossConfig["attributeReduction"],
): tf.Scalar {
  const M = targets.shape[1];
  return tf.tidy(() => {
    const own = tf.sum(tf.mul(logits, tf.reshape(tf.eye(M), [1, M, M])), 2); // [B, M]: logit m of image m
    const bce = tf.mul(bceWithLogits(own, targets), mask);
    const perAttr = tf.div(tf.sum(bce, 0), tf.maximum(tf.sum(mask, 0), 1)) as tf.Tensor1D; // [M]
    return reduceAttributes(perAttr, how);
  });
}

/**
 * source [B, E] embeddings of G(w), edited [B, K, E] embeddings of the K scored edits ->
 * attribute-reduced batch mean of 1 - cos.
 */
export function identityLoss(
  source: tf.Tensor2D,
  edited: tf.Tensor3D,
  how: LossConfig["attributeReduction"],
): tf.Scalar {
  const [B, , E] = edited.shape;
  return tf.tidy(() => {
    const cos = cosineSimilarity(tf.reshape(source, [B, 1, E]), edited); // [B, K]
    return reduceAttributes(tf.mean(tf.sub(1, cos), 0) as tf.Tensor1D, how);
  });
}
