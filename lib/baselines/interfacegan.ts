/**
 * InterFaceGAN (Shen et al.), reimplemented from its published settings: for each attribute, a
 * linear SVM separates the W latents with the top and the bottom 2% of attribute scores (70/30
 * train/validation split); the unit normal n of its hyperplane is the attribute's direction, and
 * an edit moves w by +-3 n on all 18 rows (the step the ID-Style paper used).
 */
import * as tf from "@tensorflow/tfjs";
import type { AttributeEditor } from "../eval/evaluate.ts";
import { trainLinearSvm } from "./svm.ts";
import { Rng } from "../util/rng.ts";
import { readSafetensors, toFloat32, writeSafetensors } from "../io/safetensors.ts";

export interface InterFaceGANConfig {
  /** Fraction of samples taken from each end of the score ranking. */
  ratio: number;
  /** Fraction of the chosen samples used to train the SVM (the rest validate it). */
  trainSplit: number;
  /** SVM cost C (scikit-learn's default, 1). */
  cost: number;
  /** Edit step along the unit normal. */
  step: number;
  seed: number;
}

export const INTERFACEGAN: InterFaceGANConfig = {
  ratio: 0.02,
  trainSplit: 0.7,
  cost: 1,
  step: 3,
  seed: 5,
};

export interface Boundary {
  attribute: string;
  /** Unit normal, pointing towards the attribute, [D]. */
  normal: Float32Array;
  trainSamples: number;
  validationSamples: number;
  validationAccuracy: number;
}

/**
 * Trains one boundary per attribute. `w` [N, D] (flat) W latents; `scores` [N, M] (flat) attribute
 * scores (higher = more of the attribute; for example classifier logits).
 */
export async function trainBoundaries(
  w: Float32Array,
  scores: Float32Array,
  attributes: readonly string[],
  cfg: InterFaceGANConfig = INTERFACEGAN,
  D = 512,
): Promise<Boundary[]> {
  const N = w.length / D, M = attributes.length;
  if (scores.length !== N * M) {
    throw new RangeError(`scores: expected ${N} x ${M} values, got ${scores.length}`);
  }
  const out: Boundary[] = [];
  for (let m = 0; m < M; m++) {
    const order = Array.from({ length: N }, (_, i) => i).sort((a, b) =>
      scores[a * M + m] - scores[b * M + m]
    );
    const k = Math.max(1, Math.round(cfg.ratio * N));
    const chosen = [
      ...order.slice(N - k).map((i) => [i, 1]),
      ...order.slice(0, k).map((i) => [i, -1]),
    ];
    const perm = new Rng(cfg.seed + m).permutation(chosen.length);
    const shuffled = Array.from(perm, (p) => chosen[p]);
    const nTrain = Math.round(cfg.trainSplit * shuffled.length);
    const row = (i: number) => Array.from(w.subarray(i * D, (i + 1) * D));
    const train = shuffled.slice(0, nTrain), val = shuffled.slice(nTrain);
    const svm = await trainLinearSvm(train.map(([i]) => row(i)), train.map(([, y]) => y), cfg.cost);
    const decide = (i: number) => row(i).reduce((s, v, j) => s + v * svm.weights[j], svm.bias);
    const valAcc = val.length
      ? val.filter(([i, y]) => Math.sign(decide(i)) === y).length / val.length
      : NaN;
    const norm = Math.hypot(...svm.weights);
    out.push({
      attribute: attributes[m],
      normal: Float32Array.from(svm.weights, (v) => v / norm),
      trainSamples: train.length,
      validationSamples: val.length,
      validationAccuracy: valAcc,
    });
  }
  return out;
}

export class InterFaceGANEditor implements AttributeEditor {
  readonly name = "InterFaceGAN";
  private readonly normals: tf.Tensor2D; // [M, D]

  constructor(readonly boundaries: Boundary[], readonly step = INTERFACEGAN.step) {
    this.normals = tf.tensor2d(boundaries.flatMap((b) => Array.from(b.normal)), [
      boundaries.length,
      boundaries[0].normal.length,
    ]);
  }

  /** w+ + direction * step * n_m on every row. */
  editAttribute(wPlus: tf.Tensor3D, m: number, directions: number[]): tf.Tensor3D {
    const [B, , D] = wPlus.shape;
    return tf.tidy(() => {
      const n = tf.reshape(tf.slice(this.normals, [m, 0], [1, D]), [1, 1, D]);
      const s = tf.tensor3d(directions.map((d) => d * this.step), [B, 1, 1]);
      return tf.add(wPlus, tf.mul(s, n)) as tf.Tensor3D;
    });
  }

  countParameters(): number {
    return this.normals.size;
  }

  async save(path: string): Promise<void> {
    await writeSafetensors(path, {
      normals: {
        dtype: "F32",
        shape: this.normals.shape,
        data: this.normals.dataSync() as Float32Array,
      },
    }, {
      method: "InterFaceGAN",
      step: String(this.step),
      boundaries: JSON.stringify(this.boundaries.map(({ normal: _, ...rest }) => rest)),
    });
  }

  static async load(path: string): Promise<InterFaceGANEditor> {
    const f = await readSafetensors(path);
    const t = f.tensors.get("normals");
    if (!t) throw new Error(`${path}: no "normals" tensor`);
    const normals = toFloat32(t, "normals");
    const D = t.shape[1];
    const meta = JSON.parse(f.metadata.boundaries) as Omit<Boundary, "normal">[];
    return new InterFaceGANEditor(
      meta.map((b, m) => ({ ...b, normal: normals.slice(m * D, (m + 1) * D) })),
      Number(f.metadata.step),
    );
  }

  dispose(): void {
    this.normals.dispose();
  }
}
