/**
 * The synthface mapping network, StyleGAN's shape: z [N, 512] -> pixel norm -> 8 fully connected
 * layers of width 512 with leaky ReLU 0.2 -> w [N, 512]. Weights are drawn from a seed (He
 * initialisation with the leaky-ReLU gain) and never trained: what matters is that W is a curved,
 * anisotropic, non-Gaussian image of Z, as a real StyleGAN's is.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../../util/rng.ts";
import { WORLD } from "./spec.ts";

export class MappingNetwork {
  private readonly weights: tf.Tensor2D[] = [];
  private readonly biases: tf.Tensor1D[] = [];

  constructor(
    readonly seed: number,
    readonly dim: number = WORLD.latentDim,
    readonly layers: number = WORLD.mappingLayers,
  ) {
    const gain = Math.sqrt(2 / (1 + 0.2 ** 2)) / Math.sqrt(dim);
    for (let i = 0; i < layers; i++) {
      const rng = new Rng(deriveSeed(seed, `mapping/${i}`));
      this.weights.push(tf.tensor2d(rng.normals(dim * dim, gain), [dim, dim]));
      this.biases.push(tf.tensor1d(rng.normals(dim, 0.1)));
    }
  }

  /** z [N, D] -> w [N, D]. */
  forward(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), 1, true), 1e-8)));
      for (let i = 0; i < this.layers; i++) {
        h = tf.leakyRelu(tf.add(tf.matMul(h, this.weights[i]), this.biases[i]), 0.2);
      }
      return h;
    });
  }

  dispose(): void {
    tf.dispose([...this.weights, ...this.biases]);
  }
}

/** z ~ N(0, I), [n, dim], from a seed (independent of the backend). */
export function sampleZ(n: number, seed: number, dim: number = WORLD.latentDim): tf.Tensor2D {
  return tf.tensor2d(new Rng(seed).normals(n * dim), [n, dim]);
}
