/**
 * Sinusoidal layer encoding (Vaswani et al. 2017), concatenated to every row of w+ so that the
 * row-shared IAIP knows which StyleGAN layer a row feeds (paper section 3.3):
 *   pe[i, 2k] = sin(i / 10000^(2k/D)),  pe[i, 2k+1] = cos(i / 10000^(2k/D)).
 */
import * as tf from "@tensorflow/tfjs";

/** Values of the encoding, row-major [numLayers, dim]. */
export function sinusoidalValues(numLayers: number, dim: number): Float32Array {
  const out = new Float32Array(numLayers * dim);
  for (let i = 0; i < numLayers; i++) {
    for (let k = 0; k < dim; k += 2) {
      const angle = i * Math.exp(-(k * Math.log(10000)) / dim);
      out[i * dim + k] = Math.sin(angle);
      if (k + 1 < dim) out[i * dim + k + 1] = Math.cos(angle);
    }
  }
  return out;
}

/** The encoding as a tensor [1, numLayers, dim]. */
export function sinusoidalEncoding(numLayers: number, dim: number): tf.Tensor3D {
  return tf.tensor3d(sinusoidalValues(numLayers, dim), [1, numLayers, dim]);
}
