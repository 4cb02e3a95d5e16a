/**
 * Training data for the evaluators: pools of factor values from the world's own latents, rendered
 * on the fly. Classifier batches mix natural samples (W and style-mixed W+ latents, with the
 * world's correlations) and shuffled ones (each factor from an independent sample), so that a
 * classifier must see an attribute itself rather than what it correlates with. Identity batches
 * hold several renders of each identity (its identity factors fixed) with the attributes and
 * nuisance of other samples.
 */
import * as tf from "@tensorflow/tfjs";
import { makeMixRecipes, materializeMixes } from "../../data/mixing.ts";
import { Rng } from "../../util/rng.ts";
import type { SynthFace } from "../synthface/world.ts";
import { mapSamples } from "../synthface/calibration.ts";
import { FACTORS, IDENTITY_FACTORS } from "../synthface/spec.ts";

export class FactorPool {
  private constructor(readonly values: Float32Array, readonly size: number) {}

  /** Factor values of `size` samples: half W latents, half style mixes of them. */
  static build(world: SynthFace, size: number, seed: number): FactorPool {
    const D = world.latentDim, L = world.numLayers, F = FACTORS.length;
    const half = Math.floor(size / 2);
    const w = mapSamples(world.mappingNet, size - half, seed);
    const recipes = makeMixRecipes(size - half, {
      mixesPerLatent: 1,
      keepOriginal: false,
      seed: seed + 1,
    });
    const values = new Float32Array(size * F);
    const chunk = 512;
    for (let i = 0; i < size; i += chunk) {
      const n = Math.min(chunk, size - i);
      const v = tf.tidy(() => {
        const rows = Array.from({ length: n }, (_, k) => i + k);
        const plain = rows.filter((r) => r < size - half);
        const mixed = rows.filter((r) => r >= size - half).map((r) => r - (size - half));
        const parts: tf.Tensor3D[] = [];
        if (plain.length) {
          parts.push(
            world.toWPlus(
              tf.tensor2d(w.subarray(plain[0] * D, (plain[plain.length - 1] + 1) * D), [
                plain.length,
                D,
              ]),
            ),
          );
        }
        if (mixed.length) {
          parts.push(tf.tensor3d(materializeMixes(w, D, recipes, mixed, L), [mixed.length, L, D]));
        }
        return world.factors(parts.length === 1 ? parts[0] : tf.concat(parts, 0) as tf.Tensor3D);
      });
      values.set(v.dataSync(), i * F);
      v.dispose();
    }
    return new FactorPool(values, size);
  }

  row(r: number): Float32Array {
    const F = FACTORS.length;
    return this.values.subarray(r * F, (r + 1) * F);
  }

  /** n natural rows, [n, F]. */
  natural(n: number, rng: Rng): Float32Array {
    const F = FACTORS.length, out = new Float32Array(n * F);
    for (let i = 0; i < n; i++) out.set(this.row(rng.int(0, this.size - 1)), i * F);
    return out;
  }

  /** n rows with every factor from an independent random row, [n, F]. */
  shuffled(n: number, rng: Rng): Float32Array {
    const F = FACTORS.length, out = new Float32Array(n * F);
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) out[i * F + f] = this.values[rng.int(0, this.size - 1) * F + f];
    }
    return out;
  }

  /** For each identity row in `ids`, `variants` rows keeping its identity factors, other factors from random rows. */
  identityVariants(ids: number[], variants: number, other: FactorPool, rng: Rng): Float32Array {
    const F = FACTORS.length;
    const idCols = IDENTITY_FACTORS.map((n) => FACTORS.findIndex((f) => f.name === n));
    const out = new Float32Array(ids.length * variants * F);
    ids.forEach((id, k) => {
      for (let v = 0; v < variants; v++) {
        const row = out.subarray((k * variants + v) * F, (k * variants + v + 1) * F);
        row.set(other.row(rng.int(0, other.size - 1)));
        for (const c of idCols) row[c] = this.values[id * F + c];
      }
    });
    return out;
  }
}
