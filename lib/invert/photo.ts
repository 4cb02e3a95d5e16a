/**
 * "Photographs" in the synthface world (paper Figure 7 edits real photos): images the generator
 * cannot produce exactly, with their true factors known.
 *
 * A photograph starts from a test latent's factor values and moves every factor on its own (a
 * normal step of `jitter` in logit space), which breaks the correlations the generator's readout
 * ties them with (the mapping and W+ never produced this factor vector); it is rendered from the
 * factors directly, blurred by a 3x3 binomial kernel (a soft lens) and given camera noise (normal,
 * `noise` in [-1, 1] units, clipped). Its true attribute labels are its factors > 0.5 and its true
 * identity is its identity factors, so the oracle scores an inversion against the photograph
 * itself rather than against the latent it started from.
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import { ATTRIBUTES, FACTOR_NAMES, IDENTITY_FACTORS } from "../world/synthface/spec.ts";
import { Rng } from "../util/rng.ts";

export interface PhotoOptions {
  /** Standard deviation of each factor's step in logit space (default 0.35; 0: on the manifold). */
  jitter?: number;
  /** Camera noise in image units of [-1, 1] (default 0.03). */
  noise?: number;
  /** Apply the 3x3 blur (default true). */
  blur?: boolean;
  resolution?: number;
  seed?: number;
}

export interface Photographs {
  /** Images [N, H, W, 3] in [-1, 1]. */
  images: tf.Tensor4D;
  /** True factor values [N, F] (order of FACTOR_NAMES). */
  factors: tf.Tensor2D;
  /** True attribute labels [N, M] (world order) and identity factors [N, K]. */
  labels: tf.Tensor2D;
  identity: tf.Tensor2D;
}

/** Photographs of the faces of W+ latents [N, L, D]. */
export function photographs(
  world: SynthFace,
  wPlus: tf.Tensor3D,
  opts: PhotoOptions = {},
): Photographs {
  const { jitter = 0.35, noise = 0.03, blur = true, seed = 7 } = opts;
  const res = opts.resolution ?? world.resolution;
  const rng = new Rng(seed);
  const N = wPlus.shape[0], F = FACTOR_NAMES.length;
  return tf.tidy(() => {
    const v = world.factors(wPlus);
    const eps = 1e-4;
    const logit = tf.log(
      tf.div(tf.clipByValue(v, eps, 1 - eps), tf.sub(1, tf.clipByValue(v, eps, 1 - eps))),
    );
    const step = tf.tensor2d(rng.normals(N * F), [N, F]);
    const factors = tf.sigmoid(tf.add(logit, tf.mul(step, jitter))) as tf.Tensor2D;
    let img: tf.Tensor4D = world.renderFactors(factors, res);
    if (blur) img = blur3(img);
    if (noise > 0) {
      const n = tf.tensor4d(rng.normals(img.size), img.shape as [number, number, number, number]);
      img = tf.clipByValue(tf.add(img, tf.mul(n, noise)), -1, 1) as tf.Tensor4D;
    }
    const col = (names: readonly string[]) =>
      tf.gather(
        factors,
        tf.tensor1d(names.map((a) => FACTOR_NAMES.indexOf(a)), "int32"),
        1,
      ) as tf.Tensor2D;
    const attrs = world.attributes.map((a) => {
      if (!ATTRIBUTES.includes(a)) throw new Error(`photographs: unknown attribute ${a}`);
      return a;
    });
    return {
      images: img,
      factors,
      labels: tf.cast(tf.greater(col(attrs), 0.5), "float32") as tf.Tensor2D,
      identity: col(IDENTITY_FACTORS),
    };
  });
}

/** A 3x3 binomial blur per channel (edges replicated). */
export function blur3(img: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const k1 = [0.25, 0.5, 0.25];
    const k = tf.tensor4d(k1.flatMap((a) => k1.map((b) => a * b)), [3, 3, 1, 1]);
    const C = img.shape[3];
    const padded = tf.mirrorPad(img, [[0, 0], [1, 1], [1, 1], [0, 0]], "symmetric");
    const kernel = tf.tile(k, [1, 1, C, 1]) as tf.Tensor4D; // [3, 3, C, 1]
    return tf.depthwiseConv2d(padded, kernel, 1, "valid") as tf.Tensor4D;
  });
}
