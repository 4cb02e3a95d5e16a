/**
 * StyleGAN2's mapping network (rosinality's `style`): z [N, D] -> PixelNorm -> n x EqualLinear
 * D -> D (weights times 0.01 / sqrt(D), bias times 0.01, leaky ReLU 0.2 times sqrt 2) -> w [N, D];
 * and truncation towards the file's `latent_avg`.
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../../util/validate.ts";
import { fusedLeakyRelu, pixelNorm } from "./ops.ts";
import type { StyleGAN2Weights } from "./weights.ts";

const LR_MUL = 0.01;

export class MappingNetwork {
  readonly styleDim: number;
  /** The file's `latent_avg` [D], or null. */
  readonly latentAvg: tf.Tensor1D | null;
  private readonly layers: { weight: tf.Tensor2D; bias: tf.Tensor1D }[];

  constructor(w: Pick<StyleGAN2Weights, "mapping" | "styleDim" | "latentAvg">) {
    const D = this.styleDim = w.styleDim;
    const scale = LR_MUL / Math.sqrt(D);
    this.layers = w.mapping.map((l) => {
      const t = new Float32Array(D * D); // [in, out] from the stored [out, in]
      for (let o = 0; o < D; o++) {
        for (let i = 0; i < D; i++) t[i * D + o] = l.weight[o * D + i] * scale;
      }
      return { weight: tf.tensor2d(t, [D, D]), bias: tf.tensor1d(l.bias.map((b) => b * LR_MUL)) };
    });
    this.latentAvg = w.latentAvg ? tf.tensor1d(w.latentAvg) : null;
  }

  /** z [N, D] -> w [N, D]. */
  map(z: tf.Tensor2D): tf.Tensor2D {
    if (z.rank !== 2 || z.shape[1] !== this.styleDim) {
      throw new InputError(`z: expected [N, ${this.styleDim}], got [${z.shape.join(", ")}]`);
    }
    return tf.tidy(() => {
      let x = pixelNorm(z);
      for (const l of this.layers) x = fusedLeakyRelu(tf.matMul(x, l.weight), l.bias);
      return x;
    });
  }

  /** latent_avg + psi (w - latent_avg), for w [N, D] or W+ [N, L, D]. */
  truncate<T extends tf.Tensor2D | tf.Tensor3D>(w: T, psi: number, avg = this.latentAvg): T {
    if (!Number.isFinite(psi)) throw new InputError(`truncation: expected a number, got ${psi}`);
    if (!avg) {
      throw new InputError(
        "truncation: this generator file has no latent_avg; pass the average w explicitly",
      );
    }
    return tf.tidy(() => tf.add(avg, tf.mul(tf.sub(w, avg), psi))) as T;
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.weight, l.bias]);
    this.latentAvg?.dispose();
  }
}
