/** ISF-GAN style mixing: recipe statistics and exact row copies. */
import { assert, assertEquals, assertThrows } from "./_util.ts";
import { makeMixRecipes, materializeMixes, MIX_WIDTH } from "../lib/data/mixing.ts";
import { Rng } from "../lib/util/rng.ts";

Deno.test("recipes: originals kept, 7 mixes each, widths 2..10 clipped at 18, any other latent as reference", () => {
  const N = 500;
  const r = makeMixRecipes(N, { mixesPerLatent: 7, keepOriginal: true, seed: 1 });
  assertEquals(r.source.length, N * 8);
  const widths = new Map<number, number>(), starts = new Set<number>();
  let originals = 0;
  for (let i = 0; i < r.source.length; i++) {
    assertEquals(r.source[i], Math.floor(i / 8));
    if (r.reference[i] < 0) {
      originals++;
      continue;
    }
    assert(
      r.reference[i] !== r.source[i] && r.reference[i] < N,
      `row ${i}: reference ${r.reference[i]}`,
    );
    const w = r.end[i] - r.start[i];
    assert(
      r.start[i] >= 0 && r.start[i] <= 17 && r.end[i] <= 18,
      `row ${i}: ${r.start[i]}..${r.end[i]}`,
    );
    assert(w <= MIX_WIDTH.max && (w >= MIX_WIDTH.min || r.end[i] === 18), `row ${i}: width ${w}`);
    if (r.start[i] <= 7) widths.set(w, (widths.get(w) ?? 0) + 1); // never clipped: start + 10 <= 17
    starts.add(r.start[i]);
  }
  assertEquals(originals, N);
  assertEquals([...widths.keys()].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assertEquals(starts.size, 18);
  // Widths are uniform where no clipping can happen: each of the 9 within 30% of the mean count.
  const counts = [...widths.values()], mean = counts.reduce((a, b) => a + b) / counts.length;
  assert(counts.every((c) => Math.abs(c - mean) < 0.3 * mean), `width counts ${counts}`);
  // Deterministic from the seed.
  assertEquals(
    Array.from(makeMixRecipes(N, { mixesPerLatent: 7, keepOriginal: true, seed: 1 }).start),
    Array.from(r.start),
  );
});

Deno.test("materialised mixes copy rows start..end-1 of the reference exactly, the rest from the source", () => {
  const N = 6, D = 4, L = 18;
  const rng = new Rng(2);
  const w = rng.normals(N * D);
  const r = makeMixRecipes(N, { mixesPerLatent: 3, keepOriginal: true, seed: 5 });
  const rows = Array.from({ length: r.source.length }, (_, i) => i);
  const out = materializeMixes(w, D, r, rows, L);
  rows.forEach((row) => {
    for (let l = 0; l < L; l++) {
      const fromRef = r.reference[row] >= 0 && l >= r.start[row] && l < r.end[row];
      const src = fromRef ? r.reference[row] : r.source[row];
      for (let d = 0; d < D; d++) assertEquals(out[(row * L + l) * D + d], w[src * D + d]);
    }
  });
});

Deno.test("mixing needs two latents", () => {
  assertThrows(
    () => makeMixRecipes(1, { mixesPerLatent: 1, keepOriginal: false, seed: 1 }),
    "numLatents",
    "at least 2",
  );
});
