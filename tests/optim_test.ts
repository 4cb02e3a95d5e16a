/**
 * AdaBelief against the update rule of Zhuang et al. (2020), computed here by hand in float64,
 * and the learning-rate schedule against hand-computed values.
 */
import { assertClose, assertEquals, tf, values } from "./_util.ts";
import { AdaBelief } from "../lib/optim/adabelief.ts";
import { lrAt } from "../lib/optim/schedule.ts";
import { PRESETS } from "../lib/model/config.ts";

/** The AdaBelief paper's Algorithm 2 (bias-corrected), one scalar parameter, float64. */
function referenceAdaBelief(
  theta0: number,
  grads: number[],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled: boolean },
): number[] {
  let theta = theta0, m = 0, s = 0;
  const out: number[] = [];
  grads.forEach((g0, i) => {
    const t = i + 1;
    let g = g0;
    if (o.wd > 0 && o.decoupled) theta *= 1 - o.lr * o.wd;
    if (o.wd > 0 && !o.decoupled) g += o.wd * theta;
    m = o.b1 * m + (1 - o.b1) * g;
    s = o.b2 * s + (1 - o.b2) * (g - m) ** 2 + o.eps;
    const mhat = m / (1 - o.b1 ** t);
    const shat = s / (1 - o.b2 ** t);
    theta -= (o.lr * mhat) / (Math.sqrt(shat) + o.eps);
    out.push(theta);
  });
  return out;
}

const GRADS = [[0.5, -2], [0.3, -1], [-0.2, 0.5], [0.8, 0.1], [0.1, -0.3]];

for (
  const o of [
    { lr: 1e-2, b1: 0.98, b2: 0.98, eps: 1e-16, wd: 0, decoupled: true }, // paper
    { lr: 1e-2, b1: 0.98, b2: 0.98, eps: 1e-16, wd: 1e-1, decoupled: true }, // official (decoupled)
    { lr: 5e-2, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 1e-2, decoupled: false }, // coupled L2
  ]
) {
  Deno.test(`AdaBelief matches the paper's update rule by hand (b1 ${o.b1}, wd ${o.wd}, decoupled ${o.decoupled})`, () => {
    const p = tf.variable(tf.tensor1d([1.0, -0.5]));
    const opt = new AdaBelief([p], {
      lr: o.lr,
      beta1: o.b1,
      beta2: o.b2,
      eps: o.eps,
      weightDecay: o.wd,
      decoupledWeightDecay: o.decoupled,
    });
    const ref0 = referenceAdaBelief(1.0, GRADS.map((g) => g[0]), o);
    const ref1 = referenceAdaBelief(-0.5, GRADS.map((g) => g[1]), o);
    GRADS.forEach((g, i) => {
      opt.apply([tf.tensor1d(g)]);
      assertClose(values(p), [ref0[i], ref1[i]], 1e-6, 1e-5, `step ${i + 1}`);
    });
    assertEquals(opt.step, GRADS.length);
  });
}

Deno.test("AdaBelief: the first step moves each parameter by about lr (sign of the gradient)", () => {
  // With m1 = (1-b1) g and s1 = (1-b2) (b1 g)^2, the bias-corrected step is lr g / (b1 |g|) = lr / b1.
  const p = tf.variable(tf.tensor1d([0, 0]));
  const opt = new AdaBelief([p], {
    lr: 0.1,
    beta1: 0.9,
    beta2: 0.999,
    eps: 0,
    weightDecay: 0,
    decoupledWeightDecay: true,
  });
  opt.apply([tf.tensor1d([3, -0.01])]);
  assertClose(values(p), [-0.1 / 0.9, 0.1 / 0.9], 1e-6);
});

Deno.test("AdaBelief state round trip resumes identically", () => {
  const mk = () => tf.variable(tf.tensor1d([1, 2, 3]));
  const opts = {
    lr: 1e-2,
    beta1: 0.98,
    beta2: 0.98,
    eps: 1e-16,
    weightDecay: 1e-5,
    decoupledWeightDecay: true,
  };
  const a = mk(), optA = new AdaBelief([a], opts);
  const g = (i: number) => tf.tensor1d([Math.sin(i), Math.cos(i), i / 10]);
  for (let i = 0; i < 6; i++) optA.apply([g(i)]);
  const b = mk(), optB = new AdaBelief([b], opts);
  for (let i = 0; i < 3; i++) optB.apply([g(i)]);
  const state = optB.getState();
  const c = tf.variable(b.clone()), optC = new AdaBelief([c], opts);
  optC.setState(state);
  for (let i = 3; i < 6; i++) optC.apply([g(i)]);
  assertClose(values(c), values(a), 0);
});

Deno.test("cosine annealing with warm-up: hand-computed points (official: 1e-3 -> 1e-8, 1,000 warm-up)", () => {
  const o = PRESETS.official.optim;
  const T = 100_000;
  assertClose(lrAt(0, o, T), 1e-8, 1e-15);
  assertClose(lrAt(500, o, T), 1e-8 + (1e-3 - 1e-8) * 0.5, 1e-15);
  assertClose(lrAt(1000, o, T), 1e-3, 1e-15);
  assertClose(lrAt(1000 + 49_500, o, T), 1e-8 + (1e-3 - 1e-8) * 0.5, 1e-12); // cos(pi/2) = 0
  assertClose(
    lrAt(1000 + 99_000 * 0.25, o, T),
    1e-8 + (1e-3 - 1e-8) * (1 + Math.SQRT1_2) / 2,
    1e-12,
  );
  assertClose(lrAt(T, o, T), 1e-8, 1e-15); // restart
  assertClose(lrAt(123, PRESETS.paper.optim, T), 1e-3, 0);
});
