/**
 * Measured properties of a synthface world (reported in data/synthface/README.md and notebook 01):
 *
 * - label correlations (phi coefficients) between attributes, and correlations between attribute
 *   scores and identity factors, on W latents;
 * - entanglement: edit every latent along a direction in W (all rows) towards the other side of an
 *   attribute, with the smallest step (on a grid) that flips it for `targetFlip` of the samples,
 *   and measure what else changes: other attributes' flip rates, the oracle identity similarity,
 *   and (when the evaluators are loaded) the identity network's cosine (FRS). Two directions:
 *   the naive class-mean difference of w, and the ideal one: the attribute's read direction made
 *   orthogonal to every other factor's (it moves the attribute and, to first order, nothing else;
 *   known here by construction, never in a real GAN). The problem ID-Style solves exists when the
 *   naive direction changes identity much more than the ideal one.
 */
import * as tf from "@tensorflow/tfjs";
import { Matrix, solve } from "ml-matrix";
import type { SynthFace } from "./world.ts";
import { ATTRIBUTES, FACTORS, IDENTITY_FACTORS } from "./spec.ts";

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0, sa = 0, sb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    sa += (a[i] - ma) ** 2;
    sb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(sa * sb);
}

function column(x: Float32Array, cols: number, c: number): Float32Array {
  return Float32Array.from({ length: x.length / cols }, (_, i) => x[i * cols + c]);
}

/** Factor values of W latents [n, D] (flat), [n, F]. */
export function factorValues(world: SynthFace, w: Float32Array): Float32Array {
  const D = world.latentDim, n = w.length / D;
  const out = new Float32Array(n * FACTORS.length);
  for (let i = 0; i < n; i += 1000) {
    const m = Math.min(1000, n - i);
    const v = tf.tidy(() =>
      world.factors(world.toWPlus(tf.tensor2d(w.subarray(i * D, (i + m) * D), [m, D])))
    );
    out.set(v.dataSync(), i * FACTORS.length);
    v.dispose();
  }
  return out;
}

export interface Correlations {
  /** Phi coefficients between attribute labels, [M][M]. */
  labels: number[][];
  /** Pearson correlation of each attribute's value with each identity factor's, [M][I]. */
  attributeIdentity: number[][];
}

export function correlations(values: Float32Array): Correlations {
  const F = FACTORS.length;
  const idx = (n: string) => FACTORS.findIndex((f) => f.name === n);
  const lab = ATTRIBUTES.map((a) => column(values, F, idx(a)).map((v) => (v > 0.5 ? 1 : 0)));
  return {
    labels: lab.map((x) => lab.map((y) => pearson(x, y))),
    attributeIdentity: ATTRIBUTES.map((a) =>
      IDENTITY_FACTORS.map((i) => pearson(column(values, F, idx(a)), column(values, F, idx(i))))
    ),
  };
}

export interface EntanglementRow {
  attribute: string;
  direction: "class-mean" | "ideal";
  /** Length of the move in W. */
  step: number;
  /** Fraction of samples whose attribute flipped. */
  flipRate: number;
  /** Fraction of samples where each other attribute flipped. */
  otherFlips: Record<string, number>;
  /** Mean oracle identity similarity between the edited and the original. */
  oracleIdentity: number;
  /** Mean identity-network cosine (FRS), when the evaluators are loaded. */
  frs: number | null;
}

/** Moves every latent `step` along unit `dir` towards the other side of attribute m. */
function moved(w: tf.Tensor2D, labels: tf.Tensor1D, dir: tf.Tensor1D, step: number): tf.Tensor2D {
  return tf.tidy(() =>
    tf.add(
      w,
      tf.mul(tf.expandDims(tf.sub(1, tf.mul(labels, 2)), 1), tf.mul(dir, step)),
    ) as tf.Tensor2D
  );
}

/**
 * The ideal edit direction of factor f in W (unit): its read direction in principal coordinates
 * with the components along every other factor's read direction removed, mapped back to W
 * (x = A (w - w_avg), so a move c in x is the move sum_k c_k sqrt(lambda_k) e_k in W).
 */
export function idealDirection(world: SynthFace, f: number): Float32Array {
  const K = world.calibration.eigenvalues.length, D = world.latentDim, F = FACTORS.length;
  const read = (g: number) => Array.from(world.design.read.subarray(g * K, (g + 1) * K));
  const others = new Matrix(
    Array.from({ length: F }, (_, g) => g).filter((g) => g !== f).map(read),
  ); // [F-1, K]
  const q = Matrix.columnVector(read(f));
  const coef = solve(others.mmul(others.transpose()), others.mmul(q)); // [F-1, 1]
  const c = q.sub(others.transpose().mmul(coef)).to1DArray(); // [K], orthogonal to the others
  const out = new Float32Array(D);
  for (let k = 0; k < K; k++) {
    const scale = c[k] * world.calibration.eigenvalues[k]; // axes rows are e_k / sqrt(lambda_k)
    for (let i = 0; i < D; i++) out[i] += scale * world.calibration.axes[k * D + i];
  }
  const n = Math.hypot(...out);
  return out.map((v) => v / n);
}

export function entanglement(
  world: SynthFace,
  w: Float32Array,
  opts: { targetFlip?: number; withFrs?: boolean } = {},
): EntanglementRow[] {
  const target = opts.targetFlip ?? 0.9;
  const D = world.latentDim, n = w.length / D, F = FACTORS.length;
  const values = factorValues(world, w);
  const rows: EntanglementRow[] = [];
  const wt = tf.tensor2d(w, [n, D]);

  ATTRIBUTES.forEach((a, m) => {
    const fi = FACTORS.findIndex((f) => f.name === a);
    const lab = Float32Array.from({ length: n }, (_, i) => (values[i * F + fi] > 0.5 ? 1 : 0));
    const labT = tf.tensor1d(lab);
    // Naive: the class-mean difference. Ideal: see idealDirection, signed to increase the attribute.
    const meanDiff = tf.tidy(() => {
      const pos = tf.div(tf.sum(tf.mul(wt, tf.expandDims(labT, 1)), 0), tf.sum(labT));
      const neg = tf.div(
        tf.sum(tf.mul(wt, tf.expandDims(tf.sub(1, labT), 1)), 0),
        tf.sub(n, tf.sum(labT)),
      );
      const d = tf.sub(pos, neg);
      return tf.div(d, tf.norm(d)) as tf.Tensor1D;
    });
    const ideal = idealDirection(world, fi);
    const sign = Math.sign(tf.tidy(() =>
      tf.sum(tf.mul(meanDiff, tf.tensor1d(ideal))).dataSync()[0]
    )) || 1;
    const clean = tf.tensor1d(ideal.map((v) => v * sign));
    for (const [name, dir] of [["class-mean", meanDiff], ["ideal", clean]] as const) {
      // The smallest step on a geometric grid (0.5 x 1.25^k, up to 64) that reaches the target.
      let step = 0.5, edited = values, flip = 0;
      for (let s = 0.5; s <= 64; s *= 1.25) {
        const e = moved(wt, labT, dir, s);
        edited = factorValues(world, e.dataSync() as Float32Array);
        e.dispose();
        step = s;
        flip = lab.reduce((c, l, i) => c + ((edited[i * F + fi] > 0.5 ? 1 : 0) !== l ? 1 : 0), 0) /
          n;
        if (flip >= target) break;
      }
      const otherFlips: Record<string, number> = {};
      ATTRIBUTES.forEach((b, mb) => {
        if (mb === m) return;
        const fb = FACTORS.findIndex((f) => f.name === b);
        let c = 0;
        for (
          let i = 0;
          i < n;
          i++
        ) if ((values[i * F + fb] > 0.5) !== (edited[i * F + fb] > 0.5)) c++;
        otherFlips[b] = c / n;
      });
      const idCols = IDENTITY_FACTORS.map((x) => FACTORS.findIndex((f) => f.name === x));
      const pick = (v: Float32Array) =>
        tf.tensor2d(
          Float32Array.from(
            { length: n * idCols.length },
            (_, j) => v[Math.floor(j / idCols.length) * F + idCols[j % idCols.length]],
          ),
          [n, idCols.length],
        );
      const oracleIdentity = tf.tidy(() =>
        tf.mean(world.oracle.identitySimilarity(pick(values), pick(edited))).dataSync()[0]
      );
      let frs: number | null = null;
      if (opts.withFrs) {
        const sims: number[] = [];
        for (let i = 0; i < n; i += 250) {
          const c = Math.min(250, n - i);
          sims.push(tf.tidy(() => {
            const src = world.toWPlus(tf.slice(wt, [i, 0], [c, D]));
            const ed = world.toWPlus(
              moved(tf.slice(wt, [i, 0], [c, D]), tf.slice(labT, [i], [c]), dir, step),
            );
            return tf.sum(
              tf.mul(world.identity(world.synthesize(src)), world.identity(world.synthesize(ed))),
            ).dataSync()[0];
          }));
        }
        frs = sims.reduce((s, x) => s + x, 0) / n;
      }
      rows.push({
        attribute: a,
        direction: name,
        step,
        flipRate: flip,
        otherFlips,
        oracleIdentity,
        frs,
      });
    }
    tf.dispose([labT, meanDiff, clean]);
  });
  wt.dispose();
  return rows;
}
