/**
 * The StyleGAN2 port against the outputs rosinality's PyTorch code computed from the same file
 * (tests/fixtures/real/, a narrowed config-f generator: 1024 px, 18 rows, every layer): the
 * mapping, the pooled render, a full-size crop and a truncated render, in tfjs and in
 * onnxruntime; its gradient with respect to W+ against finite differences; bad files.
 */
import {
  assert,
  assertEquals,
  assertMatchesReference,
  assertRejects,
  assertThrows,
  tf,
} from "./_util.ts";
import { readNpy } from "../lib/io/npy.ts";
import { readGeneratorWeights } from "../lib/world/stylegan2/load.ts";
import { StyleGAN2 } from "../lib/world/stylegan2/generator.ts";
import {
  Blur,
  disposeModConv,
  type ModConv,
  modulatedConv,
  prepareModConv,
  prepareStyledConv,
  prepareToRgb,
  SkipUpsample,
  styleOf,
  toRgb,
} from "../lib/world/stylegan2/ops.ts";
import { exportGeneratorOnnx, OrtGenerator } from "../lib/world/stylegan2/onnx.ts";
import { randomGeneratorWeights, rosinalityChannels } from "../lib/world/stylegan2/random.ts";
import {
  countGeneratorParameters,
  defaultBlurKernel,
  type ModConvWeights,
  type StyleGAN2Weights,
} from "../lib/world/stylegan2/weights.ts";
import { generatorFlops } from "../lib/world/stylegan2/flops.ts";
import { Rng } from "../lib/util/rng.ts";

const FIX = new URL("./fixtures/real/", import.meta.url).pathname;
const npy = async (name: string) => (await readNpy(`${FIX}${name}`)).data as Float32Array;

const assertMatches = assertMatchesReference;

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

/** upfirdn2d(x, kernel, pad) as a plain convolution: [4, 4, C, C], the flipped kernel on the diagonal. */
function referenceBlur(x: tf.Tensor4D, kernel: Float32Array, pad: [number, number]): tf.Tensor4D {
  const C = x.shape[3], f = new Float32Array(16 * C * C);
  for (let t = 0; t < 16; t++) for (let c = 0; c < C; c++) f[(t * C + c) * C + c] = kernel[15 - t];
  const p = tf.pad(x, [[0, 0], pad, pad, [0, 0]]) as tf.Tensor4D;
  return tf.conv2d(p, tf.tensor4d(f, [4, 4, C, C]), 1, "valid");
}

/**
 * The up-sampling layer as rosinality writes it: the modulated input, conv_transpose2d (stride 2)
 * by the transposed 3x3 kernel, upfirdn2d(kernel, pad=(1, 1)), demodulation.
 */
function referenceUpsampleConv(
  m: ModConvWeights,
  conv: ModConv,
  kernel: Float32Array,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
): tf.Tensor4D {
  const { cin, cout } = m;
  const [N, H, W] = x.shape;
  const filter = new Float32Array(9 * cout * cin); // [ky, kx, Cout, Cin]
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      for (let t = 0; t < 9; t++) {
        filter[(t * cout + o) * cin + i] = m.weight[(o * cin + i) * 9 + t] / Math.sqrt(9 * cin);
      }
    }
  }
  const s = styleOf(conv, w);
  const xs = tf.mul(x, tf.reshape(s, [N, 1, 1, cin])) as tf.Tensor4D;
  const f = tf.tensor4d(filter, [3, 3, cout, cin]);
  const z = tf.conv2dTranspose(xs, f, [N, 2 * H + 1, 2 * W + 1, cout], 2, "valid");
  const d = tf.rsqrt(tf.add(tf.matMul(tf.square(s), conv.weightSq), 1e-8));
  return tf.mul(referenceBlur(z, kernel, [1, 1]), tf.reshape(d, [N, 1, 1, cout]));
}

/** max |a - b| <= tol x max |b|. */
function assertNear(a: tf.Tensor, b: tf.Tensor, tol: number, what: string) {
  assertEquals(a.shape, b.shape, `${what}: shape`);
  const x = a.dataSync(), y = b.dataSync();
  let d = 0, m = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  assert(m > 0 && d <= tol * m, `${what}: max |diff| ${d} vs ${tol} x ${m}`);
}

Deno.test("stylegan2: the up-sampling layers by phases equal conv_transpose2d + upfirdn2d, in value and gradient", () => {
  const rng = new Rng(7);
  const ramp = (a: number[], b: number[]) =>
    Float32Array.from({ length: 16 }, (_, t) => a[t >> 2] * b[t & 3]);
  const kernels = {
    "[1, 3, 3, 1]": defaultBlurKernel(),
    "rank one, asymmetric": ramp([1, 2, 5, 1], [3, 1, 1, 2]).map((v) => v / 20),
    "full rank": Float32Array.from(rng.normals(16), (v) => 0.25 + 0.1 * v),
  };
  assert(new Blur(kernels["[1, 3, 3, 1]"]).factors !== null, "[1, 3, 3, 1] is separable");
  assert(new Blur(kernels["rank one, asymmetric"]).factors !== null, "a rank-one kernel is");
  assert(new Blur(kernels["full rank"]).factors === null, "a full-rank kernel is not");
  const cases = [
    { kernel: "[1, 3, 3, 1]", n: 2, h: 5, w: 7, cin: 6, cout: 4 },
    { kernel: "[1, 3, 3, 1]", n: 1, h: 4, w: 4, cin: 16, cout: 24 },
    { kernel: "rank one, asymmetric", n: 2, h: 3, w: 6, cin: 5, cout: 3 },
    { kernel: "full rank", n: 2, h: 4, w: 3, cin: 4, cout: 5 },
  ] as const;
  const D = 12;
  for (const c of cases) {
    const what = `${c.kernel}, [${c.n}, ${c.h}, ${c.w}, ${c.cin}] -> ${c.cout}`;
    const weights: ModConvWeights = {
      weight: rng.normals(c.cout * c.cin * 9),
      cin: c.cin,
      cout: c.cout,
      k: 3,
      modWeight: rng.normals(c.cin * D),
      modBias: Float32Array.from(rng.normals(c.cin), (v) => 1 + 0.3 * v),
    };
    const conv = prepareModConv(weights, D, { upsample: true, demodulate: true });
    const kernel = kernels[c.kernel];
    const blur = new Blur(kernel);
    tf.tidy(() => {
      const x = tf.tensor4d(rng.normals(c.n * c.h * c.w * c.cin), [c.n, c.h, c.w, c.cin]);
      const w = tf.tensor2d(rng.normals(c.n * D), [c.n, D]);
      const probe = tf.tensor4d(rng.normals(c.n * 4 * c.h * c.w * c.cout), [
        c.n,
        2 * c.h,
        2 * c.w,
        c.cout,
      ]);
      const ours = (xx: tf.Tensor4D, ww: tf.Tensor2D) => modulatedConv(conv, xx, ww, blur);
      const ref = (xx: tf.Tensor4D, ww: tf.Tensor2D) =>
        referenceUpsampleConv(weights, conv, kernel, xx, ww);
      assertNear(ours(x, w), ref(x, w), 1e-5, `${what}: value`);
      const grads = (f: typeof ours) =>
        tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
          tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor2D), probe))
        )([x, w]);
      const [gx, gw] = grads(ours), [rx, rw] = grads(ref);
      assertNear(gx, rx, 1e-5, `${what}: d/d input`);
      assertNear(gw, rw, 1e-5, `${what}: d/d style`);
    });
    blur.dispose();
    disposeModConv(conv);
  }
  // ToRGB's skip: upfirdn2d(up=2, pad=(2, 1)) as a transposed 4x4 convolution cropped by one.
  for (const name of ["[1, 3, 3, 1]", "full rank"] as const) {
    const kernel = kernels[name];
    const up = new SkipUpsample(kernel);
    tf.tidy(() => {
      const f = new Float32Array(16 * 9);
      for (let t = 0; t < 16; t++) for (let c = 0; c < 3; c++) f[t * 9 + c * 3 + c] = kernel[t];
      const ref = (x: tf.Tensor4D) => {
        const [N, H, W] = x.shape;
        const y = tf.conv2dTranspose(
          x,
          tf.tensor4d(f, [4, 4, 3, 3]),
          [N, 2 * H + 2, 2 * W + 2, 3],
          2,
          "valid",
        );
        return tf.slice(y, [0, 1, 1, 0], [N, 2 * H, 2 * W, 3]);
      };
      const x = tf.tensor4d(rng.normals(2 * 5 * 6 * 3), [2, 5, 6, 3]);
      const probe = tf.tensor4d(rng.normals(2 * 10 * 12 * 3), [2, 10, 12, 3]);
      assertNear(up.apply(x), ref(x), 1e-6, `skip, ${name}: value`);
      const grad = (g: (x: tf.Tensor4D) => tf.Tensor) =>
        tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(g(xx as tf.Tensor4D), probe)))(x);
      assertNear(grad((xx) => up.apply(xx)), grad(ref), 1e-6, `skip, ${name}: gradient`);
    });
    up.dispose();
  }
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
