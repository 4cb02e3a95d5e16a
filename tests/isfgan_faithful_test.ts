/**
 * The faithful ISF-GAN: StarGAN-v2 discriminator shapes and parameter formula, its twice
 * differentiable ops, R1 against finite differences, the attribute-agnostic perceptual distance
 * (and what an InterFaceGAN flip costs in it against the class reward), the schedule, a smoke run
 * with a stable tensor count, resuming that repeats an uninterrupted run, and the diagnosis of
 * whether a mapping listens to its target code (closed cases).
 */
import { assert, assertClose, assertEquals, tf } from "./_util.ts";
import {
  avgPool2,
  ISF_DISC_64,
  IsfDiscriminator,
  isfDiscriminatorParameters,
  isfDiscriminatorWidths,
  lrelu,
} from "../lib/baselines/isfgan_discriminator.ts";
import {
  INTERFACEGAN_RAW_DISTANCE,
  PAPER_INTERFACEGAN_LPIPS,
  RandomLpips,
} from "../lib/baselines/isfgan_perceptual.ts";
import { ISFGAN, ISFGAN_QUICK, isfR1Weight } from "../lib/baselines/isfgan_config.ts";
import { isfLearningRate } from "../lib/baselines/isfgan_optim.ts";
import { positiveWeights, trainIsfGan } from "../lib/baselines/isfgan_train.ts";
import { IsfGanEditor } from "../lib/baselines/isfgan.ts";
import { flipCosts } from "../lib/baselines/isfgan_flipcost.ts";
import { InterFaceGANEditor } from "../lib/baselines/interfacegan.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { quickDataset } from "../lib/data/quick.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { BASELINES_DIR } from "../lib/baselines/paths.ts";
import { Rng } from "../lib/util/rng.ts";
import { ISF_DEFAULT, IsfMapping } from "../lib/baselines/isfgan_model.ts";
import { targetSensitivity, termGradientNorms } from "../lib/baselines/isfgan_diagnose.ts";
import { mappingTerms } from "../lib/baselines/isfgan_losses.ts";

Deno.test("ISF-GAN discriminator: StarGAN-v2 widths, parameter formula, output shapes", () => {
  // Their 256 px discriminator: 64, 128, 256, 512, 512, 512, 512 (six ResBlks).
  const theirs = { resolution: 256, dimIn: 64, maxConvDim: 512, domains: 4 };
  assertEquals(isfDiscriminatorWidths(theirs), [64, 128, 256, 512, 512, 512, 512]);
  // By hand: stem 3*9*64+64; ResBlk a->b: 9a^2+a + 9ab+b (+ab when a != b); heads 16C^2+C + C*out+out.
  const blk = (a: number, b: number) => 9 * a * a + a + 9 * a * b + b + (a !== b ? a * b : 0);
  const heads = (C: number) => 2 * (16 * C * C + C) + (C * 4 + 4) + (C + 1);
  const hand = 3 * 9 * 64 + 64 + blk(64, 128) + blk(128, 256) + blk(256, 512) +
    3 * blk(512, 512) + heads(512);
  assertEquals(isfDiscriminatorParameters(theirs), hand);
  assert(hand > 24e6 && hand < 27e6, `their discriminator: ${hand} parameters (about 25M)`);
  // Ours at 64 px.
  const cfg = { ...ISF_DISC_64, domains: 4, seed: 3 };
  assertEquals(isfDiscriminatorWidths(cfg), [16, 32, 64, 128, 128]);
  const d = new IsfDiscriminator(cfg);
  assertEquals(d.countParameters(), isfDiscriminatorParameters(cfg));
  assertEquals(d.countParameters(), 977_045);
  const out = d.forward(tf.randomUniform([3, 64, 64, 3], -1, 1) as tf.Tensor4D);
  assertEquals(out.cls.shape, [3, 4]);
  assertEquals(out.src.shape, [3]);
  tf.dispose([out.cls, out.src]);
  let threw = false;
  try {
    d.forward(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D);
  } catch (e) {
    threw = /expected \[N, 64, 64, 3\]/.test((e as Error).message);
  }
  assert(threw, "a wrong input size is refused with the expected shape");
  d.dispose();
});

Deno.test("ISF-GAN discriminator ops: avgPool2 = avg_pool2d, lrelu = leaky ReLU 0.2", () => {
  const x = tf.randomNormal([2, 8, 6, 5]) as tf.Tensor4D;
  assertClose(avgPool2(x).dataSync(), tf.avgPool(x, 2, 2, "valid").dataSync(), 1e-6);
  assertClose(lrelu(x).dataSync(), tf.leakyRelu(x, 0.2).dataSync(), 1e-6);
  x.dispose();
});

/** R1 of a tiny discriminator (8 px, one ResBlk) and its parameter gradient. */
function r1Setup() {
  const d = new IsfDiscriminator({ resolution: 8, dimIn: 3, maxConvDim: 4, domains: 2, seed: 9 });
  // PyTorch's default init makes R1 tiny here; larger weights give values a tolerance can judge.
  d.variables.forEach((v) => v.assign(tf.tidy(() => tf.mul(v, 4))));
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, "float32", 5) as tf.Tensor4D;
  const sumCls = (xx: tf.Tensor) => tf.sum(d.forward(xx as tf.Tensor4D).cls);
  const r1 = () =>
    tf.tidy(() => tf.mul(tf.mean(tf.sum(tf.square(tf.grad(sumCls)(x)), [1, 2, 3])), 0.5));
  return { d, x, sumCls, r1 };
}

Deno.test("R1: the input gradient and the parameter gradient agree with finite differences", () => {
  const { d, x, sumCls, r1 } = r1Setup();
  const rng = new Rng(4);
  // One coordinate at a time (a random direction crosses the leaky ReLUs' kinks too soon).
  const gx = tf.grad(sumCls)(x).dataSync();
  for (let k = 0; k < 5; k++) {
    const idx = rng.int(0, x.size - 1), eps = 1e-2;
    const e = new Float32Array(x.size);
    e[idx] = eps;
    const fd = tf.tidy(() => {
      const u = tf.tensor(e, x.shape);
      return (sumCls(tf.add(x, u)).dataSync()[0] - sumCls(tf.sub(x, u)).dataSync()[0]) / (2 * eps);
    });
    assertClose(fd, gx[idx], 1e-3 + 1e-2 * Math.abs(gx[idx]));
  }
  // d R1 / d theta (the second derivative the D step needs), at the largest entries of a few
  // parameter tensors; those R1 does not depend on (the real/fake head) have no gradient.
  const { value, grads } = tf.variableGrads(r1 as () => tf.Scalar, d.variables);
  const r = value.dataSync()[0];
  assert(r > 1, `R1 ${r}`);
  let checked = 0;
  d.variables.forEach((v, i) => {
    const g = grads[v.name];
    if (!g || !/conv|out_cls\.1\.weight/.test(d.names[i])) return;
    const gd = g.dataSync();
    let j = 0;
    for (let k = 1; k < gd.length; k++) if (Math.abs(gd[k]) > Math.abs(gd[j])) j = k;
    const orig = v.dataSync().slice();
    const at = (delta: number) => {
      const p = orig.slice();
      p[j] += delta;
      v.assign(tf.tensor(p, v.shape));
      const t = r1();
      const out = t.dataSync()[0];
      t.dispose();
      return out;
    };
    const eps = 1e-3, fd = (at(eps) - at(-eps)) / (2 * eps);
    v.assign(tf.tensor(orig, v.shape));
    assertClose(fd, gd[j], 1e-3 * r + 2e-2 * Math.abs(gd[j]), 0, d.names[i]);
    checked++;
  });
  assert(checked >= 5, `checked ${checked} parameter tensors`);
  assertEquals(grads[d.variables[d.names.indexOf("out_src.3.weight")].name] ?? null, null);
  tf.dispose([value, grads, x]);
  d.dispose();
});

Deno.test("R1 weight (64/256)^2 = 1/16, and timm's cosine schedule with warm-up", () => {
  assertEquals(isfR1Weight(ISFGAN), 1 / 16);
  assertEquals(isfR1Weight({ ...ISFGAN, resolution: 256 }), 1);
  const c = { ...ISFGAN, warmupSteps: 10, lr: 1e-4, warmupLrInit: 5e-7, minLr: 5e-6 };
  assertClose(isfLearningRate(c, 0, 100), 5e-7, 1e-12);
  assertClose(isfLearningRate(c, 5, 100), 5e-7 + 0.5 * (1e-4 - 5e-7), 1e-12);
  assertClose(isfLearningRate(c, 50, 100), 5e-6 + 0.5 * (1e-4 - 5e-6), 1e-12);
  assertClose(isfLearningRate(c, 100, 100), 5e-6, 1e-12);
});

Deno.test("perceptual distance: zero for identical images, symmetric, grows with the change", () => {
  const lp = new RandomLpips();
  const a = tf.randomUniform([3, 64, 64, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const b = tf.randomUniform([3, 64, 64, 3], -1, 1, "float32", 2) as tf.Tensor4D;
  const near = tf.tidy(() =>
    tf.clipByValue(tf.add(a, tf.mul(tf.sub(b, a), 0.1)), -1, 1)
  ) as tf.Tensor4D;
  const same = lp.distance(a, a).dataSync();
  const ab = lp.distance(a, b).dataSync(), ba = lp.distance(b, a).dataSync();
  const an = lp.distance(a, near).dataSync();
  for (let i = 0; i < 3; i++) {
    assertClose(same[i], 0, 1e-6);
    assertClose(ab[i], ba[i], 1e-6);
    assert(ab[i] > an[i] && an[i] > 0, `d(a, b) ${ab[i]} > d(a, near) ${an[i]} > 0`);
  }
  tf.dispose([a, b, near]);
  lp.dispose();
});

Deno.test("an InterFaceGAN flip costs well below the class reward in the perceptual terms", async () => {
  const world = await loadSynthFace({ evaluators: ["classifier"] });
  const ds = await loadDataset();
  const ifg = await InterFaceGANEditor.load(`${BASELINES_DIR}/interfacegan.safetensors`);
  const lp = new RandomLpips();
  const N = 64;
  const w = tf.tidy(() => world.toWPlus(tf.tensor2d(ds.test.w.subarray(0, N * 512), [N, 512])));
  const rows = flipCosts(world, w, ifg, lp, {
    posWeights: positiveWeights(ds.train.labels, world.attributes.length),
  });
  console.table(rows.map((r) => ({
    attribute: r.attribute,
    "P cost (lambda 1)": r.cost.toFixed(3),
    "raw distance": r.raw.toFixed(3),
    "class reward": r.reward.toFixed(3),
    "reward, logits +-1": r.rewardAtUnitLogits.toFixed(3),
    "needed flips": r.flips,
    "flipped %": (100 * r.flipped).toFixed(0),
    "cut-down P (classifier features)": r.classifierFeatureCost.toFixed(3),
  })));
  const meanRaw = rows.reduce((s, r) => s + r.raw, 0) / rows.length;
  // The calibration constant is what this measures (the module comment states the numbers).
  assertClose(meanRaw, INTERFACEGAN_RAW_DISTANCE, 0.05 * INTERFACEGAN_RAW_DISTANCE);
  assertClose(rows.reduce((s, r) => s + r.cost, 0) / rows.length, PAPER_INTERFACEGAN_LPIPS, 0.01);
  for (const r of rows) {
    assert(r.cost < r.reward / 2, `${r.attribute}: cost ${r.cost} reward ${r.reward}`);
  }
  tf.dispose(w);
  lp.dispose();
  ifg.dispose();
});

/** A tiny configuration for smoke and resume runs on the quick dataset. */
const TINY = { ...ISFGAN_QUICK, mappingHidden: 32, disc: { dimIn: 4, maxConvDim: 8 } };

Deno.test("ISF-GAN training smoke run: finite losses, checks logged, stable tensor count", async () => {
  const world = await loadSynthFace({ evaluators: ["classifier"] });
  const ds = await quickDataset(world);
  tf.tidy(() => world.classifier(world.synthesize(ds.test.latents.batch([0])))); // the world's lazy constants
  const before = tf.memory().numTensors;
  const r = await trainIsfGan(world, ds, TINY, { silent: true });
  assertEquals(r.steps, 3);
  assertEquals(r.losses.length, 3);
  for (const row of r.losses) {
    for (const [k, v] of Object.entries(row)) assert(Number.isFinite(v), `${k} = ${v}`);
    for (
      const k of ["d_cls", "d_r1", "d_real", "d_fake", "cls", "adv", "lpips", "lpipsCyc", "ds"]
    ) {
      assert(k in row, `loss row has ${k}`);
    }
  }
  assertEquals(r.checks.map((c) => c.step), [2, 3]);
  for (const c of r.checks) {
    assertEquals(Object.keys(c.classAccuracy), [...world.attributes]);
    assert(Object.values(c.classAccuracy).every((a) => a >= 0 && a <= 1));
  }
  const editor = new IsfGanEditor(r.mapping, world);
  const w = ds.test.latents.batch([0, 1]);
  const e = editor.editAttribute(w, 1, [1, -1]);
  assertEquals(e.shape, [2, 18, 512]);
  tf.dispose([w, e]);
  r.mapping.dispose();
  assertEquals(tf.memory().numTensors, before, "no tensors left behind");
});

Deno.test("ISF-GAN resume: an interrupted run continues to the uninterrupted run's parameters", async () => {
  const world = await loadSynthFace({ evaluators: ["classifier"] });
  const ds = await quickDataset(world);
  const dir = await Deno.makeTempDir();
  const statePath = `${dir}/state.safetensors`;
  try {
    const full = await trainIsfGan(world, ds, TINY, { silent: true });
    const part = await trainIsfGan(world, ds, TINY, { silent: true, statePath, stopAfter: 2 });
    assertEquals(part.steps, 2);
    part.mapping.dispose();
    const rest = await trainIsfGan(world, ds, TINY, { silent: true, statePath });
    assertEquals(rest.resumedFrom, 2);
    assertEquals(rest.steps, 3);
    full.mapping.variables.forEach((v, i) =>
      assertClose(rest.mapping.variables[i].dataSync(), v.dataSync(), 1e-6)
    );
    assertEquals(rest.losses, full.losses);
    assertEquals(
      rest.checks.map((c) => c.classAccuracy),
      full.checks.map((c) => c.classAccuracy),
    );
    full.mapping.dispose();
    rest.mapping.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the shipped checkpoint is the faithful run and loads as an editor", async () => {
  const path = `${BASELINES_DIR}/isfgan.safetensors`;
  if (!(await Deno.stat(path).then(() => true, () => false))) return;
  const metrics = JSON.parse(
    await Deno.readTextFile(path.replace(".safetensors", ".metrics.json")),
  );
  assertEquals(metrics.variant, "faithful");
  assertEquals(metrics.discriminatorParameters, 977_045);
  const world = await loadSynthFace({ evaluators: ["classifier"] });
  const e = await IsfGanEditor.load(path, world);
  assertEquals(e.countParameters(), 16_327_168);
  e.mapping.dispose();
});

Deno.test("target sensitivity: zero where the code cannot reach the output, by construction", () => {
  const cfg = { ...ISF_DEFAULT, hidden: 32, rows: 3, latentDim: 8, domains: 4, seed: 5 };
  const B = 6, M = 4, L = 3, D = 8, R = ISF_DEFAULT.noiseDim;
  const w = tf.tensor3d(new Rng(1).normals(B * L * D), [B, L, D]);
  const labels = Array.from({ length: B * M }, (_, k) => (k * 7) % 3 === 0 ? 1 : 0);
  // A residual mapping whose last layer is zero returns w: displacement and sensitivity 0.
  const res = new IsfMapping({ ...cfg, residual: true });
  for (const v of res.variables.slice(-2)) v.assign(tf.zerosLike(v));
  const r0 = targetSensitivity(res, w, labels);
  assertEquals(r0.displacement, 0);
  assertEquals(r0.sensitivity, [0, 0, 0, 0]);
  // With the trunk's weights for y zeroed, y cannot reach the output: sensitivity exactly 0 while
  // the mapping still moves w.
  const m = new IsfMapping(cfg);
  const w0 = m.variables[0]; // [R + M, H]: rows R.. are y's
  w0.assign(tf.concat([tf.slice(w0, [0, 0], [R, -1]), tf.zeros([M, cfg.hidden])]));
  const deaf = targetSensitivity(m, w, labels);
  assert(deaf.displacement > 0.1, `displacement ${deaf.displacement}`);
  assertEquals(deaf.sensitivity, [0, 0, 0, 0]);
  // A random initial mapping hears each attribute a little, and more than nothing.
  const init = new IsfMapping(cfg);
  const fresh = targetSensitivity(init, w, labels);
  for (const s of fresh.sensitivity) assert(s > 1e-4 && s < fresh.displacement, `sensitivity ${s}`);
  let threw = false;
  try {
    targetSensitivity(m, w, labels.slice(1));
  } catch (e) {
    threw = /labels: expected 6 x 4 = 24 values, got 23/.test((e as Error).message);
  }
  assert(threw, "a wrong label count is refused with its sizes");
  for (const x of [res, m, init]) x.dispose();
  w.dispose();
});

Deno.test("term gradient norms: the code rows' gradient matches central differences", async () => {
  const world = await loadSynthFace({ evaluators: ["classifier"] });
  const ds = await quickDataset(world);
  const cfg = { ...TINY, lambda: { ...TINY.lambda, nb: 1 } };
  const M = world.attributes.length, B = 2, R = ISF_DEFAULT.noiseDim;
  const mapping = new IsfMapping({
    ...ISF_DEFAULT,
    hidden: cfg.mappingHidden,
    domains: M,
    seed: 4,
  });
  const disc = new IsfDiscriminator({
    ...cfg.disc,
    resolution: cfg.resolution,
    domains: M,
    seed: 2,
  });
  const lpips = new RandomLpips(cfg.perceptual);
  const posWeight = tf.tensor1d(positiveWeights(ds.train.labels, M));
  const nets = { world, cfg, mapping, disc, lpips, posWeight };
  const rng = new Rng(8);
  const w = ds.train.latents.batch([0, 1]);
  const batch = {
    w,
    x: world.synthesize(w, { resolution: cfg.resolution }),
    ySrc: tf.tensor2d(ds.train.labels.slice(0, B * M), [B, M]),
    yTrg: tf.tensor2d(Array.from({ length: B * M }, (_, k) => k % 3 === 0 ? 1 : 0), [B, M]),
    z: [0, 1, 2, 3].map(() => tf.tensor2d(rng.normals(B * R), [B, R])),
  };
  const norms = termGradientNorms(nets, batch);
  assertEquals(Object.keys(norms), [
    "cls",
    "adv",
    "nb",
    "latCyc",
    "srcCyc",
    "lpipsCyc",
    "lpips",
    "ds",
  ]);
  for (const [k, g] of Object.entries(norms)) {
    assert(g.total >= g.output && g.total >= g.code, `${k}: ${JSON.stringify(g)}`);
  }
  // nb (a latent-space term): its derivative along the reported code gradient's direction, by
  // central differences, is that gradient's norm (a wrong direction or size would not match).
  const { weight, firstRow } = mapping.codeInput;
  const base = weight.dataSync().slice() as Float32Array;
  const H = cfg.mappingHidden, eps = 1e-2, g = norms.nb.codeGradient;
  assertEquals(g.length, M * H);
  assertClose(Math.hypot(...g), norms.nb.code, 1e-6, 1e-5);
  const nbAt = (t: number) => {
    const v = base.slice();
    for (let i = 0; i < M * H; i++) v[firstRow * H + i] += (t * g[i]) / norms.nb.code;
    weight.assign(tf.tensor(v, weight.shape));
    return tf.tidy(() => mappingTerms(nets, batch).nb.dataSync()[0]);
  };
  const fd = (nbAt(eps) - nbAt(-eps)) / (2 * eps);
  weight.assign(tf.tensor(base, weight.shape));
  assertClose(fd, norms.nb.code, 0, 0.02, "nb's derivative along its code gradient");
  assert(norms.nb.code > 1e-6, `nb code gradient ${norms.nb.code}`);
  for (const x of [mapping, disc, lpips]) x.dispose();
  tf.dispose([posWeight, batch.x, batch.ySrc, batch.yTrg, ...batch.z, w]);
});
