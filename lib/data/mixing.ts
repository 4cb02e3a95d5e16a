/**
 * Style mixing as ISF-GAN does it (the paper's dataset, DESIGN.md section 3): for each latent,
 * keep the original and make mixes; a mix picks a random other latent `reference`, `start` uniform
 * in 0..L-1, `width` uniform in 2..10, `end = min(start + width, L)`, and copies rows
 * start..end-1 of the reference's W+ into a copy of the source's. Recipes are a table (source,
 * reference, start, end), deterministic from the seed, materialised lazily in batches.
 */
import { Rng } from "../util/rng.ts";
import { InputError } from "../util/validate.ts";

export interface MixRecipes {
  /** Index of the source latent. */
  source: Int32Array;
  /** Index of the reference latent, -1 for an unmixed original. */
  reference: Int32Array;
  /** First copied row (inclusive) and end (exclusive); 0, 0 for originals. */
  start: Int32Array;
  end: Int32Array;
}

export const MIX_WIDTH = { min: 2, max: 10 } as const;

export function makeMixRecipes(
  numLatents: number,
  opts: { mixesPerLatent: number; keepOriginal: boolean; seed: number; numLayers?: number },
): MixRecipes {
  const L = opts.numLayers ?? 18;
  if (!(numLatents >= 2)) {
    throw new InputError(`numLatents: expected at least 2 latents to mix, got ${numLatents}`);
  }
  const per = opts.mixesPerLatent + (opts.keepOriginal ? 1 : 0);
  const n = numLatents * per;
  const out: MixRecipes = {
    source: new Int32Array(n),
    reference: new Int32Array(n),
    start: new Int32Array(n),
    end: new Int32Array(n),
  };
  const rng = new Rng(opts.seed);
  let k = 0;
  for (let i = 0; i < numLatents; i++) {
    if (opts.keepOriginal) {
      out.source[k] = i;
      out.reference[k] = -1;
      k++;
    }
    for (let j = 0; j < opts.mixesPerLatent; j++) {
      let ref = rng.int(0, numLatents - 2);
      if (ref >= i) ref++; // any latent but the source
      const start = rng.int(0, L - 1);
      const width = rng.int(MIX_WIDTH.min, MIX_WIDTH.max);
      out.source[k] = i;
      out.reference[k] = ref;
      out.start[k] = start;
      out.end[k] = Math.min(start + width, L);
      k++;
    }
  }
  return out;
}

/**
 * W+ latents [rows.length, L, D] (flat) for the recipes `rows`, from W latents [N, D] (flat):
 * every row is the source's w except rows start..end-1, which are the reference's.
 */
export function materializeMixes(
  w: Float32Array,
  D: number,
  recipes: MixRecipes,
  rows: ArrayLike<number>,
  L = 18,
): Float32Array {
  const out = new Float32Array(rows.length * L * D);
  for (let b = 0; b < rows.length; b++) {
    const r = rows[b];
    const src = recipes.source[r], ref = recipes.reference[r];
    for (let l = 0; l < L; l++) {
      const from = ref >= 0 && l >= recipes.start[r] && l < recipes.end[r] ? ref : src;
      out.set(w.subarray(from * D, (from + 1) * D), (b * L + l) * D);
    }
  }
  return out;
}
