/**
 * The StyleGAN2 port against the outputs rosinality's PyTorch code computed from the same file
 * (tests/fixtures/real/, a narrowed config-f generator: 1024 px, 18 rows, every layer): the
 * mapping, the pooled render, a full-size crop and a truncated render, in tfjs and in
 * onnxruntime; its gradient with respect to W+ against finite differences; bad files.
 */
import { assert, assertEquals, assertRejects, assertThrows, tf } from "./_util.ts";
import { readNpy } from "../lib/io/npy.ts";
import { readGeneratorWeights } from "../lib/world/stylegan2/load.ts";
import { StyleGAN2 } from "../lib/world/stylegan2/generator.ts";
import {
  Blur,
  modulatedConv,
  prepareStyledConv,
  prepareToRgb,
  SkipUpsample,
  toRgb,
} from "../lib/world/stylegan2/ops.ts";
import { exportGeneratorOnnx, OrtGenerator } from "../lib/world/stylegan2/onnx.ts";
import { randomGeneratorWeights, rosinalityChannels } from "../lib/world/stylegan2/random.ts";
import { countGeneratorParameters, type StyleGAN2Weights } from "../lib/world/stylegan2/weights.ts";
import { generatorFlops } from "../lib/world/stylegan2/flops.ts";
import { Rng } from "../lib/util/rng.ts";

const FIX = new URL("./fixtures/real/", import.meta.url).pathname;
const npy = async (name: string) => (await readNpy(`${FIX}${name}`)).data as Float32Array;

/** max |a - b| within 1e-3 of the reference's largest absolute value (the bar). */
function assertMatches(actual: ArrayLike<number>, ref: ArrayLike<number>, what: string): number {
  assertEquals(actual.length, ref.length, `${what}: length`);
  let d = 0, m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(actual[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  assert(m > 0 && d <= 1e-3 * m, `${what}: max |diff| ${d} vs 1e-3 x ${m}`);
  return d / m;
}

function crop(
  nchw: ArrayLike<number>,
  n: number,
  size: number,
  at: number,
  len: number,
): Float32Array {
  const out = new Float32Array(n * 3 * len * len);
  for (let b = 0; b < n * 3; b++) {
    for (let y = 0; y < len; y++) {
      for (let x = 0; x < len; x++) {
        out[(b * len + y) * len + x] = nchw[(b * size + at + y) * size + at + x];
      }
    }
  }
  return out;
}

let cached: StyleGAN2Weights | null = null;
const fixtureWeights = async () => cached ??= await readGeneratorWeights(`${FIX}stylegan2_1024.pt`);

Deno.test("stylegan2: the fixture file's shapes are inferred (1024 px, 18 rows, narrowed widths)", async () => {
  const w = await fixtureWeights();
  assertEquals(w.size, 1024);
  assertEquals(w.numLatents, 18);
  assertEquals(w.mapping.length, 8);
  assertEquals(w.channels, {
    4: 32,
    8: 32,
    16: 32,
    32: 24,
    64: 16,
    128: 8,
    256: 8,
    512: 4,
    1024: 4,
  });
  assertEquals(w.noises.length, 17);
  assert(w.latentAvg !== null, "latent_avg read");
});

Deno.test("stylegan2 (tfjs): mapping, pooled render, full-size crop and truncated render match PyTorch", async () => {
  const g = new StyleGAN2(await fixtureWeights());
  const z = tf.tensor2d(await npy("stylegan2_1024_z.npy"), [2, 512]);
  const wp = tf.tensor3d(await npy("stylegan2_1024_wplus.npy"), [2, 18, 512]);
  const w = g.mapping(z);
  assertMatches(w.dataSync(), await npy("stylegan2_1024_mapping_w.npy"), "mapping");
  const nchw = (t: tf.Tensor4D) => tf.tidy(() => tf.transpose(t, [0, 3, 1, 2]).dataSync());
  const pooled = g.synthesize(wp, { size: 256 });
  assertEquals(pooled.shape, [2, 256, 256, 3]);
  assertMatches(nchw(pooled), await npy("stylegan2_1024_image_256.npy"), "pooled render");
  const full = g.synthesize(wp);
  assertEquals(full.shape, [2, 1024, 1024, 3]);
  assertMatches(
    crop(nchw(full), 2, 1024, 448, 128),
    await npy("stylegan2_1024_image_crop.npy"),
    "crop",
  );
  // The fixture's truncated render: G([z], truncation=0.7, truncation_latent=latent_avg).
  const trunc = g.synthesize(g.toWPlus(g.truncate(w, 0.7)), { size: 256 });
  assertMatches(nchw(trunc), await npy("stylegan2_1024_trunc_image_256.npy"), "truncated render");
  tf.dispose([z, wp, w, pooled, full, trunc]);
  g.dispose();
});

Deno.test("stylegan2 (onnxruntime): the exported graph matches PyTorch and tfjs", async () => {
  const weights = await fixtureWeights();
  const wp = await npy("stylegan2_1024_wplus.npy");
  const pooled = await OrtGenerator.create(exportGeneratorOnnx(weights, { size: 256 }), {
    ...weights,
    size: 256,
  });
  assertMatches(
    await pooled.render(wp, 2),
    await npy("stylegan2_1024_image_256.npy"),
    "ort pooled",
  );
  await pooled.release();
  const full = await OrtGenerator.create(exportGeneratorOnnx(weights), weights);
  assertMatches(
    crop(await full.render(wp, 2), 2, 1024, 448, 128),
    await npy("stylegan2_1024_image_crop.npy"),
    "ort crop",
  );
  await full.release();
  // Against tfjs on random latents, without noise, on a smaller random generator.
  const small = randomGeneratorWeights({
    size: 32,
    styleDim: 64,
    nMlp: 2,
    channels: { 4: 16, 8: 16, 16: 8, 32: 8 },
  }, 3);
  const w = new Rng(5).normals(3 * small.numLatents * 64);
  const ort = await OrtGenerator.create(exportGeneratorOnnx(small, { noise: "none" }), small);
  const g = new StyleGAN2(small);
  const ref = tf.tidy(() =>
    tf.transpose(g.synthesize(tf.tensor3d(w, [3, small.numLatents, 64]), { noise: "none" }), [
      0,
      3,
      1,
      2,
    ]).dataSync()
  );
  assertMatches(await ort.render(w, 3), ref, "ort vs tfjs");
  await ort.release();
  g.dispose();
});

/** Central finite difference of f along v, and the autodiff directional derivative. */
function directional<T extends tf.Tensor>(f: (x: T) => tf.Scalar, x0: T, v: T, eps: number) {
  const grad = tf.grad((x) => f(x as T))(x0);
  const analytic = tf.sum(tf.mul(grad, v)).dataSync()[0];
  const numeric = tf.tidy(() =>
    (f(tf.add(x0, tf.mul(v, eps)) as T).dataSync()[0] -
      f(tf.sub(x0, tf.mul(v, eps)) as T).dataSync()[0]) /
    (2 * eps)
  );
  return { analytic, numeric, grad };
}

// The layers without their leaky ReLU (tfjs's own op), so that the finite difference sees a smooth
// function: linear in the input, smooth in the style.
Deno.test("stylegan2: each layer's gradient (styles and input) matches finite differences", () => {
  const weights = randomGeneratorWeights({
    size: 16,
    styleDim: 32,
    nMlp: 1,
    channels: { 4: 8, 8: 6, 16: 4 },
  }, 11);
  const blur = new Blur(weights.blurKernel), up = new SkipUpsample(weights.skipKernel);
  const rng = new Rng(3);
  const cases = [
    { name: "conv1 (3x3)", layer: weights.conv1, h: 4 },
    { name: "up-sampling conv + blur", layer: weights.convs[0], h: 4 },
    { name: "plain conv", layer: weights.convs[1], h: 8 },
  ];
  for (const c of cases) {
    const layer = prepareStyledConv(c.layer, 32);
    const x = tf.tensor4d(rng.normals(2 * c.h * c.h * c.layer.cin), [2, c.h, c.h, c.layer.cin]);
    const w = tf.tensor2d(rng.normals(64), [2, 32]);
    const oh = c.layer.upsample ? 2 * c.h : c.h;
    const probe = tf.tensor4d(rng.normals(2 * oh * oh * c.layer.cout), [2, oh, oh, c.layer.cout]);
    const byW = directional(
      (s: tf.Tensor2D) => tf.sum(tf.mul(modulatedConv(layer.conv, x, s, blur), probe)) as tf.Scalar,
      w,
      tf.tensor2d(rng.normals(64), [2, 32]),
      1e-3,
    );
    const byX = directional(
      (xx: tf.Tensor4D) =>
        tf.sum(tf.mul(modulatedConv(layer.conv, xx, w, blur), probe)) as tf.Scalar,
      x,
      tf.tensor4d(rng.normals(x.size), x.shape as [number, number, number, number]),
      1e-3,
    );
    for (const [what, r] of [["style", byW], ["input", byX]] as const) {
      assert(
        Math.abs(r.analytic - r.numeric) <= 1e-2 * Math.abs(r.numeric) + 1e-3,
        `${c.name}, d/d ${what}: autodiff ${r.analytic} vs finite differences ${r.numeric}`,
      );
    }
  }
  // ToRGB with the up-sampled skip, by the skip.
  const rgb = prepareToRgb(weights.toRgbs[0], 32);
  const h = tf.tensor4d(rng.normals(2 * 8 * 8 * 6), [2, 8, 8, 6]);
  const w = tf.tensor2d(rng.normals(64), [2, 32]);
  const probe = tf.tensor4d(rng.normals(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const skip = tf.tensor4d(rng.normals(2 * 4 * 4 * 3), [2, 4, 4, 3]);
  const r = directional(
    (sk: tf.Tensor4D) => tf.sum(tf.mul(toRgb(rgb, h, w, sk, up), probe)) as tf.Scalar,
    skip,
    tf.tensor4d(rng.normals(skip.size), [2, 4, 4, 3]),
    1e-2,
  );
  assert(
    Math.abs(r.analytic - r.numeric) <= 1e-3 * Math.abs(r.numeric) + 1e-3,
    `skip: ${r.analytic} vs ${r.numeric}`,
  );
  blur.dispose();
  up.dispose();
});

Deno.test("stylegan2: the whole generator's gradient with respect to W+ matches finite differences, row by row", () => {
  const weights = randomGeneratorWeights({
    size: 16,
    styleDim: 32,
    nMlp: 1,
    channels: { 4: 8, 8: 6, 16: 4 },
  }, 11);
  const g = new StyleGAN2(weights);
  const L = weights.numLatents, D = 32;
  const rng = new Rng(2);
  const w0 = tf.tensor3d(rng.normals(2 * L * D), [2, L, D]);
  const probe = tf.tensor4d(rng.normals(2 * 16 * 16 * 3), [2, 16, 16, 3]);
  const loss = (w: tf.Tensor3D) => tf.sum(tf.mul(g.synthesize(w), probe)) as tf.Scalar;
  const errors: number[] = [];
  for (let row = 0; row < L; row++) {
    // A direction that moves only this row: checks every row's path to the image.
    const v = new Float32Array(2 * L * D);
    const r = rng.normals(2 * D);
    for (let b = 0; b < 2; b++) v.set(r.subarray(b * D, (b + 1) * D), (b * L + row) * D);
    const res = directional(loss, w0, tf.tensor3d(v, [2, L, D]), 1e-3);
    assert(Math.abs(res.analytic) > 0.1, `row ${row} barely reaches the image (${res.analytic})`);
    errors.push(Math.abs(res.analytic - res.numeric) / Math.abs(res.numeric));
  }
  // Random weights make a very non-linear network whose leaky ReLUs sit near their kinks, so a
  // float32 finite difference carries a few percent of noise; a wrong gradient is off by far more.
  errors.sort((a, b) => a - b);
  assert(errors[Math.floor(L / 2)] < 0.01, `median relative error ${errors[Math.floor(L / 2)]}`);
  assert(errors[L - 1] < 0.1, `largest relative error ${errors[L - 1]} (${errors})`);
  tf.dispose([w0, probe]);
  g.dispose();
});

Deno.test("stylegan2: config-f shapes: 30.4M parameters, ~150 GFLOP per 1024 render", () => {
  const w = randomGeneratorWeights({ size: 1024, channels: rosinalityChannels(2), nMlp: 8 }, 0);
  const params = countGeneratorParameters(w);
  assert(Math.abs(params - 30.37e6) < 0.1e6, `parameters ${params}`);
  const gflop = generatorFlops(w) / 1e9;
  assert(gflop > 140 && gflop < 160, `GFLOP ${gflop}`);
});

Deno.test("stylegan2: fresh noise is seeded; bad latents and bad files give named errors", async () => {
  const weights = randomGeneratorWeights({
    size: 8,
    styleDim: 16,
    nMlp: 1,
    channels: { 4: 4, 8: 4 },
  }, 1);
  const g = new StyleGAN2(weights);
  const w = tf.tensor3d(new Rng(0).normals(1 * 4 * 16), [1, 4, 16]);
  const a = g.synthesize(w, { noise: "random", noiseSeed: 3 }).dataSync();
  const b = g.synthesize(w, { noise: "random", noiseSeed: 3 }).dataSync();
  const c = g.synthesize(w, { noise: "random", noiseSeed: 4 }).dataSync();
  assertEquals(Array.from(a), Array.from(b));
  assert(Array.from(a).some((v, i) => v !== c[i]), "another seed gives other noise");
  assertThrows(
    () => g.synthesize(tf.zeros([1, 18, 16]) as tf.Tensor3D),
    "wPlus",
    "[N, 4, 16]",
    "[1, 18, 16]",
  );
  assertThrows(() => g.synthesize(w, { size: 3 }), "size", "power of two");
  g.dispose();
  await assertRejects(
    () => readGeneratorWeights(`${FIX}idstyle_official.ckpt`),
    "idstyle_official.ckpt",
    "not a StyleGAN2 generator",
    "input.input",
  );
  await assertRejects(() => readGeneratorWeights(`${FIX}nothing.pt`), "nothing.pt");
});
