/**
 * Calibration of a synthface world from its seed: the mean of w, W's principal axes (eigenvectors
 * of the covariance of many w, by ml-matrix), and each factor's threshold (for its base rate) and
 * scale (for a unit-variance score). Deterministic; stored beside the evaluators so that loading a
 * world is instant, and re-derived in a test.
 */
import * as tf from "@tensorflow/tfjs";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { deriveSeed } from "../../util/rng.ts";
import {
  CheckpointError,
  readSafetensors,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../../io/safetensors.ts";
import type { FactorDesign } from "./design.ts";
import { type Calibration, FactorReadout } from "./factors.ts";
import { MappingNetwork, sampleZ } from "./mapping.ts";
import { FACTORS, IDENTITY_FACTORS, WORLD } from "./spec.ts";

/** w for `n` latents from `seed`, mapped in chunks, [n, D] as a flat array. */
export function mapSamples(
  mapping: MappingNetwork,
  n: number,
  seed: number,
  chunk = 2048,
): Float32Array {
  const D = WORLD.latentDim;
  const z = sampleZ(n, seed);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const w = tf.tidy(() => mapping.forward(tf.slice(z, [i, 0], [m, D])));
    out.set(w.dataSync(), i * D);
    w.dispose();
  }
  z.dispose();
  return out;
}

function quantile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function calibrate(
  seed: number,
  mapping: MappingNetwork,
  design: FactorDesign,
): Calibration {
  const N = WORLD.calibrationSamples,
    D = WORLD.latentDim,
    K = WORLD.principalDims,
    F = FACTORS.length;
  const w = mapSamples(mapping, N, deriveSeed(seed, "calibration"));
  // Mean and covariance (tfjs), then the top-K eigenpairs (ml-matrix).
  const { wAvg, cov } = tf.tidy(() => {
    const wt = tf.tensor2d(w, [N, D]);
    const mean = tf.mean(wt, 0);
    const c = tf.sub(wt, mean);
    const covT = tf.div(tf.matMul(tf.transpose(c), c), N - 1);
    return { wAvg: mean.dataSync() as Float32Array, cov: covT.dataSync() as Float32Array };
  });
  const rows: number[][] = [];
  for (let i = 0; i < D; i++) {
    rows.push(Array.from(cov.subarray(i * D, (i + 1) * D), (v, j) => (v + cov[j * D + i]) / 2));
  }
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = [...vals.keys()].sort((a, b) => vals[b] - vals[a]).slice(0, K);
  const axes = new Float32Array(K * D);
  const eigenvalues = new Float32Array(K);
  order.forEach((col, k) => {
    const v = vecs.getColumn(col);
    // Sign convention: the largest-magnitude component is positive.
    let big = 0;
    for (let i = 1; i < D; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
    const sign = v[big] < 0 ? -1 : 1;
    const s = sign / Math.sqrt(vals[col]);
    eigenvalues[k] = vals[col];
    for (let i = 0; i < D; i++) axes[k * D + i] = v[i] * s;
  });
  // Raw scores on W-mode samples, then thresholds (base rates) and scales.
  const raw = new FactorReadout(design, {
    wAvg,
    axes,
    threshold: new Float32Array(F),
    scale: new Float32Array(F).fill(1),
  });
  const scores = tf.tidy(() =>
    raw.forward(tf.tile(tf.expandDims(tf.tensor2d(w, [N, D]), 1), [1, WORLD.numLayers, 1])).scores
  );
  const s = scores.dataSync() as Float32Array;
  scores.dispose();
  raw.dispose();
  const threshold = new Float32Array(F), scale = new Float32Array(F);
  FACTORS.forEach((spec, f) => {
    const col = Float32Array.from({ length: N }, (_, i) => s[i * F + f]);
    const mean = col.reduce((a, b) => a + b, 0) / N;
    scale[f] = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1));
    col.sort();
    threshold[f] = quantile(col, 1 - spec.baseRate);
  });
  // Identity statistics of the calibrated values.
  const I = IDENTITY_FACTORS.length;
  const identityMean = new Float32Array(I), identityStd = new Float32Array(I);
  IDENTITY_FACTORS.forEach((name, i) => {
    const f = FACTORS.findIndex((x) => x.name === name);
    const vals = Float32Array.from(
      { length: N },
      (_, n) =>
        1 / (1 + Math.exp(-FACTORS[f].steepness * (s[n * F + f] - threshold[f]) / scale[f])),
    );
    const m = vals.reduce((a, b) => a + b, 0) / N;
    identityMean[i] = m;
    identityStd[i] = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / (N - 1));
  });
  return { seed, wAvg, axes, eigenvalues, threshold, scale, identityMean, identityStd };
}

const FIELDS = [
  "wAvg",
  "axes",
  "eigenvalues",
  "threshold",
  "scale",
  "identityMean",
  "identityStd",
] as const;

export async function saveCalibration(path: string, cal: Calibration): Promise<void> {
  const shapes: Record<(typeof FIELDS)[number], number[]> = {
    wAvg: [WORLD.latentDim],
    axes: [WORLD.principalDims, WORLD.latentDim],
    eigenvalues: [WORLD.principalDims],
    threshold: [FACTORS.length],
    scale: [FACTORS.length],
    identityMean: [IDENTITY_FACTORS.length],
    identityStd: [IDENTITY_FACTORS.length],
  };
  const tensors: Record<string, TensorInput> = {};
  for (const k of FIELDS) tensors[k] = { dtype: "F32", shape: shapes[k], data: cal[k] };
  await writeSafetensors(path, tensors, {
    seed: String(cal.seed),
    version: String(WORLD.version),
    factors: FACTORS.map((f) => f.name).join(","),
  });
}

/** Reads a stored calibration; null if it is for another seed, version or factor list. */
export async function loadCalibration(path: string, seed: number): Promise<Calibration | null> {
  let file;
  try {
    file = await readSafetensors(path);
  } catch (err) {
    if (err instanceof CheckpointError && err.message.endsWith("no such file")) return null;
    throw err;
  }
  const m = file.metadata;
  if (
    m.seed !== String(seed) || m.version !== String(WORLD.version) ||
    m.factors !== FACTORS.map((f) => f.name).join(",")
  ) return null;
  const get = (k: string) => {
    const t = file.tensors.get(k);
    if (!t) throw new CheckpointError(`${path}: missing tensor "${k}"`);
    return toFloat32(t, k);
  };
  return {
    seed,
    wAvg: get("wAvg"),
    axes: get("axes"),
    eigenvalues: get("eigenvalues"),
    threshold: get("threshold"),
    scale: get("scale"),
    identityMean: get("identityMean"),
    identityStd: get("identityStd"),
  };
}
