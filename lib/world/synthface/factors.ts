/**
 * W+ -> factor values, differentiable (spec.ts gives the formula). All factors at once:
 *
 *   proj  = (W+ - w_avg) B          [N, L, C]   B = A^T [V ; Khid]^T, C = F (1 + J) columns
 *   mixed = sum_r rho_r * proj_r    [N, C]      each column weighted by its factor's rows
 *   s     = lin + sum_j a tanh(hid + c),  value = sigmoid(kappa (s - t) / sd)
 *
 * where A maps w to unit-variance principal coordinates. One [N L, D] x [D, C] matMul.
 */
import * as tf from "@tensorflow/tfjs";
import type { FactorDesign } from "./design.ts";
import { FACTORS, WORLD } from "./spec.ts";

/** What calibration fixes: the frame of W and each factor's threshold and scale. */
export interface Calibration {
  seed: number;
  /** Mean of w, [D]. */
  wAvg: Float32Array;
  /** Principal axes divided by the square root of their variance, [K, D]. */
  axes: Float32Array;
  /** Variances of the principal coordinates, [K]. */
  eigenvalues: Float32Array;
  /** Score thresholds t_f, [F] (the base rates). */
  threshold: Float32Array;
  /** Score standard deviations sd_f, [F]. */
  scale: Float32Array;
  /** Mean and standard deviation of each identity factor's value, [I] (oracle similarity). */
  identityMean: Float32Array;
  identityStd: Float32Array;
}

export interface FactorOutput {
  /** Raw scores s, [N, F]. */
  scores: tf.Tensor2D;
  /** Values in (0, 1), [N, F]. */
  values: tf.Tensor2D;
}

export class FactorReadout {
  readonly F = FACTORS.length;
  private readonly B: tf.Tensor2D; // [D, C]
  private readonly offset: tf.Tensor1D; // w_avg B, [C]
  private readonly rows: tf.Tensor3D; // [1, L, C]
  private readonly hidBias: tf.Tensor3D; // [1, F, J]
  private readonly hidOut: tf.Tensor3D; // [1, F, J]
  private readonly steep: tf.Tensor2D; // kappa / sd, [1, F]
  private readonly thresh: tf.Tensor2D; // [1, F]

  constructor(
    design: FactorDesign,
    cal: Pick<Calibration, "wAvg" | "axes" | "threshold" | "scale">,
  ) {
    const F = this.F,
      K = WORLD.principalDims,
      J = WORLD.hiddenUnits,
      D = WORLD.latentDim,
      L = WORLD.numLayers;
    const C = F * (1 + J);
    // Directions in principal coordinates, one per column: [C, K].
    const dirs = new Float32Array(C * K);
    dirs.set(design.read, 0);
    dirs.set(design.hidden, F * K);
    // B = A^T dirs^T, [D, C].
    const B = new Float32Array(D * C);
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < K; k++) {
        const d = dirs[c * K + k];
        if (d === 0) continue;
        for (let i = 0; i < D; i++) B[i * C + c] += cal.axes[k * D + i] * d;
      }
    }
    const offset = new Float32Array(C);
    for (let i = 0; i < D; i++) for (let c = 0; c < C; c++) offset[c] += cal.wAvg[i] * B[i * C + c];
    const rows = new Float32Array(L * C);
    for (let r = 0; r < L; r++) {
      for (let f = 0; f < F; f++) {
        const w = design.rowWeights[f * L + r];
        rows[r * C + f] = w;
        for (let j = 0; j < J; j++) rows[r * C + F + f * J + j] = w;
      }
    }
    this.B = tf.tensor2d(B, [D, C]);
    this.offset = tf.tensor1d(offset);
    this.rows = tf.tensor3d(rows, [1, L, C]);
    this.hidBias = tf.tensor3d(design.hiddenBias, [1, F, J]);
    this.hidOut = tf.tensor3d(design.hiddenOut, [1, F, J]);
    this.steep = tf.tensor2d(FACTORS.map((s, f) => s.steepness / cal.scale[f]), [1, F]);
    this.thresh = tf.tensor2d(cal.threshold, [1, F]);
  }

  /** W+ [N, L, D] -> scores and values [N, F]. */
  forward(wPlus: tf.Tensor3D): FactorOutput {
    const [N, L, D] = wPlus.shape;
    const F = this.F, J = WORLD.hiddenUnits, C = F * (1 + J);
    return tf.tidy(() => {
      const proj = tf.reshape(
        tf.sub(tf.matMul(tf.reshape(wPlus, [N * L, D]), this.B), this.offset),
        [N, L, C],
      );
      const mixed = tf.sum(tf.mul(proj, this.rows), 1); // [N, C]
      const lin = tf.slice(mixed, [0, 0], [N, F]);
      const hid = tf.reshape(tf.slice(mixed, [0, F], [N, F * J]), [N, F, J]);
      const scores = tf.add(
        lin,
        tf.sum(tf.mul(tf.tanh(tf.add(hid, this.hidBias)), this.hidOut), 2),
      ) as tf.Tensor2D;
      const values = tf.sigmoid(tf.mul(tf.sub(scores, this.thresh), this.steep)) as tf.Tensor2D;
      return { scores, values };
    });
  }

  dispose(): void {
    tf.dispose([
      this.B,
      this.offset,
      this.rows,
      this.hidBias,
      this.hidOut,
      this.steep,
      this.thresh,
    ]);
  }
}
