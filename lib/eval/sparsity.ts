/**
 * The sparsity–entanglement analysis (paper section 4.5).
 *
 * - Figure 4: the angle in degrees between every two global directions P_m in R^D. The paper
 *   reads angles near 90 degrees as "each attribute uses its own subset of W's elements".
 * - How concentrated a direction is: the share of its L1 mass held by its k largest |entries|,
 *   the fewest entries holding a given share, and Hoyer's sparsity (0 for a flat vector, 1 for a
 *   single non-zero entry).
 * - Figure 9: editing with only the k largest |entries| of each row of the edit (k from 1 to D),
 *   and, for small k, with the edit scaled by an intensity: accuracy against identity keeping for
 *   every setting, by the full evaluation protocol (evaluate.ts) on a set of test latents.
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { evaluate, idStyleAttributeEditor } from "./evaluate.ts";
import { InputError } from "../util/validate.ts";
import { Progress } from "../util/progress.ts";

/** The editor's L1-normalised global directions P_m / ||P_m||_1, one Float32Array [D] per attribute. */
export function globalDirections(editor: IDStyleEditor): Float32Array[] {
  const p = editor.lgd.normalized(); // [M, D]
  const data = p.dataSync() as Float32Array;
  const [M, D] = p.shape;
  p.dispose();
  return Array.from({ length: M }, (_, m) => data.slice(m * D, (m + 1) * D));
}

function checkVectors(name: string, vectors: ArrayLike<number>[]): number {
  if (vectors.length === 0) throw new InputError(`${name}: expected at least one vector, got none`);
  const D = vectors[0].length;
  vectors.forEach((v, i) => {
    if (v.length !== D) {
      throw new InputError(`${name}[${i}]: expected length ${D} like ${name}[0], got ${v.length}`);
    }
    let norm = 0;
    for (let k = 0; k < D; k++) norm += v[k] * v[k];
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new InputError(`${name}[${i}]: expected a finite non-zero vector, got norm ${norm}`);
    }
  });
  return D;
}

/** Angle in degrees between every two vectors: [n][n], 0 on the diagonal. */
export function angleMatrix(vectors: ArrayLike<number>[]): number[][] {
  const D = checkVectors("vectors", vectors);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let k = 0; k < D; k++) s += a[k] * b[k];
    return s;
  };
  const norms = vectors.map((v) => Math.sqrt(dot(v, v)));
  return vectors.map((a, i) =>
    vectors.map((b, j) => {
      if (i === j) return 0;
      const c = Math.max(-1, Math.min(1, dot(a, b) / (norms[i] * norms[j])));
      return (Math.acos(c) * 180) / Math.PI;
    })
  );
}

/** |entries| sorted from the largest, as shares of the L1 norm, cumulated: [D], ends at 1. */
export function massCurve(vector: ArrayLike<number>): Float64Array {
  checkVectors("vector", [vector]);
  const mags = Array.from(vector, Math.abs).sort((a, b) => b - a);
  const total = mags.reduce((s, v) => s + v, 0);
  const out = new Float64Array(mags.length);
  let acc = 0;
  mags.forEach((v, k) => (out[k] = (acc += v) / total));
  return out;
}

/** The fewest entries whose |values| hold at least `share` (0..1] of the L1 norm. */
export function entriesForShare(vector: ArrayLike<number>, share: number): number {
  if (!(share > 0 && share <= 1)) {
    throw new InputError(`share: expected a number in (0, 1], got ${share}`);
  }
  const curve = massCurve(vector);
  const k = curve.findIndex((c) => c >= share - 1e-12);
  return (k < 0 ? curve.length - 1 : k) + 1;
}

/** Hoyer's sparsity (sqrt(D) - L1/L2) / (sqrt(D) - 1): 0 for equal |entries|, 1 for one non-zero. */
export function hoyerSparsity(vector: ArrayLike<number>): number {
  const D = checkVectors("vector", [vector]);
  if (D === 1) return 1;
  let l1 = 0, l2 = 0;
  for (let k = 0; k < D; k++) {
    l1 += Math.abs(vector[k]);
    l2 += vector[k] * vector[k];
  }
  return (Math.sqrt(D) - l1 / Math.sqrt(l2)) / (Math.sqrt(D) - 1);
}

export interface RealizedEdits {
  /** Mean over the latents of the angle in degrees between two attributes' edits (flattened [L * D]), [M][M]; NaN where an edit is zero. */
  angles: number[][];
  /** Mean over the latents and the edited rows of the fewest entries holding 90% of a row's L1 mass, [M]. */
  entries90: number[];
  /** Mean number of rows (of L) an attribute's edit changes, [M]. */
  rowsEdited: number[];
}

/**
 * What the edits themselves look like (not only P_m): every attribute edited (+1) on each latent
 * of W+ [B, L, D]; a row counts as edited when its largest |entry| exceeds `eps`.
 */
export function realizedEdits(
  editor: IDStyleEditor,
  wPlus: tf.Tensor3D,
  eps = 1e-6,
): RealizedEdits {
  const [B, L, D] = wPlus.shape;
  const M = editor.attributes.length;
  const deltas = tf.tidy(() => editor.forward(wPlus, tf.ones([B, M]) as tf.Tensor2D).deltas);
  const d = deltas.dataSync() as Float32Array; // [B, M, L, D]
  deltas.dispose();
  const sums = Array.from({ length: M }, () => new Array(M).fill(0));
  const pairs = Array.from({ length: M }, () => new Array(M).fill(0));
  const entries = new Array(M).fill(0), rows = new Array(M).fill(0);
  for (let b = 0; b < B; b++) {
    const vectors = Array.from(
      { length: M },
      (_, m) => d.subarray((b * M + m) * L * D, (b * M + m + 1) * L * D),
    );
    const live = vectors.map((v, m) => (v.some((x) => Math.abs(x) > eps) ? m : -1)).filter((m) =>
      m >= 0
    );
    if (live.length > 1) {
      const a = angleMatrix(live.map((m) => vectors[m]));
      live.forEach((i, p) =>
        live.forEach((j, q) => {
          sums[i][j] += a[p][q];
          pairs[i][j] += 1;
        })
      );
    }
    for (const m of live) {
      for (let l = 0; l < L; l++) {
        const row = vectors[m].subarray(l * D, (l + 1) * D);
        if (!row.some((x) => Math.abs(x) > eps)) continue;
        rows[m] += 1;
        entries[m] += entriesForShare(row, 0.9);
      }
    }
  }
  return {
    angles: sums.map((r, i) => r.map((v, j) => (pairs[i][j] ? v / pairs[i][j] : NaN))),
    entries90: entries.map((e, m) => (rows[m] > 0 ? e / rows[m] : NaN)),
    rowsEdited: rows.map((r) => r / B),
  };
}

/** One setting of the Figure 9 experiment: k entries per row (D = all), edit scaled by `intensity`. */
export interface TopKSetting {
  k: number;
  intensity: number;
}

export interface TopKPoint extends TopKSetting {
  /** "k" for the k sweep at intensity 1, "intensity" for the small-k intensity sweeps. */
  experiment: "k" | "intensity";
  /** Mean accuracy by the evaluation classifier, and by the oracle (null without one). */
  mAcc: number;
  oracleMAcc: number | null;
  frs: number;
  oracleIdentity: number | null;
  ssim: number;
  othersKept: number | null;
}

/** The settings of the paper's Figure 9: k from 1 to D at intensity 1; k = 2, 5, 7 at intensities 1-20. */
export const FIGURE9 = {
  ks: [1, 2, 5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 512],
  smallKs: [2, 5, 7],
  intensities: [1, 2, 4, 7, 10, 15, 20],
} as const;

export interface TopKSweepOptions {
  ks?: readonly number[];
  smallKs?: readonly number[];
  intensities?: readonly number[];
  silent?: boolean;
}

/**
 * Runs the evaluation protocol on `n` latents (from `getBatch`) for every Figure 9 setting.
 * Settings are evaluated in order: the k sweep, then each small k over the intensities.
 */
export function topKSweep(
  editor: IDStyleEditor,
  world: World,
  n: number,
  getBatch: (rows: number[]) => tf.Tensor3D,
  opts: TopKSweepOptions = {},
): TopKPoint[] {
  const D = editor.config.latentDim;
  const ks = opts.ks ?? FIGURE9.ks.filter((k) => k <= D);
  const settings: (TopKSetting & { experiment: TopKPoint["experiment"] })[] = [
    ...ks.map((k) => ({ k, intensity: 1, experiment: "k" as const })),
    ...(opts.smallKs ?? FIGURE9.smallKs).flatMap((k) =>
      (opts.intensities ?? FIGURE9.intensities).map((intensity) => ({
        k,
        intensity,
        experiment: "intensity" as const,
      }))
    ),
  ];
  const progress = new Progress("top-k sweep", settings.length, {
    unit: "settings",
    silent: opts.silent,
  });
  const points: TopKPoint[] = [];
  for (const s of settings) {
    const method = idStyleAttributeEditor(editor, `top-${s.k} x${s.intensity}`, {
      topK: s.k,
      intensity: s.intensity,
    });
    const { summary } = evaluate(method, world, n, getBatch, { silent: true });
    points.push({
      ...s,
      mAcc: summary.mAcc,
      oracleMAcc: summary.oracleMAcc,
      frs: summary.frs,
      oracleIdentity: summary.oracleIdentity,
      ssim: summary.ssim,
      othersKept: summary.othersKept,
    });
    progress.tick(1, `k ${s.k} x${s.intensity}: mACC ${(100 * summary.mAcc).toFixed(1)}%`);
  }
  progress.finish();
  return points;
}
