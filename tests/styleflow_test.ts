/**
 * StyleFlow: the batch-norms' closed form, the JVP and Hutchinson's estimator against exact
 * traces, RK4 against closed-form linear ODEs, the inverse, the fused gradient against autodiff,
 * the editor's rows and no-op cases, the parameter count, and training (NLL down, resume exact).
 */
import { assert, assertClose, assertEquals, maxAbsDiff, tf, values } from "./_util.ts";
import {
  rk4,
  STYLEFLOW,
  StyleFlow,
  type StyleFlowConfig,
  styleFlowParameterCount,
} from "../lib/baselines/styleflow.ts";
import { StyleFlowEditor } from "../lib/baselines/styleflow_editor.ts";
import {
  Adam,
  meanNll,
  STYLEFLOW_TRAIN,
  trainStyleFlow,
} from "../lib/baselines/styleflow_train.ts";
import { Rng } from "../lib/util/rng.ts";

const SMALL: StyleFlowConfig = { ...STYLEFLOW, dim: 6, hidden: 7, condDim: 2, steps: 8, seed: 3 };

/** Sets a variable to `f(i)` element-wise. */
function fill(v: tf.Variable, f: (i: number) => number): void {
  v.assign(tf.tensor(Float32Array.from({ length: v.size }, (_, i) => f(i)), v.shape));
}

/** Non-trivial batch-norm statistics, scales and biases. */
function randomizeNorms(flow: StyleFlow, seed: number): void {
  const rng = new Rng(seed);
  for (const bn of [flow.bn1, flow.bn2]) {
    fill(bn.runningMean, () => rng.normal());
    fill(bn.runningVar, () => 0.3 + 2 * rng.uniform());
    fill(bn.logScale, () => 0.3 * rng.normal());
    fill(bn.bias, () => 0.5 * rng.normal());
  }
}

/** The ODE weights (W of every layer) scaled, for a Jacobian of order 1. */
function scaleOdeWeights(flow: StyleFlow, s: number): void {
  for (const v of flow.variables) {
    if (/ode\.\d+\.w$/.test(flow.key(v))) v.assign(tf.mul(v, s));
  }
}

const rows = (n: number, d: number, seed: number, std = 1) =>
  tf.tensor2d(new Rng(seed).normals(n * d, std), [n, d]);
const conds = (n: number, c: number, seed: number) =>
  tf.tensor2d(new Rng(seed).uniforms(n * c), [n, c]);

Deno.test("StyleFlow: with a zero ODE function the flow is the two batch-norms, log-density in closed form", () => {
  const flow = new StyleFlow(SMALL);
  for (const v of flow.variables) if (flow.key(v).startsWith("ode.")) fill(v, () => 0);
  randomizeNorms(flow, 1);
  const D = SMALL.dim, N = 4;
  const x = rows(N, D, 2, 2), c = conds(N, 2, 3), e = rows(N, D, 4);
  const r = flow.logDensity(x, c, e);
  const xs = values(x), z = values(r.z), logp = values(r.logp);
  const [m1, v1, s1, b1, m2, v2, s2, b2] = [
    flow.bn1.runningMean,
    flow.bn1.runningVar,
    flow.bn1.logScale,
    flow.bn1.bias,
    flow.bn2.runningMean,
    flow.bn2.runningVar,
    flow.bn2.logScale,
    flow.bn2.bias,
  ].map(values);
  for (let n = 0; n < N; n++) {
    let logdet = 0, sq = 0;
    for (let d = 0; d < D; d++) {
      const y = (xs[n * D + d] - m1[d]) / Math.sqrt(v1[d] + 1e-4) * Math.exp(s1[d]) + b1[d];
      const zz = (y - m2[d]) / Math.sqrt(v2[d] + 1e-4) * Math.exp(s2[d]) + b2[d];
      assertClose(z[n * D + d], zz, 1e-5, 1e-5, "z");
      logdet += s1[d] - 0.5 * Math.log(v1[d] + 1e-4) + s2[d] - 0.5 * Math.log(v2[d] + 1e-4);
      sq += zz * zz;
    }
    assertClose(logp[n], -0.5 * sq - 0.5 * D * Math.log(2 * Math.PI) + logdet, 1e-4, 1e-5, "logp");
  }
  assertClose(values(flow.inverse(r.z, c)), xs, 1e-5, 1e-5, "inverse");
  flow.dispose();
});

Deno.test("StyleFlow: the JVP matches finite differences; Hutchinson's mean matches the exact trace", () => {
  const flow = new StyleFlow(SMALL);
  scaleOdeWeights(flow, 4);
  const D = SMALL.dim, t = 0.37;
  const x = rows(1, D, 5), c = conds(1, 2, 6);
  // JVP against central differences in a few random directions.
  for (let k = 0; k < 3; k++) {
    const v = rows(1, D, 10 + k);
    const { jv } = flow.odeFunction(t, x, c, v);
    // Central differences with Richardson extrapolation (error O(h^4)), h = 1e-2 and 5e-3.
    const central = (h: number) => {
      const fp = flow.odeFunction(t, tf.add(x, tf.mul(v, h)) as tf.Tensor2D, c).f;
      const fm = flow.odeFunction(t, tf.sub(x, tf.mul(v, h)) as tf.Tensor2D, c).f;
      return tf.div(tf.sub(fp, fm), 2 * h);
    };
    const fd = values(tf.div(tf.sub(tf.mul(central(5e-3), 4), central(1e-2)), 3));
    const scale = Math.max(...Array.from(fd, Math.abs));
    assert(scale > 0.1, `the Jacobian is not trivial (|J v| ${scale})`);
    assertClose(values(jv!), fd, 1e-3 * scale, 0, "JVP vs finite differences");
  }
  // Exact trace: the diagonal of J from the JVPs of the basis vectors.
  const basis = tf.eye(D) as tf.Tensor2D;
  const xb = tf.tile(x, [D, 1]) as tf.Tensor2D, cb = tf.tile(c, [D, 1]) as tf.Tensor2D;
  const J = values(flow.odeFunction(t, xb, cb, basis).jv!); // row i = J e_i
  let trace = 0;
  for (let i = 0; i < D; i++) trace += J[i * D + i];
  const frobenius = Math.hypot(...J);
  const K = 20000;
  const e = rows(K, D, 7);
  const { jv } = flow.odeFunction(
    t,
    tf.tile(x, [K, 1]) as tf.Tensor2D,
    tf.tile(c, [K, 1]) as tf.Tensor2D,
    e,
  );
  const est = values(tf.sum(tf.mul(e, jv!), 1));
  const mean = est.reduce((a, b) => a + b, 0) / K;
  const sd = Math.sqrt(est.reduce((a, b) => a + (b - mean) ** 2, 0) / (K - 1));
  const se = sd / Math.sqrt(K);
  assert(frobenius > 0.5 && se < 0.02 * frobenius, `|J|_F ${frobenius}, standard error ${se}`);
  assert(Math.abs(mean - trace) < 4 * se, `Hutchinson mean ${mean} vs trace ${trace} (se ${se})`);
  flow.dispose();
});

Deno.test("StyleFlow: Hutchinson's log-density averages to log N(z) + log|det dF/dx| (finite differences)", () => {
  const flow = new StyleFlow({ ...SMALL, steps: 16, endTime: 3 });
  scaleOdeWeights(flow, 4);
  randomizeNorms(flow, 8);
  const D = SMALL.dim, K = 20000;
  const x = rows(1, D, 9), c = conds(1, 2, 10);
  // Jacobian of F by central differences: column j = (F(x + h e_j) - F(x - h e_j)) / 2h.
  const h = 1e-2;
  const plus = tf.add(tf.tile(x, [D, 1]), tf.mul(tf.eye(D), h)) as tf.Tensor2D;
  const minus = tf.sub(tf.tile(x, [D, 1]), tf.mul(tf.eye(D), h)) as tf.Tensor2D;
  const cD = tf.tile(c, [D, 1]) as tf.Tensor2D;
  const Jt = values(tf.div(tf.sub(flow.forward(plus, cD), flow.forward(minus, cD)), 2 * h)); // row j = dF/dx_j
  const a = Array.from({ length: D }, (_, i) => Array.from({ length: D }, (_, j) => Jt[j * D + i]));
  let logdet = 0; // LU with partial pivoting, in float64
  for (let k = 0; k < D; k++) {
    let p = k;
    for (let i = k + 1; i < D; i++) if (Math.abs(a[i][k]) > Math.abs(a[p][k])) p = i;
    [a[k], a[p]] = [a[p], a[k]];
    logdet += Math.log(Math.abs(a[k][k]));
    for (let i = k + 1; i < D; i++) {
      const f = a[i][k] / a[k][k];
      for (let j = k; j < D; j++) a[i][j] -= f * a[k][j];
    }
  }
  const z = values(flow.forward(x, c));
  const exact = -0.5 * z.reduce((s, v) => s + v * v, 0) - 0.5 * D * Math.log(2 * Math.PI) + logdet;
  const r = flow.logDensity(
    tf.tile(x, [K, 1]) as tf.Tensor2D,
    tf.tile(c, [K, 1]) as tf.Tensor2D,
    rows(K, D, 11),
  );
  const lp = values(r.logp);
  const mean = lp.reduce((s, v) => s + v, 0) / K;
  const sd = Math.sqrt(lp.reduce((s, v) => s + (v - mean) ** 2, 0) / (K - 1));
  const se = sd / Math.sqrt(K);
  // The CNF's share, int tr(df/dx) dt, must stand out of the noise for the test to mean something.
  const bnShare = values(tf.add(flow.bn1.logDet(), flow.bn2.logDet()))[0];
  const logN = -0.5 * z.reduce((s, v) => s + v * v, 0) - 0.5 * D * Math.log(2 * Math.PI);
  const cnfShare = exact - logN - bnShare;
  assert(Math.abs(cnfShare) > 20 * se, `CNF log-det ${cnfShare} vs the standard error ${se}`);
  assert(
    Math.abs(mean - exact) < 4 * se + 1e-3,
    `Hutchinson log p ${mean} (se ${se}) vs exact ${exact}`,
  );
  tf.dispose([...r.bnInputs, r.logp, r.z]);
  flow.dispose();
});

Deno.test("RK4: linear ODEs against expm(A t) x, 4th-order convergence, both directions, dx(T)/dT", () => {
  const A = tf.tensor2d([[0, -1], [1, 0]]); // rotation: expm(A t) = [[cos t, -sin t], [sin t, cos t]]
  const f = (_t: tf.Scalar, y: tf.Tensor[]) => [tf.matMul(y[0] as tf.Tensor2D, A, false, true)];
  const x0 = tf.tensor2d([[1, 0.5]]);
  const T = 2;
  const exact = [Math.cos(T) - 0.5 * Math.sin(T), Math.sin(T) + 0.5 * Math.cos(T)];
  const err = (steps: number) =>
    maxAbsDiff(values(rk4(f, [x0], 0, T, steps, { tidy: true })[0]), exact);
  const e4 = err(4), e8 = err(8), e32 = err(32);
  assert(e32 < 2e-6, `32 steps: error ${e32}`);
  assert(e4 / e8 > 11 && e4 / e8 < 22, `halving h divides the error by ${e4 / e8} (4th order: 16)`);
  // Backwards from T to 0 returns x0.
  const back = rk4(f, [tf.tensor2d([exact])], T, 0, 32, { tidy: true })[0];
  assertClose(values(back), [1, 0.5], 2e-6, 0, "reverse");
  // Diagonal A: x(t) = exp(a t) x0, and the gradient through a tensor end time: dx(T)/dT = a x(T).
  const a = [-1, 0.5, 2];
  const Ad = tf.tensor1d(a);
  const g = (_t: tf.Scalar, y: tf.Tensor[]) => [tf.mul(y[0], Ad)];
  const x1 = tf.tensor2d([[1, -2, 0.3]]);
  const t1 = tf.scalar(0.8);
  const [xT] = rk4(g, [x1], 0, t1, 16);
  assertClose(
    values(xT),
    a.map((ai, i) => Math.exp(ai * 0.8) * [1, -2, 0.3][i]),
    1e-5,
    1e-5,
    "diag",
  );
  const dT = tf.grad((t: tf.Tensor) => tf.sum(rk4(g, [x1], 0, t as tf.Scalar, 16)[0]))(t1);
  const want = a.reduce((s, ai, i) => s + ai * Math.exp(ai * 0.8) * [1, -2, 0.3][i], 0);
  assertClose(values(dT)[0], want, 1e-4, 1e-4, "d sum x(T) / dT");
});

Deno.test("StyleFlow: F^-1(F(w)) = w within 1e-4 (D = 6, 8 steps; D = 512, 2 steps)", () => {
  const small = new StyleFlow(SMALL);
  randomizeNorms(small, 12);
  const x = rows(16, 6, 13, 1.5), c = conds(16, 2, 14);
  const back = small.inverse(small.forward(x, c), c);
  assert(
    maxAbsDiff(values(back), values(x)) < 1e-4,
    `D = 6: ${maxAbsDiff(values(back), values(x))}`,
  );
  assert(maxAbsDiff(values(small.forward(x, c)), values(x)) > 0.1, "the flow is not the identity");
  small.dispose();
  // Above 32 rows the schedule is computed per time and tanh via sigmoid: the same map.
  const many = rows(40, 6, 24, 1.5), cm = conds(40, 2, 25);
  const small8 = new StyleFlow(SMALL);
  randomizeNorms(small8, 12);
  const zAll = values(small8.forward(many, cm));
  const zParts = Array.from({ length: 5 }, (_, k) =>
    Array.from(values(small8.forward(
      tf.slice(many, [8 * k, 0], [8, 6]) as tf.Tensor2D,
      tf.slice(cm, [8 * k, 0], [8, 2]) as tf.Tensor2D,
    )))).flat();
  assertClose(zAll, zParts, 1e-5, 1e-5, "40 rows at once vs 8 at a time");
  const back40 = values(small8.inverse(tf.tensor2d(zAll, [40, 6]), cm));
  assert(maxAbsDiff(back40, values(many)) < 1e-4, `40 rows: ${maxAbsDiff(back40, values(many))}`);
  small8.dispose();
  const big = new StyleFlow({ ...STYLEFLOW, condDim: 4, steps: 2 });
  const w = rows(8, 512, 15), cw = conds(8, 4, 16);
  const wb = big.inverse(big.forward(w, cw), cw);
  const d = maxAbsDiff(values(wb), values(w));
  assert(d < 1e-4, `D = 512: ${d}`);
  big.dispose();
});

Deno.test("StyleFlow: the fused network-and-JVP gradient equals autodiff's", () => {
  const flow = new StyleFlow({ ...SMALL, steps: 3 });
  scaleOdeWeights(flow, 2);
  randomizeNorms(flow, 17);
  const x = rows(5, 6, 18), c = conds(5, 2, 19), e = rows(5, 6, 20);
  const loss = (fused: boolean) => () => {
    const r = flow.logDensity(x, c, e, { train: true, fused });
    tf.dispose(r.bnInputs);
    return tf.neg(tf.mean(r.logp)) as tf.Scalar;
  };
  const a = tf.variableGrads(loss(true), flow.variables);
  const b = tf.variableGrads(loss(false), flow.variables);
  assertClose(values(a.value), values(b.value), 1e-4, 1e-6, "loss");
  for (const v of flow.variables) {
    const ga = values(a.grads[v.name]), gb = values(b.grads[v.name]);
    const scale = Math.max(1e-3, ...Array.from(gb, Math.abs));
    assertClose(ga, gb, 1e-4 * scale, 0, flow.key(v));
  }
  flow.dispose();
});

/** A stand-in world: the "render" is the mean row, the classifier a fixed linear map of it. */
function toyWorld(D: number, scale: number) {
  const P = tf.tensor2d(new Rng(21).normals(D * 4, scale / Math.sqrt(D)), [D, 4]);
  return {
    attributes: ["gender", "glasses", "age", "smile"] as const,
    synthesize: (w: tf.Tensor3D) => tf.reshape(tf.mean(w, 1), [w.shape[0], 1, 1, D]) as tf.Tensor4D,
    classifier: (img: tf.Tensor4D) =>
      tf.matMul(tf.reshape(img, [img.shape[0], D]), P) as tf.Tensor2D,
  };
}

Deno.test("StyleFlowEditor: only the attribute's rows change; degree 0 and a reached target change nothing", async () => {
  const D = 16, L = 18;
  const flow = new StyleFlow({ ...STYLEFLOW, dim: D, hidden: D, condDim: 4, steps: 4 });
  randomizeNorms(flow, 22);
  const world = toyWorld(D, 1);
  const editor = new StyleFlowEditor(flow, world);
  const w = tf.tensor3d(new Rng(23).normals(3 * L * D), [3, L, D]);
  const wv = values(w);
  const ranges: Record<string, number[]> = {
    gender: [0, 1, 2, 3, 4, 5, 6, 7],
    glasses: [2, 3],
    age: [4, 5, 6, 7],
    smile: [4, 5],
  };
  world.attributes.forEach((a, m) => {
    for (const dir of [1, -1]) {
      const out = values(editor.editAttribute(w, m, [dir, dir, -dir]));
      for (let b = 0; b < 3; b++) {
        for (let r = 0; r < L; r++) {
          const o = (b * L + r) * D;
          const d = maxAbsDiff(out.subarray(o, o + D), wv.subarray(o, o + D));
          if (ranges[a].includes(r)) {
            assert(d > 1e-4, `${a} ${dir}: row ${r} of latent ${b} unchanged`);
          } else assertEquals(d, 0, `${a} ${dir}: row ${r} of latent ${b}`);
        }
      }
    }
  });
  // The edited rows are F^-1(F(w; s); t).
  const { source, target } = editor.conditions(w, 2, [1, 1, 1]);
  const row4 = tf.reshape(tf.slice(w, [0, 4, 0], [3, 1, D]), [3, D]) as tf.Tensor2D;
  const want = flow.inverse(
    flow.forward(row4, tf.tensor2d(source, [3, 4])),
    tf.tensor2d(target, [3, 4]),
  );
  const got = tf.reshape(tf.slice(editor.editAttribute(w, 2, [1, 1, 1]), [0, 4, 0], [3, 1, D]), [
    3,
    D,
  ]);
  assertClose(values(got), values(want), 1e-6, 0, "edited rows");
  for (let b = 0; b < 3; b++) {
    assertClose(target[b * 4 + 2], source[b * 4 + 2] + 0.93 * (1 - source[b * 4 + 2]), 1e-6);
  }
  // Degree 0: the input, exactly.
  const still = new StyleFlowEditor(flow, world, {
    degrees: { gender: 0, glasses: 0, age: 0, smile: 0 },
  });
  for (let m = 0; m < 4; m++) {
    assertEquals(maxAbsDiff(values(still.editAttribute(w, m, [1, -1, 1])), wv), 0);
  }
  // A latent already at the end (probability exactly 1) is kept exactly; the others are edited.
  const fixed = tf.tensor2d([[100, 0, 0, 0], [0.5, 0, 0, 0], [-1, 0, 0, 0]]);
  const sure = new StyleFlowEditor(flow, { ...world, classifier: () => fixed.clone() });
  const src = sure.conditions(w, 0, [1, 1, 1]).source;
  assertEquals(src[0], 1, "probability of latent 0");
  const at1 = [0], below = [1, 2];
  const out = values(sure.editAttribute(w, 0, [1, 1, 1]));
  for (const b of at1) {
    assertEquals(
      maxAbsDiff(out.subarray(b * L * D, (b + 1) * L * D), wv.subarray(b * L * D, (b + 1) * L * D)),
      0,
    );
  }
  for (const b of below) {
    assert(
      maxAbsDiff(
        out.subarray(b * L * D, (b + 1) * L * D),
        wv.subarray(b * L * D, (b + 1) * L * D),
      ) > 1e-4,
    );
  }
  // Saved and loaded, the editor edits the same.
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await editor.save(path);
  const loaded = await StyleFlowEditor.load(path, world);
  assertEquals(
    maxAbsDiff(
      values(loaded.editAttribute(w, 1, [1, -1, 1])),
      values(editor.editAttribute(w, 1, [1, -1, 1])),
    ),
    0,
  );
  await Deno.remove(path);
  loaded.dispose();
  flow.dispose();
});

Deno.test("StyleFlow: parameter count 6 (263,168 + 1,024 (c + 1)) + 2,049 (1,691,649 at c = 17)", () => {
  const cfg = (c: number) => ({ dim: 512, hidden: 512, layers: 6, condDim: c });
  assertEquals(styleFlowParameterCount(cfg(17)), 1_691_649);
  for (const c of [1, 4, 17]) {
    assertEquals(styleFlowParameterCount(cfg(c)), 6 * (263_168 + 1_024 * (c + 1)) + 2_049);
  }
  const flow = new StyleFlow({ ...STYLEFLOW, condDim: 17 });
  assertEquals(flow.countParameters(), 1_691_649);
  flow.dispose();
  assertEquals(styleFlowParameterCount(cfg(4)), 1_611_777);
});

/** Toy conditional data: x = 2 c a + 0.3 eps in D = 8, c uniform in [0, 1]. */
function toyData(n: number, seed: number) {
  const D = 8, rng = new Rng(seed);
  const a = [1, -1, 0.5, 2, 0, -0.5, 1.5, -2];
  const c = rng.uniforms(n);
  const w = Float32Array.from(
    { length: n * D },
    (_, i) => 2 * c[Math.floor(i / D)] * a[i % D] + 0.3 * rng.normal(),
  );
  return { w, c };
}

Deno.test("StyleFlow training: NLL falls below the batch-norm-only fit; a resumed run repeats an uninterrupted one; no leaks", async () => {
  const cfg: StyleFlowConfig = { ...STYLEFLOW, dim: 8, hidden: 16, condDim: 1, steps: 4, seed: 5 };
  const train = toyData(400, 1), test = toyData(200, 2);
  const tcfg = { ...STYLEFLOW_TRAIN, epochs: 1, maxSteps: 80, lr: 1e-2 };
  const flow = new StyleFlow(cfg);
  const before = meanNll(flow, test.w, test.c);
  const tensors = tf.memory().numTensors;
  const r = await trainStyleFlow(flow, train.w, train.c, tcfg, { silent: true });
  assertEquals(tf.memory().numTensors, tensors, "tensors after training");
  const after = meanNll(flow, test.w, test.c);
  // The batch-norm-only fit: a flow whose ODE does nothing, its statistics those of the data.
  const bnOnly = new StyleFlow(cfg);
  for (const v of bnOnly.variables) if (bnOnly.key(v).startsWith("ode.")) fill(v, () => 0);
  const xs = tf.tensor2d(train.w, [400, 8]);
  const { mean, variance } = tf.moments(xs, 0);
  bnOnly.bn1.runningMean.assign(mean as tf.Tensor1D);
  bnOnly.bn1.runningVar.assign(variance as tf.Tensor1D);
  const fit = meanNll(bnOnly, test.w, test.c);
  assert(after < before - 5, `NLL before ${before}, after ${after}`);
  assert(after < fit - 1, `NLL after ${after} vs the batch-norm-only fit ${fit}`);
  assert(r.losses.length === 8 && r.losses[7].nll < r.losses[0].nll, JSON.stringify(r.losses));
  bnOnly.dispose();
  tf.dispose([xs, mean, variance]);
  // Resume: 6 steps then 6 more from the state file equal 12 straight.
  const dir = await Deno.makeTempDir();
  const short = { ...tcfg, maxSteps: 12 };
  const straight = new StyleFlow(cfg);
  const s = await trainStyleFlow(straight, train.w, train.c, short, { silent: true, logEvery: 3 });
  const split = new StyleFlow(cfg);
  const statePath = `${dir}/state.safetensors`;
  await trainStyleFlow(split, train.w, train.c, short, {
    silent: true,
    logEvery: 3,
    statePath,
    until: 6,
  });
  const resumed = new StyleFlow(cfg);
  const r2 = await trainStyleFlow(resumed, train.w, train.c, short, {
    silent: true,
    logEvery: 3,
    statePath,
  });
  assertEquals(r2.resumedFrom, 6);
  assertEquals(r2.losses.map((l) => l.nll), s.losses.map((l) => l.nll));
  for (const v of straight.state) {
    const k = straight.key(v);
    const other = resumed.state.find((u) => resumed.key(u) === k)!;
    assertEquals(maxAbsDiff(values(v), values(other)), 0, k);
  }
  await Deno.remove(dir, { recursive: true });
  [flow, straight, split, resumed].forEach((f) => f.dispose());
});

Deno.test("Adam: one step matches torch.optim.Adam's formula", () => {
  const p = tf.variable(tf.tensor1d([1, -2]));
  const adam = new Adam([p], 0.1);
  adam.apply([tf.tensor1d([0.5, -1])]);
  // Step 1: m = 0.1 g, v = 0.001 g^2, update = lr (m / 0.1) / (sqrt(v / 0.001) + eps) = lr sign(g).
  assertClose(values(p), [0.9, -1.9], 1e-6);
  adam.apply([tf.tensor1d([1, 1])]);
  const m = [0.9 * 0.05 + 0.1, 0.9 * -0.1 + 0.1],
    v = [0.999 * 0.00025 + 0.001, 0.999 * 0.001 + 0.001];
  const want = [0.9, -1.9].map((x, i) =>
    x - 0.1 * (m[i] / (1 - 0.81)) / (Math.sqrt(v[i] / (1 - 0.999 ** 2)) + 1e-8)
  );
  assertClose(values(p), want, 1e-6);
  adam.dispose();
  p.dispose();
});
