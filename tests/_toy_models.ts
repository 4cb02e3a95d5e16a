/**
 * A tiny smooth stand-in for a world (generator, classifier, identity network) for tests of the
 * losses and training mechanics: fixed random linear maps and tanh, differentiable everywhere.
 */
import { tf } from "../lib/backend.ts";
import type { ImageModels } from "../lib/losses/total.ts";
import { Rng } from "../lib/util/rng.ts";

export function toyModels(
  L: number,
  D: number,
  M: number,
  seed = 99,
  side = 4,
  E = 8,
): ImageModels {
  const rng = new Rng(seed);
  const P = side * side * 3;
  const rowMix = tf.tensor(rng.normals(L, 1 / Math.sqrt(L)), [1, L, 1]);
  const A = tf.tensor(rng.normals(D * P, 1 / Math.sqrt(D)), [D, P]);
  const C = tf.tensor(rng.normals(P * M, 1 / Math.sqrt(P)), [P, M]);
  const Emb = tf.tensor(rng.normals(P * E, 1 / Math.sqrt(P)), [P, E]);
  return {
    generator: (w) =>
      tf.tidy(() => {
        const h = tf.sum(tf.mul(w, rowMix), 1); // [N, D]
        return tf.reshape(tf.tanh(tf.matMul(h, A)), [w.shape[0], side, side, 3]) as tf.Tensor4D;
      }),
    classifier: (img) =>
      tf.tidy(() => tf.matMul(tf.reshape(img, [img.shape[0], P]), C) as tf.Tensor2D),
    identity: (img) =>
      tf.tidy(() => tf.matMul(tf.reshape(img, [img.shape[0], P]), Emb) as tf.Tensor2D),
  };
}
