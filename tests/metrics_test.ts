/**
 * Metrics against independent references: SSIM against npm:ssim.js (Wang et al.'s MATLAB
 * reference, ported), the Frechet distance against its closed form for diagonal Gaussians and
 * covariances against numpy, ROC AUC against brute-force pair counting.
 */
import { assert, assertClose, assertThrows, numpyPython, runPython, tf, values } from "./_util.ts";
import ssimJs from "ssim.js";
import { ssim } from "../lib/metrics/ssim.ts";
import { featureStats, frechetDistance } from "../lib/metrics/frechet.ts";
import { featureDistance } from "../lib/metrics/perceptual.ts";
import { rocAuc } from "../lib/metrics/roc.ts";
import { Rng } from "../lib/util/rng.ts";
import { Matrix, QrDecomposition } from "ml-matrix";

const py = await numpyPython();

/** A smooth random grey image [H, W] in 0..255 (integers), and a perturbed copy. */
function greyPair(rng: Rng, H: number, W: number): [Uint8ClampedArray, Uint8ClampedArray] {
  const a = new Uint8ClampedArray(H * W), b = new Uint8ClampedArray(H * W);
  const fx = 1 + rng.uniform() * 4, fy = 1 + rng.uniform() * 4, ph = rng.uniform() * 6;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = 128 + 90 * Math.sin((fx * x) / W * 6.28 + ph) * Math.cos((fy * y) / H * 6.28);
      a[y * W + x] = Math.round(v + 20 * (rng.uniform() - 0.5));
      b[y * W + x] = Math.round(v + 60 * (rng.uniform() - 0.5) + (x > W / 2 ? 25 : 0));
    }
  }
  return [a, b];
}

Deno.test("SSIM equals ssim.js (original algorithm, no downsampling) within 1e-3", () => {
  const rng = new Rng(7);
  for (const [H, W] of [[64, 64], [48, 80], [128, 96]]) {
    const [a, b] = greyPair(rng, H, W);
    const rgba = (g: Uint8ClampedArray) => {
      const d = new Uint8ClampedArray(H * W * 4);
      g.forEach((v, i) => d.set([v, v, v, 255], i * 4));
      return { data: d, width: W, height: H };
    };
    const ref =
      (ssimJs as unknown as { ssim: (a: unknown, b: unknown, o: unknown) => { mssim: number } })
        .ssim(rgba(a), rgba(b), {
          ssim: "original",
          downsample: false,
          windowSize: 11,
          k1: 0.01,
          k2: 0.03,
          bitDepth: 8,
        }).mssim;
    const toT = (g: Uint8ClampedArray) =>
      tf.tensor4d(Float32Array.from(g, (v) => (v / 255) * 2 - 1), [1, H, W, 1]);
    const ours = ssim(toT(a), toT(b)).dataSync()[0];
    assertClose(ours, ref, 1e-3, 0, `${H}x${W}`);
    assert(ref < 0.95 && ref > 0.1, `a meaningful pair (ssim.js ${ref})`);
  }
});

Deno.test("SSIM: 1 for identical images, batched per pair, channels averaged; bad input", () => {
  const x = tf.randomUniform([3, 32, 32, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  assertClose(values(ssim(x, x)), [1, 1, 1], 1e-5);
  const y = tf.randomUniform([3, 32, 32, 3], -1, 1, "float32", 2) as tf.Tensor4D;
  const batched = values(ssim(x, y));
  const one =
    ssim(tf.slice(x, [1, 0, 0, 0], [1, 32, 32, 3]), tf.slice(y, [1, 0, 0, 0], [1, 32, 32, 3]))
      .dataSync()[0];
  assertClose(batched[1], one, 1e-6);
  assertThrows(() => ssim(x, tf.zeros([3, 32, 31, 3]) as tf.Tensor4D), "b", "W=32");
  assertThrows(
    () => ssim(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D, tf.zeros([1, 8, 8, 3]) as tf.Tensor4D),
    "smaller than the 11x11 window",
  );
});

Deno.test("Frechet distance: closed form for diagonal Gaussians, 0 for identical statistics", () => {
  const d = 5;
  const mk = (mean: number[], sd: number[]) => ({
    mean: Float64Array.from(mean),
    cov: Matrix.diag(sd.map((s) => s * s)),
    count: 100,
  });
  const a = mk([0, 1, 2, 3, 4], [1, 2, 0.5, 1, 3]), b = mk([1, 1, 0, 3, 5], [2, 2, 1, 0.1, 3]);
  let expected = 0;
  for (let j = 0; j < d; j++) {
    expected += (a.mean[j] - b.mean[j]) ** 2 +
      (Math.sqrt(a.cov.get(j, j)) - Math.sqrt(b.cov.get(j, j))) ** 2;
  }
  assertClose(frechetDistance(a, b), expected, 1e-9, 1e-9);
  // A rotated (non-diagonal) copy of the same Gaussian pair: rotation-invariant.
  const rng = new Rng(3);
  const q = new Matrix(
    Array.from({ length: d }, () => Array.from({ length: d }, () => rng.normal())),
  );
  const Q = new QrDecomposition(q).orthogonalMatrix;
  const rot = (g: typeof a) => ({
    mean: Float64Array.from(Q.mmul(Matrix.columnVector([...g.mean])).to1DArray()),
    cov: Q.mmul(g.cov).mmul(Q.transpose()),
    count: 100,
  });
  assertClose(frechetDistance(rot(a), rot(b)), expected, 1e-7, 1e-7);
  assertClose(frechetDistance(a, a), 0, 1e-9);
});

Deno.test({
  name: "feature statistics match numpy's mean and covariance",
  ignore: py === null && !Deno.env.get("CI"),
  fn: async () => {
    const rng = new Rng(4);
    const n = 50, d = 4;
    const x = rng.normals(n * d);
    const stats = featureStats(x, d);
    const out = JSON.parse(
      await runPython(
        py!,
        `
import json, sys, numpy as np
x = np.array(json.loads(sys.argv[1]), dtype=np.float64).reshape(${n}, ${d})
print(json.dumps({'mean': x.mean(0).tolist(), 'cov': np.cov(x.T).tolist()}))
`,
        [JSON.stringify(Array.from(x))],
      ),
    );
    assertClose([...stats.mean], out.mean, 1e-6);
    assertClose(stats.cov.to1DArray(), out.cov.flat(), 1e-6);
  },
});

Deno.test("ROC AUC equals brute-force pair counting, ties half", () => {
  const rng = new Rng(5);
  const pos = Array.from({ length: 40 }, () => Math.round(rng.normal() * 3 + 2));
  const neg = Array.from({ length: 55 }, () => Math.round(rng.normal() * 3));
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  assertClose(rocAuc(pos, neg), wins / (pos.length * neg.length), 1e-12);
  assertClose(rocAuc([1, 2], [3, 4]), 0, 0);
  assertClose(rocAuc([3, 4], [1, 2]), 1, 0);
});

Deno.test("perceptual feature distance: zero for identical maps, invariant to per-position channel scale", () => {
  const m = [
    tf.randomNormal([2, 4, 4, 3], 0, 1, "float32", 1) as tf.Tensor4D,
    tf.randomNormal([2, 2, 2, 5], 0, 1, "float32", 2) as tf.Tensor4D,
  ];
  assertClose(values(featureDistance(m, m)), [0, 0], 1e-7);
  const scaled = m.map((t) => tf.mul(t, 3.5) as tf.Tensor4D);
  assertClose(values(featureDistance(m, scaled)), [0, 0], 1e-6);
  const other = [tf.neg(m[0]) as tf.Tensor4D, m[1]];
  assertClose(values(featureDistance(m, other)), [4, 4], 1e-5); // |u - (-u)|^2 = 4 per position, layer 1 only
});
