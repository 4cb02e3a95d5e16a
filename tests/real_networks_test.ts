/**
 * The authors' identity network (TreB1eN's IR-SE50 behind `IDLoss.extract_feats`) and attribute
 * classifier (StarGAN-v2's discriminator, `out_cls`) against the outputs the upstream PyTorch
 * code computed from the same files (tests/fixtures/real/, narrowed widths), in tfjs and in
 * onnxruntime; PyTorch's adaptive average pooling against its formula; gradients on wasm and a
 * finite-difference check; bad files.
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
import { readTorch, stateDictAt } from "../lib/io/torch.ts";
import {
  adaptiveAvgPool,
  avgPool,
  IrSe,
  IrSeFormatError,
  loadIrSe,
  readIrSeWeights,
} from "../lib/world/real/irse.ts";
import { parseIrSe } from "../lib/world/real/irse_weights.ts";
import {
  ClassifierFormatError,
  loadStarGanClassifier,
  parseStarGanDiscriminator,
  readClassifierWeights,
  StarGanClassifier,
} from "../lib/world/real/stargan_d.ts";
import {
  exportClassifierOnnx,
  exportIrSeOnnx,
  OrtClassifier,
  OrtIrSe,
} from "../lib/world/real/onnx.ts";
import type { ArrayTensor } from "../lib/world/stylegan2/weights.ts";
import { Rng } from "../lib/util/rng.ts";

const FIX = new URL("./fixtures/real/", import.meta.url).pathname;
const npy = async (name: string) => (await readNpy(`${FIX}${name}`)).data as Float32Array;
const IRSE = `${FIX}ir_se50_w4.pth`;
const CLASSIFIER = `${FIX}classifier_nets_ema.ckpt`;

const assertMatches = assertMatchesReference;

/** The fixture's images: NCHW values and an NHWC tensor [2, 256, 256, 3]. */
async function images() {
  const nchw = await npy("identity_images_256.npy");
  const nhwc = tf.tidy(() =>
    tf.transpose(tf.tensor4d(nchw, [2, 3, 256, 256]), [0, 2, 3, 1])
  ) as tf.Tensor4D;
  return { nchw, nhwc };
}

/** Nearest-neighbour upsampling by 4 (average-pooling it back gives the image exactly). */
const up4 = (x: tf.Tensor4D) =>
  tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const t = tf.tile(tf.reshape(x, [n, h, 1, w, 1, c]), [1, 1, 4, 1, 4, 1]);
    return tf.reshape(t, [n, 4 * h, 4 * w, c]) as tf.Tensor4D;
  });

function timePerImage(label: string, ms: number, n: number) {
  console.log(`  ${label}: ${(ms / n).toFixed(1)} ms per image at 256`);
}

Deno.test("IR-SE: the fixture's depth (50), widths and strides are inferred from the file", async () => {
  const w = await readIrSeWeights(IRSE);
  assertEquals(w.depth, 50);
  assertEquals(w.units.length, 24);
  assertEquals(w.blockWidths, [16, 32, 64, 128]);
  assertEquals(w.stem.cout, 16);
  assertEquals(
    w.units.flatMap((u, i) => u.stride === 2 ? [i] : []),
    [0, 3, 7, 21],
  );
  // Unit 0 keeps its width (MaxPool(1, 2) shortcut); the other first units have a 1x1 conv.
  assertEquals(w.units.flatMap((u, i) => u.shortcut ? [i] : []), [3, 7, 21]);
  assertEquals(w.units.map((u) => u.reduced).slice(0, 4), [1, 1, 1, 2]);
  assertEquals([w.head.channels, w.head.spatial, w.embeddingDim], [128, 7, 512]);
});

Deno.test("IR-SE (tfjs and onnxruntime): embeddings match the authors' extract_feats", async () => {
  const ref = await npy("identity_features.npy");
  const { nchw, nhwc } = await images();
  const weights = await readIrSeWeights(IRSE);
  const net = new IrSe(weights);
  net.embed(nhwc).dispose(); // warm-up
  let t0 = performance.now();
  const e = net.embed(nhwc);
  const ev = e.dataSync();
  timePerImage("IR-SE tfjs-wasm (fixture widths)", performance.now() - t0, 2);
  assertEquals(e.shape, [2, 512]);
  assertMatches(ev, ref, "IR-SE tfjs");
  // The same images at 1024 (each pixel repeated 4x4) are pooled to 256 first.
  const big = up4(nhwc);
  const eBig = net.embed(big);
  assertMatches(eBig.dataSync(), ref, "IR-SE tfjs at 1024");
  const before = tf.memory().numTensors;
  net.embed(nhwc).dispose();
  assertEquals(tf.memory().numTensors, before, "tensors after embed + dispose");

  const ort = await OrtIrSe.create(exportIrSeOnnx(weights));
  await ort.embed(nchw, 2);
  t0 = performance.now();
  const eo = await ort.embed(nchw, 2);
  timePerImage("IR-SE onnxruntime, 2 threads (fixture widths)", performance.now() - t0, 2);
  assertMatches(eo, ref, "IR-SE onnxruntime");
  await ort.release();
  const ort1024 = await OrtIrSe.create(exportIrSeOnnx(weights, { size: 1024 }), 1024);
  const bigNchw = tf.tidy(() => tf.transpose(big, [0, 3, 1, 2]).dataSync() as Float32Array);
  assertMatches(await ort1024.embed(bigNchw, 2), ref, "IR-SE onnxruntime at 1024");
  await assertRejects(() => ort1024.embed(nchw, 2), "images", "1024");
  await ort1024.release();
  assertThrows(() => net.embed(tf.zeros([1, 200, 200, 3]) as tf.Tensor4D), "images", "[1, 200");
  tf.dispose([e, big, eBig, nhwc]);
  net.dispose();
});

Deno.test("classifier (tfjs and onnxruntime): out_cls logits match the authors' discriminator", async () => {
  const ref = await npy("classifier_logits.npy");
  const { nchw, nhwc } = await images();
  const weights = await readClassifierWeights(CLASSIFIER);
  assertEquals([weights.imgSize, weights.numDomains, weights.blocks.length], [256, 4, 6]);
  const net = new StarGanClassifier(weights);
  // The first image at 1024 (each pixel repeated 4x4) is pooled to 256 first; also the warm-up.
  const big = up4(tf.slice(nhwc, [0, 0, 0, 0], [1, 256, 256, 3]));
  const lBig = net.logits(big);
  assertMatches(lBig.dataSync(), ref.slice(0, 4), "classifier tfjs at 1024");
  let t0 = performance.now();
  const l = net.logits(nhwc);
  const lv = l.dataSync();
  timePerImage("classifier tfjs-wasm (fixture widths)", performance.now() - t0, 2);
  assertEquals(l.shape, [2, 4]);
  assertMatches(lv, ref, "classifier tfjs");
  const before = tf.memory().numTensors;
  net.logits(nhwc).dispose();
  assertEquals(tf.memory().numTensors, before, "tensors after logits + dispose");

  const ort = await OrtClassifier.create(exportClassifierOnnx(weights));
  await ort.logits(nchw, 2);
  t0 = performance.now();
  const lo = await ort.logits(nchw, 2);
  timePerImage("classifier onnxruntime, 2 threads (fixture widths)", performance.now() - t0, 2);
  assertMatches(lo, ref, "classifier onnxruntime");
  await ort.release();
  tf.dispose([l, big, lBig, nhwc]);
  net.dispose();
});

/** A random discriminator state_dict whose widths grow (learned 1x1 shortcuts), at 32 px. */
function randomDiscriminator(widths: number[], numDomains: number, seed: number) {
  const rng = new Rng(seed);
  const m = new Map<string, ArrayTensor>();
  const put = (name: string, shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(name, { shape, data: rng.normals(n).map((v) => v * scale) });
  };
  const conv = (name: string, o: number, i: number, k: number, bias = true) => {
    put(`${name}.weight`, [o, i, k, k], 1 / Math.sqrt(i * k * k));
    if (bias) put(`${name}.bias`, [o], 0.1);
  };
  conv("main.0", widths[0], 3, 3);
  for (let b = 1; b < widths.length; b++) {
    const [i, o] = [widths[b - 1], widths[b]];
    conv(`main.${b}.conv1`, i, i, 3);
    conv(`main.${b}.conv2`, o, i, 3);
    if (i !== o) conv(`main.${b}.conv1x1`, o, i, 1, false);
  }
  const c = widths[widths.length - 1];
  conv("out_cls.1", c, c, 4);
  conv("out_cls.3", numDomains, c, 1);
  return m;
}

Deno.test("classifier: learned shortcuts (widths that grow) agree in tfjs and onnxruntime", async () => {
  const w = parseStarGanDiscriminator(randomDiscriminator([4, 8, 16, 16], 3, 7), "random");
  assertEquals([w.imgSize, w.numDomains], [32, 3]);
  assertEquals(w.blocks.map((b) => b.shortcut !== null), [true, true, false]);
  const x = new Rng(2).normals(3 * 32 * 32 * 3).map((v) => Math.tanh(v));
  const net = new StarGanClassifier(w);
  const ref = tf.tidy(() => net.logits(tf.tensor4d(x, [3, 32, 32, 3])).dataSync());
  const nchw = tf.tidy(() =>
    tf.transpose(tf.tensor4d(x, [3, 32, 32, 3]), [0, 3, 1, 2]).dataSync() as Float32Array
  );
  const ort = await OrtClassifier.create(exportClassifierOnnx(w), 32, 3);
  assertMatches(await ort.logits(nchw, 3), ref, "random classifier onnxruntime vs tfjs");
  await ort.release();
  net.dispose();
});

/** PyTorch's AdaptiveAvgPool2d, as its documentation states it, by direct loops (NHWC). */
function adaptivePoolLoop(x: Float32Array, [n, h, w, c]: number[], oh: number, ow: number) {
  const out = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r0 = Math.floor((i * h) / oh), r1 = Math.ceil(((i + 1) * h) / oh);
      for (let j = 0; j < ow; j++) {
        const c0 = Math.floor((j * w) / ow), c1 = Math.ceil(((j + 1) * w) / ow);
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let y = r0; y < r1; y++) {
            for (let z = c0; z < c1; z++) s += x[((b * h + y) * w + z) * c + ch];
          }
          out[((b * oh + i) * ow + j) * c + ch] = s / ((r1 - r0) * (c1 - c0));
        }
      }
    }
  }
  return out;
}

Deno.test("adaptive average pooling equals PyTorch's formula (188 -> 112 and uneven cases)", () => {
  const cases: [number[], number, number][] = [
    [[2, 188, 188, 3], 112, 112],
    [[1, 23, 17, 2], 7, 5],
    [[1, 5, 9, 1], 7, 9], // output larger than input along rows
  ];
  for (const [shape, oh, ow] of cases) {
    const x = new Rng(shape[1]).normals(shape.reduce((a, b) => a * b, 1));
    const got = tf.tidy(() =>
      adaptiveAvgPool(tf.tensor4d(x, shape as [number, number, number, number]), oh, ow).dataSync()
    );
    const want = adaptivePoolLoop(x, shape, oh, ow);
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    assert(d < 1e-5, `${shape} -> ${oh}x${ow}: max |diff| ${d}`);
  }
  // 188 -> 112 overlaps: cell 1 averages rows 1..3 (floor(188/112) = 1, ceil(376/112) = 4).
  const ramp = Float32Array.from({ length: 188 * 188 }, (_, i) => Math.floor(i / 188));
  const col = tf.tidy(() => adaptiveAvgPool(tf.tensor4d(ramp, [1, 188, 188, 1]), 112).dataSync());
  assert(Math.abs(col[112] - 2) < 1e-6, `row cell 1 = ${col[112]}, expected mean(1, 2, 3) = 2`);
});

Deno.test("average pooling's written-out gradient equals tfjs's AvgPoolGrad", () => {
  const cases: [[number, number, number, number], number][] = [
    [[2, 9, 10, 3], 2],
    [[1, 16, 16, 2], 4],
  ];
  for (const [shape, f] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor4d(new Rng(f).normals(n), shape);
    const [, H, W, C] = shape;
    const r = tf.tensor4d(
      new Rng(9).normals(shape[0] * Math.floor(H / f) * Math.floor(W / f) * C),
      [shape[0], Math.floor(H / f), Math.floor(W / f), C],
    );
    const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(avgPool(v as tf.Tensor4D, f), r)))(x);
    const theirs = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, f, f, "valid"), r))
    )(x);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]);
    assert(d < 1e-6, `avgPool ${f} on [${shape}]: gradient max |diff| ${d}`);
    tf.dispose([x, r, ours, theirs]);
  }
});

Deno.test("gradients flow on wasm: identity loss and logits; classifier matches finite differences", async () => {
  assertEquals(tf.getBackend(), "wasm");
  const { nhwc } = await images();
  const x = tf.tidy(() => tf.slice(nhwc, [0, 0, 0, 0], [1, 256, 256, 3])) as tf.Tensor4D;
  const id = await loadIrSe(IRSE);
  const e0 = tf.tidy(() => id.embed(tf.slice(nhwc, [1, 0, 0, 0], [1, 256, 256, 3])));
  const idLoss = (v: tf.Tensor) =>
    tf.sub(1, tf.sum(tf.mul(id.embed(v as tf.Tensor4D), e0))) as tf.Scalar;
  const gId = tf.grad(idLoss)(x);
  const cls = await loadStarGanClassifier(CLASSIFIER);
  const c = tf.tensor1d([0.7, -0.4, 0.2, 0.5]);
  const clsLoss = (v: tf.Tensor) => tf.sum(tf.mul(cls.logits(v as tf.Tensor4D), c)) as tf.Scalar;
  const gCls = tf.grad(clsLoss)(x);
  for (const [name, g] of [["identity", gId], ["classifier", gCls]] as const) {
    assertEquals(g.shape, [1, 256, 256, 3]);
    const v = g.dataSync();
    let finite = true, nonzero = 0, inCrop = 0;
    for (let i = 0; i < v.length; i++) {
      finite &&= Number.isFinite(v[i]);
      if (v[i] !== 0) nonzero++;
    }
    // The identity loss sees only the crop (rows 35..222, columns 32..219).
    for (let r = 35; r < 223; r++) {
      for (let col = 32; col < 220; col++) if (v[(r * 256 + col) * 3] !== 0) inCrop++;
    }
    assert(finite, `${name}: gradient has NaN or Inf`);
    assert(nonzero > 0.5 * (name === "identity" ? 188 * 188 * 3 : v.length), `${name}: ${nonzero}`);
    if (name === "identity") {
      assertEquals(nonzero, 188 * 188 * 3, "identity: non-zero exactly inside the crop");
      assert(inCrop === 188 * 188, "identity: the crop's pixels all get gradient");
    }
  }
  // Directional derivative along a smooth direction vs central differences.
  const dir = tf.tidy(() => {
    const r = tf.linspace(0, Math.PI, 256);
    const a = tf.reshape(tf.sin(r), [1, 256, 1, 1]), b = tf.reshape(tf.cos(r), [1, 1, 256, 1]);
    return tf.mul(tf.mul(a, b), tf.tensor1d([1, -0.5, 0.25])) as tf.Tensor4D;
  });
  // Steps: small enough for the leaky ReLU / PReLU kinks (2.7 % off at 1e-2 for the
  // classifier, 0.5 % at 2e-3), large enough for float32 (the identity loss moves little).
  const checks = [["classifier", clsLoss, gCls, 2e-3], ["identity", idLoss, gId, 1e-2]] as const;
  for (const [name, f, g, h] of checks) {
    const analytic = tf.tidy(() => tf.sum(tf.mul(g, dir)).dataSync()[0]);
    const at = (s: number) =>
      tf.tidy(() => f(tf.add(x, tf.mul(dir, s)) as tf.Tensor4D).dataSync()[0]);
    const fd = (at(h) - at(-h)) / (2 * h);
    const rel = Math.abs(fd - analytic) / Math.abs(analytic);
    console.log(
      `  ${name}: directional derivative ${analytic.toExponential(4)}, central FD ${
        fd.toExponential(4)
      } (rel ${rel.toExponential(2)})`,
    );
    assert(rel < 0.03, `${name}: directional derivative ${analytic} vs finite difference ${fd}`);
  }
  tf.dispose([nhwc, x, e0, gId, gCls, c, dir]);
  id.dispose();
  cls.dispose();
});

Deno.test("bad files: each loader names what is missing in one error", async () => {
  const gen = `${FIX}stylegan2_1024.pt`;
  const e1 = await assertRejects(
    () => loadIrSe(gen),
    "stylegan2_1024.pt",
    "IR-SE",
    `missing "input_layer.0.weight"`,
    `missing the units "body.0.*"`,
    `missing "output_layer.3.weight"`,
    "g_ema.",
  );
  assert(e1 instanceof IrSeFormatError && !e1.message.includes("\n"), e1.message);
  const e2 = await assertRejects(
    () => loadStarGanClassifier(gen),
    "stylegan2_1024.pt",
    "StarGAN-v2 discriminator",
    `missing "main.0.weight"`,
    `missing the ResBlks`,
    `missing "out_cls.1.weight"`,
    `missing "out_cls.3.weight"`,
  );
  assert(e2 instanceof ClassifierFormatError && !e2.message.includes("\n"), e2.message);
  await assertRejects(() => loadIrSe(CLASSIFIER), `missing "input_layer.0.weight"`);
  await assertRejects(() => loadStarGanClassifier(IRSE), `missing "main.0.weight"`);
  // A file with the right names but one tensor misshapen and one gone: both named at once.
  const tensors = new Map<string, ArrayTensor>();
  for (const [k, t] of stateDictAt(await readTorch(IRSE), undefined, IRSE)) {
    if (t.data instanceof Float32Array) tensors.set(k, { shape: t.shape, data: t.data });
  }
  tensors.set("body.5.res_layer.1.weight", { shape: [32, 31, 3, 3], data: new Float32Array(8928) });
  tensors.delete("output_layer.3.bias");
  assertThrows(
    () => parseIrSe(tensors, "edited"),
    `"body.5.res_layer.1.weight" has shape [32, 31, 3, 3], expected [32, 32, 3, 3]`,
    `missing "output_layer.3.bias"`,
  );
  tensors.delete("body.23.res_layer.0.weight");
  for (const k of [...tensors.keys()]) if (k.startsWith("body.23.")) tensors.delete(k);
  assertThrows(() => parseIrSe(tensors, "short"), `"body" has 23 units`);
});
