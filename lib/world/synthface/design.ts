/**
 * The seeded random parts of the factor read-outs (spec.ts): row weights, read directions with
 * their designed entanglement, and the mild tanh terms. Pure functions of the seed.
 */
import { deriveSeed, Rng } from "../../util/rng.ts";
import { FACTORS, WORLD } from "./spec.ts";

export interface FactorDesign {
  /** Normalised row weights rho, [F, L]. */
  rowWeights: Float32Array;
  /** Unit read directions v_f in principal coordinates, [F, K]. */
  read: Float32Array;
  /** Hidden directions k_fj, [F, J, K]. */
  hidden: Float32Array;
  /** Hidden biases c_fj, [F, J]. */
  hiddenBias: Float32Array;
  /** Hidden output weights a_fj (times the gain gamma), [F, J]. */
  hiddenOut: Float32Array;
  /** The principal axis q_f each factor owns, [F]. */
  axes: Int32Array;
}

export function makeDesign(seed: number): FactorDesign {
  const F = FACTORS.length, L = WORLD.numLayers, K = WORLD.principalDims, J = WORLD.hiddenUnits;
  const rng = new Rng(deriveSeed(seed, "factors"));
  const perm = rng.permutation(K);
  const axes = Int32Array.from(FACTORS.map((_, f) => perm[f]));
  const axisOf = new Map(FACTORS.map((s, f) => [s.name, axes[f]]));

  const rowWeights = new Float32Array(F * L);
  const read = new Float32Array(F * K);
  const hidden = new Float32Array(F * J * K);
  const hiddenBias = new Float32Array(F * J);
  const hiddenOut = new Float32Array(F * J);
  FACTORS.forEach((spec, f) => {
    const r = new Rng(deriveSeed(seed, `factor/${spec.name}`));
    // Rows: attributes as specified; others jittered over their group (fine: a random subset).
    let rows = Object.entries(spec.rows).map(([k, w]) => [Number(k), w] as [number, number]);
    if (spec.kind !== "attribute") {
      if (rows.length > WORLD.fineRowsPerFactor && rows[0][0] >= 8) {
        const order = r.permutation(rows.length);
        rows = Array.from(order.slice(0, WORLD.fineRowsPerFactor), (i) => rows[i]);
      }
      rows = rows.map(([k, w]) => [k, w * (0.5 + r.uniform())]);
    }
    const total = rows.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of rows) rowWeights[f * L + k] = w / total;
    // Read direction: own axis plus the designed mix of other factors' axes, normalised.
    const v = new Float32Array(K);
    v[axes[f]] = 1;
    for (const [other, amount] of Object.entries(spec.mix ?? {})) {
      const ax = axisOf.get(other);
      if (ax === undefined) {
        throw new Error(`spec: factor ${spec.name} mixes unknown factor ${other}`);
      }
      v[ax] += amount;
    }
    const n = Math.hypot(...v);
    for (let k = 0; k < K; k++) read[f * K + k] = v[k] / n;
    // Mild non-linearity: random unit directions through tanh.
    for (let j = 0; j < J; j++) {
      const kv = r.normals(K);
      const kn = Math.hypot(...kv);
      for (let k = 0; k < K; k++) hidden[(f * J + j) * K + k] = kv[k] / kn;
      hiddenBias[f * J + j] = 0.5 * r.normal();
      hiddenOut[f * J + j] = (WORLD.nonlinearGain * r.normal()) / Math.sqrt(J);
    }
  });
  return { rowWeights, read, hidden, hiddenBias, hiddenOut, axes };
}
