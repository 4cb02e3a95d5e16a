/**
 * SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) as their reference implementation computes it:
 * an 11x11 Gaussian window with sigma 1.5, 'valid' filtering, K1 = 0.01, K2 = 0.03, dynamic range
 * L = 1 on images mapped from [-1, 1] to [0, 1]; per channel, then averaged over the SSIM map and
 * the channels. Batched with depthwise convolutions. Cross-checked against npm:ssim.js in tests.
 */
import * as tf from "@tensorflow/tfjs";
import { assertShape } from "../util/validate.ts";

export interface SsimOptions {
  windowSize?: number;
  sigma?: number;
  k1?: number;
  k2?: number;
}

function gaussianWindow(size: number, sigma: number, channels: number): tf.Tensor4D {
  const half = (size - 1) / 2;
  const g = new Float32Array(size * size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = Math.exp(-((i - half) ** 2 + (j - half) ** 2) / (2 * sigma * sigma));
      g[i * size + j] = v;
      sum += v;
    }
  }
  const w = new Float32Array(size * size * channels);
  for (let k = 0; k < size * size; k++) {
    for (let c = 0; c < channels; c++) w[k * channels + c] = g[k] / sum;
  }
  return tf.tensor4d(w, [size, size, channels, 1]);
}

/** SSIM of each pair of images a[i], b[i] ([N, H, W, C] in [-1, 1]) -> [N]. */
export function ssim(a: tf.Tensor4D, b: tf.Tensor4D, opts: SsimOptions = {}): tf.Tensor1D {
  const dims: Record<string, number> = {};
  assertShape("a", a, ["N", "H", "W", "C"], dims);
  assertShape("b", b, ["N", "H", "W", "C"], dims);
  const { windowSize = 11, sigma = 1.5, k1 = 0.01, k2 = 0.03 } = opts;
  if (a.shape[1] < windowSize || a.shape[2] < windowSize) {
    throw new RangeError(
      `ssim: images of ${a.shape[1]}x${
        a.shape[2]
      } are smaller than the ${windowSize}x${windowSize} window`,
    );
  }
  const c1 = k1 ** 2, c2 = k2 ** 2;
  return tf.tidy(() => {
    const w = gaussianWindow(windowSize, sigma, a.shape[3]);
    const x = tf.div(tf.add(a, 1), 2), y = tf.div(tf.add(b, 1), 2);
    const blur = (t: tf.Tensor) => tf.depthwiseConv2d(t as tf.Tensor4D, w, 1, "valid");
    const mx = blur(x), my = blur(y);
    const mxy = tf.mul(mx, my), mx2 = tf.square(mx), my2 = tf.square(my);
    const sx = tf.sub(blur(tf.square(x)), mx2);
    const sy = tf.sub(blur(tf.square(y)), my2);
    const sxy = tf.sub(blur(tf.mul(x, y)), mxy);
    const num = tf.mul(tf.add(tf.mul(mxy, 2), c1), tf.add(tf.mul(sxy, 2), c2));
    const den = tf.mul(tf.add(tf.add(mx2, my2), c1), tf.add(tf.add(sx, sy), c2));
    return tf.mean(tf.div(num, den), [1, 2, 3]) as tf.Tensor1D;
  });
}
