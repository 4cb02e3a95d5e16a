/** The baselines: the SVM on a separable case, InterFaceGAN's edit, ISF-GAN's size and shapes. */
import { assert, assertClose, assertEquals, maxAbsDiff, tf, values } from "./_util.ts";
import { trainLinearSvm } from "../lib/baselines/svm.ts";
import { InterFaceGANEditor, trainBoundaries } from "../lib/baselines/interfacegan.ts";
import { ISF_DEFAULT, IsfMapping, isfParameterFormula } from "../lib/baselines/isfgan_model.ts";
import { Rng } from "../lib/util/rng.ts";

Deno.test("linear SVM (libsvm) recovers the normal of a separable problem with a margin", async () => {
  const rng = new Rng(1);
  const truth = [1, -2, 0.5, 0, 3], bias = 0.5;
  const n = Math.hypot(...truth);
  const x: number[][] = [], y: number[] = [];
  while (x.length < 300) {
    const v = truth.map(() => rng.normal());
    const s = v.reduce((a, b, k) => a + b * truth[k], bias);
    if (Math.abs(s) < 1) continue; // a margin of 1 / |truth|
    x.push(v);
    y.push(s > 0 ? 1 : -1);
  }
  const svm = await trainLinearSvm(x, y, 10);
  const w = Array.from(svm.weights), nw = Math.hypot(...w);
  const cos = w.reduce((s, v, k) => s + (v / nw) * (truth[k] / n), 0);
  assert(cos > 0.99, `cosine with the true normal ${cos}`);
  assertEquals(
    x.every((v, i) => Math.sign(v.reduce((s, a, k) => s + a * w[k], svm.bias)) === y[i]),
    true,
  );
});

Deno.test("InterFaceGAN: boundaries from the top/bottom 2% of scores, edits +-3 n on every row", async () => {
  const rng = new Rng(2);
  const N = 1000, D = 8;
  const w = rng.normals(N * D);
  const dir = [3, 1, 0, 0, -2, 0, 0, 1];
  const scores = Float32Array.from(
    { length: N },
    (_, i) => dir.reduce((s, v, k) => s + v * w[i * D + k], 0),
  );
  const [b] = await trainBoundaries(w, scores, ["a"], {
    ratio: 0.05,
    trainSplit: 0.7,
    cost: 1,
    step: 3,
    seed: 1,
  }, D);
  assertEquals([b.trainSamples, b.validationSamples], [70, 30]);
  assert(b.validationAccuracy === 1, `validation accuracy ${b.validationAccuracy}`);
  const cos = Array.from(b.normal).reduce((s, v, k) => s + v * dir[k], 0) / Math.hypot(...dir);
  assert(cos > 0.9, `cosine with the score direction ${cos}`);
  assertClose(Math.hypot(...b.normal), 1, 1e-5);
  const editor = new InterFaceGANEditor([b]);
  const wp = tf.zeros([2, 18, D]) as tf.Tensor3D;
  const out = values(editor.editAttribute(wp, 0, [1, -1]));
  for (let r = 0; r < 18; r++) {
    assertClose(out.subarray(r * D, (r + 1) * D), Array.from(b.normal, (v) => 3 * v), 1e-6);
    assertClose(
      out.subarray((18 + r) * D, (19 + r) * D),
      Array.from(b.normal, (v) => -3 * v),
      1e-6,
    );
  }
});

Deno.test("ISF-GAN mapping: 16,327,168 parameters (the paper's Table 2) by a hand count, shapes", () => {
  // Hand count, R = 64 noise, K = 4 domains, N = 18 rows, width 512:
  const trunk = 68 * 512 + 512 + 3 * (512 * 512 + 512 + 2 * 512);
  const heads = 3 * 18 * (512 * 512 + 512);
  const adaln = 2 * 512 + 512 * 1024 + 1024;
  const out = 3 * (512 * 512 + 512) + 3 * 2 * 512;
  assertEquals(trunk + heads + adaln + out, 16_327_168);
  assertEquals(isfParameterFormula(64, 4, 18), 16_327_168);
  const m = new IsfMapping({ ...ISF_DEFAULT, domains: 4, seed: 1 });
  assertEquals(m.countParameters(), 16_327_168);
  const o = m.forward(
    tf.randomNormal([2, 18, 512]) as tf.Tensor3D,
    tf.randomNormal([2, 64]) as tf.Tensor2D,
    tf.ones([2, 4]) as tf.Tensor2D,
  );
  assertEquals(o.shape, [2, 18, 512]);
  const ema = new IsfMapping({ ...ISF_DEFAULT, domains: 4, seed: 2 });
  ema.copyFrom(m);
  assertEquals(maxAbsDiff(values(ema.variables[0]), values(m.variables[0])), 0);
  m.dispose();
  ema.dispose();
});
