/**
 * StyleFlow (Abdal et al.), as its public code builds it (DESIGN.md section 3.1), written for tfjs:
 *
 *   F(w; c) = BN2(CNF(BN1(w); c)),   z = F(w; c) ~ N(0, I),   on 512-d vectors (one row of W+)
 *
 * - BN1, BN2: moving batch-norm with lag 0: x is normalised with the running statistics
 *   (eps 1e-4; no gradient through them), then scaled by exp(logScale) and shifted by bias (both
 *   learned, zero at the start); in training the running statistics move towards the batch's
 *   (EMA with decay 0.1, unbiased variance) after they are used (`MovingBatchNorm.update`).
 * - CNF: dx/dt = f(t, x; c) from t = 0 to the learned end time T = sqrtEndTime^2 (starting at 1).
 *   f: 6 ConcatSquashLinear layers D->H->...->D, tanh between them and none after the last; each
 *   `(x W + b) * sigmoid(ctx Wg + bg) + ctx Wh` with ctx = [t, c] (the gate has a bias, the
 *   hyper-bias none). Weights are stored [in, out] (plain x @ W matMuls, fast in tfjs-wasm) and
 *   start as PyTorch's nn.Linear does: U(+-1/sqrt(fan_in)).
 * - Log-density: log p(w) = log N(z) + log|det BN1| + log|det BN2| + int_0^T tr(df/dx) dt, the
 *   trace by Hutchinson's estimator e^T (df/dx) e with one Gaussian e per solve; (df/dx) e is an
 *   analytic Jacobian-vector product carried forward through the layers beside x
 *   (u <- (u W) * gate, then u <- (1 - tanh^2) u), so training needs first-order autodiff only.
 *   With the divergence (training, log-densities), f and its JVP run as one op with a
 *   hand-written gradient (`fusedNetOp`: about a third fewer tfjs kernels per step); editing
 *   needs no divergence and runs the plain network.
 *
 * Where this differs from the released code: a fixed-step RK4 solver (`steps`, default 8) with
 * backpropagation through its steps, instead of dopri5 (atol = rtol = 1e-5) with the adjoint; the
 * inverse F^-1 integrates the same ODE from T back to 0 with the same fixed steps, so
 * F^-1(F(w)) = w holds to the solver's error (measured in the baseline's metrics file).
 *
 * Parameters, D = H = 512 and condition size c: 6 x (263,168 + 1,024 (c + 1)) + 2,049
 * (1,691,649 at StyleFlow's c = 17: 9 lighting coefficients + 8 attributes).
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../util/rng.ts";
import {
  readSafetensors,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../io/safetensors.ts";
import { f32Entry } from "../io/tensor_input.ts";

export interface StyleFlowConfig {
  /** Width of the flowed vectors (512: one row of W+). */
  dim: number;
  /** Condition size c (StyleFlow: 17; here the world's M attribute probabilities). */
  condDim: number;
  /** ConcatSquashLinear layers of the ODE function (StyleFlow: 6, "512-512-512-512-512"). */
  layers: number;
  /** Width of the hidden layers (512). */
  hidden: number;
  /** Fixed RK4 steps per solve (each 4 evaluations of f); StyleFlow uses adaptive dopri5. */
  steps: number;
  /** Initial end time T (StyleFlow: 1, trained). */
  endTime: number;
  /** Moving batch-norm epsilon and EMA decay (StyleFlow: 1e-4, 0.1). */
  bnEps: number;
  bnDecay: number;
  seed: number;
}

export const STYLEFLOW: StyleFlowConfig = {
  dim: 512,
  condDim: 4,
  layers: 6,
  hidden: 512,
  steps: 8,
  endTime: 1,
  bnEps: 1e-4,
  bnDecay: 0.1,
  seed: 31,
};

/** Parameter count of a flow of `cfg` (for D = H = 512, 6 layers: 6 (263,168 + 1,024 (c + 1)) + 2,049). */
export function styleFlowParameterCount(
  cfg: Pick<StyleFlowConfig, "dim" | "condDim" | "layers" | "hidden">,
): number {
  let n = 0;
  for (let l = 0; l < cfg.layers; l++) {
    const din = l === 0 ? cfg.dim : cfg.hidden, dout = l === cfg.layers - 1 ? cfg.dim : cfg.hidden;
    n += din * dout + 2 * dout + 2 * dout * (cfg.condDim + 1); // W, b, bg; Wg, Wh
  }
  return n + 4 * cfg.dim + 1;
}

/** Moving batch-norm with lag 0 (normalises with running statistics; learned log-scale and bias). */
export class MovingBatchNorm {
  readonly logScale: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;

  /** `name(key)` gives each variable its (globally unique) tfjs name. */
  constructor(
    readonly dim: number,
    readonly eps: number,
    readonly decay: number,
    name: (key: string) => string,
  ) {
    const make = (init: () => tf.Tensor1D, trainable: boolean, key: string) =>
      tf.tidy(() => tf.variable(init(), trainable, name(key)));
    this.logScale = make(() => tf.zeros([dim]), true, "logScale");
    this.bias = make(() => tf.zeros([dim]), true, "bias");
    this.runningMean = make(() => tf.zeros([dim]), false, "runningMean");
    this.runningVar = make(() => tf.ones([dim]), false, "runningVar");
  }

  /** log|det dy/dx| of one row (the same for every row): sum(logScale - log(var + eps) / 2). */
  logDet(): tf.Scalar {
    return tf.tidy(() =>
      tf.sum(tf.sub(this.logScale, tf.mul(tf.log(tf.add(this.runningVar, this.eps)), 0.5)))
    );
  }

  /** y = (x - mean) / sqrt(var + eps) * exp(logScale) + bias, x [N, D]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const inv = tf.rsqrt(tf.add(this.runningVar, this.eps));
      return tf.add(
        tf.mul(tf.mul(tf.sub(x, this.runningMean), inv), tf.exp(this.logScale)),
        this.bias,
      );
    });
  }

  inverse(y: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const sd = tf.sqrt(tf.add(this.runningVar, this.eps));
      return tf.add(
        tf.mul(tf.mul(tf.sub(y, this.bias), tf.exp(tf.neg(this.logScale))), sd),
        this.runningMean,
      );
    });
  }

  /** running <- running - decay (running - batch statistic), variance unbiased; x [N, D], N >= 2. */
  update(x: tf.Tensor2D): void {
    tf.tidy(() => {
      const n = x.shape[0];
      const mean = tf.mean(x, 0);
      const v = tf.div(tf.sum(tf.square(tf.sub(x, mean)), 0), Math.max(1, n - 1));
      this.runningMean.assign(
        tf.sub(this.runningMean, tf.mul(tf.sub(this.runningMean, mean), this.decay)),
      );
      this.runningVar.assign(
        tf.sub(this.runningVar, tf.mul(tf.sub(this.runningVar, v), this.decay)),
      );
    });
  }

  get variables(): tf.Variable[] {
    return [this.logScale, this.bias];
  }

  get buffers(): tf.Variable[] {
    return [this.runningMean, this.runningVar];
  }
}

/**
 * An ODE right-hand side on a tuple of tensors. `j` is the time's index on the solver's half-step
 * grid (t = t0 + j (t1 - t0) / (2 steps)), so a right-hand side can precompute what depends on t.
 */
export type OdeFunction = (t: tf.Scalar, y: tf.Tensor[], j: number) => tf.Tensor[];

/**
 * Classical fixed-step RK4 from t0 to t1 (either may be a tensor, so gradients reach them).
 * With `tidy` each step's intermediates are freed (inference); without, every step stays
 * differentiable (training backpropagates through the steps).
 */
export function rk4(
  f: OdeFunction,
  y0: tf.Tensor[],
  t0: tf.Scalar | number,
  t1: tf.Scalar | number,
  steps: number,
  opts: { tidy?: boolean } = {},
): tf.Tensor[] {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps: expected a positive integer, got ${steps}`);
  }
  const s0 = typeof t0 === "number" ? tf.scalar(t0) : t0;
  const s1 = typeof t1 === "number" ? tf.scalar(t1) : t1;
  const h = tf.div(tf.sub(s1, s0), steps) as tf.Scalar;
  const half = tf.mul(h, 0.5) as tf.Scalar, sixth = tf.div(h, 6) as tf.Scalar;
  const axpy = (y: tf.Tensor[], a: tf.Scalar, k: tf.Tensor[]) =>
    y.map((v, i) => tf.add(v, tf.mul(k[i], a)));
  let y = y0;
  for (let k = 0; k < steps; k++) {
    const step = () => {
      const t = tf.add(s0, tf.mul(h, k)) as tf.Scalar;
      const tm = tf.add(t, half) as tf.Scalar;
      const k1 = f(t, y, 2 * k);
      const k2 = f(tm, axpy(y, half, k1), 2 * k + 1);
      const k3 = f(tm, axpy(y, half, k2), 2 * k + 1);
      const k4 = f(tf.add(t, h) as tf.Scalar, axpy(y, h, k3), 2 * k + 2);
      return y.map((v, i) =>
        tf.add(v, tf.mul(tf.addN([k1[i], tf.mul(k2[i], 2), tf.mul(k3[i], 2), k4[i]]), sixth))
      );
    };
    if (opts.tidy) {
      const next = tf.tidy(step);
      if (k > 0) tf.dispose(y);
      y = next;
    } else y = step();
  }
  if (opts.tidy) {
    tf.dispose([h, half, sixth]);
    if (typeof t0 === "number") s0.dispose();
    if (typeof t1 === "number") s1.dispose();
  }
  return y;
}

interface Layer {
  w: tf.Variable<tf.Rank.R2>; // [in, out]
  b: tf.Variable<tf.Rank.R1>; // [out]
  wg: tf.Variable<tf.Rank.R2>; // [1 + c, out], row 0 multiplies t
  bg: tf.Variable<tf.Rank.R1>; // [out]
  wh: tf.Variable<tf.Rank.R2>; // [1 + c, out]
}

/**
 * What depends only on (t, c), for every time of a solve, computed once per solve:
 * gate[l][j] = sigmoid([t_j, c] Wg + bg) and offset[l][j] = b gate[l][j] + [t_j, c] Wh, [N, out].
 */
interface Schedule {
  /** Every layer's gate and offset at time index j. */
  at(j: number): { gate: tf.Tensor2D[]; offset: tf.Tensor2D[] };
}

/** Rows above which the schedule is computed per time (tfjs-wasm's Unpack copies slowly). */
const LAZY_ROWS = 32;

/** tanh(a) = 2 sigmoid(2a) - 1: tfjs-wasm's sigmoid is vectorised, its tanh about 15x slower. */
function tanhViaSigmoid(a: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(a, 2)), 2), 1);
}

/**
 * The ODE network and its JVP as one tfjs op, for training: inputs x, v [N, D], then W_l, gate_l,
 * offset_l for every layer; output [f; (df/dx) v], [2N, D]. Forward per layer, with
 * S = [h; u] (one matMul for both): P = S W = [A; U], a = A g + o, q = U g; between layers
 * h' = tanh(a), s = 1 - h'^2, u' = s q (the last layer: f = a, jv = q). Backward, from dh', du':
 * dq = du' s, da = (dh' - 2 (du' q) h') s (last layer: da = df, dq = djv), dg = da A + dq U,
 * do = da, dW = S^T [da g; dq g], [dh; du] = [da g; dq g] W^T. Transposes are explicit (small
 * operands), as tfjs-wasm's transposed matMuls are slow. Checked against autodiff in the tests.
 */
function fusedNetOp(L: number): (...args: tf.Tensor[]) => tf.Tensor2D {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, v, ...rest] = args as tf.Tensor2D[];
    const W = rest.slice(0, L), G = rest.slice(L, 2 * L), O = rest.slice(2 * L, 3 * L);
    const N = x.shape[0];
    let h = x, u = v;
    const keep: tf.Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const out = W[l].shape[1];
      const S = tf.concat([h, u], 0);
      const P = tf.matMul(S, W[l]);
      const A = tf.slice(P, [0, 0], [N, out]), U = tf.slice(P, [N, 0], [N, out]);
      const a = tf.add(tf.mul(A, G[l]), O[l]) as tf.Tensor2D, q = tf.mul(U, G[l]) as tf.Tensor2D;
      if (l < L - 1) {
        const hn = tf.tanh(a), s = tf.sub(1, tf.square(hn)) as tf.Tensor2D;
        keep.push(S, A, U, W[l], G[l], hn, s, q);
        h = hn;
        u = tf.mul(s, q);
      } else {
        keep.push(S, A, U, W[l], G[l]);
        h = a;
        u = q;
      }
    }
    save(keep);
    return {
      value: tf.concat([h, u], 0) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const D = dy.shape[1];
        let dh: tf.Tensor = tf.slice(dy, [0, 0], [N, D]),
          du: tf.Tensor = tf.slice(dy, [N, 0], [N, D]);
        const dW: tf.Tensor[] = [], dG: tf.Tensor[] = [], dO: tf.Tensor[] = [];
        let k = saved.length;
        for (let l = L - 1; l >= 0; l--) {
          let da: tf.Tensor, dq: tf.Tensor;
          let S: tf.Tensor, A: tf.Tensor, U: tf.Tensor, Wl: tf.Tensor, g: tf.Tensor;
          if (l === L - 1) {
            [S, A, U, Wl, g] = saved.slice(k - 5, k);
            k -= 5;
            da = dh;
            dq = du;
          } else {
            let hn: tf.Tensor, s: tf.Tensor, q: tf.Tensor;
            [S, A, U, Wl, g, hn, s, q] = saved.slice(k - 8, k);
            k -= 8;
            dq = tf.mul(du, s);
            da = tf.mul(tf.sub(dh, tf.mul(tf.mul(du, q), tf.mul(hn, 2))), s);
          }
          dG[l] = tf.add(tf.mul(da, A), tf.mul(dq, U));
          dO[l] = da;
          const dP = tf.concat([tf.mul(da, g), tf.mul(dq, g)], 0); // [2N, out]
          dW[l] = tf.matMul(tf.transpose(S), dP);
          const dS = tf.transpose(tf.matMul(Wl, tf.transpose(dP))); // [2N, in]
          const din = Wl.shape[0] as number;
          dh = tf.slice(dS, [0, 0], [N, din]);
          du = tf.slice(dS, [N, 0], [N, din]);
        }
        return [dh, du, ...dW, ...dG, ...dO];
      },
    };
  }) as (...args: tf.Tensor[]) => tf.Tensor2D;
}

export interface LogDensity {
  /** log p(x | c) per row, [N]. */
  logp: tf.Tensor1D;
  /** F(x; c), [N, D]. */
  z: tf.Tensor2D;
  /** Inputs of BN1 and BN2 (for the running-statistics update after a training step). */
  bnInputs: [tf.Tensor2D, tf.Tensor2D];
}

const LOG_2PI = Math.log(2 * Math.PI);
let instances = 0;

export class StyleFlow {
  readonly bn1: MovingBatchNorm;
  readonly bn2: MovingBatchNorm;
  readonly sqrtEndTime: tf.Variable<tf.Rank.R0>;
  private readonly net: Layer[] = [];
  /** Stable names (saved files, optimizer state) of `state`, in its order. */
  private readonly keys = new Map<tf.Variable, string>();
  /** The network and its JVP as one op with a hand-written gradient (see fusedNetOp). */
  private readonly fused: (...args: tf.Tensor[]) => tf.Tensor2D;

  constructor(readonly cfg: StyleFlowConfig = STYLEFLOW) {
    if (!(cfg.condDim >= 1) || !(cfg.layers >= 1) || !(cfg.dim >= 1)) {
      throw new RangeError(
        `StyleFlow config: expected condDim, layers, dim >= 1, got ${cfg.condDim}, ${cfg.layers}, ${cfg.dim}`,
      );
    }
    const prefix = `styleflow${instances++}/`;
    this.bn1 = new MovingBatchNorm(cfg.dim, cfg.bnEps, cfg.bnDecay, (k) => `${prefix}bn1.${k}`);
    this.bn2 = new MovingBatchNorm(cfg.dim, cfg.bnEps, cfg.bnDecay, (k) => `${prefix}bn2.${k}`);
    this.sqrtEndTime = tf.tidy(() =>
      tf.variable(tf.scalar(Math.sqrt(cfg.endTime)), true, `${prefix}sqrtEndTime`)
    );
    const c1 = cfg.condDim + 1;
    const uniform = <R extends tf.Rank>(label: string, shape: number[], fanIn: number) => {
      const a = 1 / Math.sqrt(fanIn);
      const n = shape.reduce((x, y) => x * y, 1);
      const init = new Rng(deriveSeed(cfg.seed, label)).uniforms(n, -a, a);
      return tf.tidy(() =>
        tf.variable(tf.tensor(init, shape) as unknown as tf.Tensor<R>, true, prefix + label)
      );
    };
    for (let l = 0; l < cfg.layers; l++) {
      const din = l === 0 ? cfg.dim : cfg.hidden,
        dout = l === cfg.layers - 1 ? cfg.dim : cfg.hidden;
      this.net.push({
        w: uniform<tf.Rank.R2>(`ode.${l}.w`, [din, dout], din),
        b: uniform<tf.Rank.R1>(`ode.${l}.b`, [dout], din),
        wg: uniform<tf.Rank.R2>(`ode.${l}.wg`, [c1, dout], c1),
        bg: uniform<tf.Rank.R1>(`ode.${l}.bg`, [dout], c1),
        wh: uniform<tf.Rank.R2>(`ode.${l}.wh`, [c1, dout], c1),
      });
    }
    for (const v of this.state) this.keys.set(v, v.name.slice(prefix.length));
    this.fused = fusedNetOp(cfg.layers);
  }

  /** The stable name of one of `state`'s variables ("ode.0.w", "bn1.runningVar", ...). */
  key(v: tf.Variable): string {
    const k = this.keys.get(v);
    if (k === undefined) throw new Error(`${v.name}: not a variable of this flow`);
    return k;
  }

  /** Trainable variables (ODE layers, end time, batch-norm scales and biases). */
  get variables(): tf.Variable[] {
    return [
      ...this.net.flatMap((l) => [l.w, l.b, l.wg, l.bg, l.wh]),
      this.sqrtEndTime,
      ...this.bn1.variables,
      ...this.bn2.variables,
    ];
  }

  /** Everything saved: the variables and the batch-norms' running statistics, by name. */
  get state(): tf.Variable[] {
    return [...this.variables, ...this.bn1.buffers, ...this.bn2.buffers];
  }

  countParameters(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  /** T = sqrtEndTime^2. */
  endTime(): tf.Scalar {
    return tf.square(this.sqrtEndTime);
  }

  private checkInputs(x: tf.Tensor2D, cond: tf.Tensor2D, what: string): void {
    const { dim, condDim } = this.cfg;
    if (x.rank !== 2 || x.shape[1] !== dim) {
      throw new RangeError(`${what}: expected [N, ${dim}], got [${x.shape}]`);
    }
    if (cond.rank !== 2 || cond.shape[0] !== x.shape[0] || cond.shape[1] !== condDim) {
      throw new RangeError(`cond: expected [${x.shape[0]}, ${condDim}], got [${cond.shape}]`);
    }
  }

  /** The gates and offsets at `times` [K] for conditions `cond` [N, c]. */
  private schedule(cond: tf.Tensor2D, times: tf.Tensor1D): Schedule {
    const c = this.cfg.condDim, K = times.shape[0], N = cond.shape[0];
    const parts = this.net.map((l) => {
      const out = l.w.shape[1];
      return {
        l,
        gate: tf.add(tf.matMul(cond, tf.slice(l.wg, [1, 0], [c, out])), l.bg), // [N, out]
        gateT: tf.slice(l.wg, [0, 0], [1, out]), // [1, out]
        bias: tf.matMul(cond, tf.slice(l.wh, [1, 0], [c, out])),
        biasT: tf.slice(l.wh, [0, 0], [1, out]),
      };
    });
    if (N > LAZY_ROWS) {
      // Per time, on demand (inference with many rows).
      return {
        at: (j) => {
          const t = tf.slice(times, [j], [1]);
          const gate = parts.map((p) => tf.sigmoid(tf.add(p.gate, tf.mul(p.gateT, t))));
          const offset = parts.map((p, i) =>
            tf.add(tf.mul(gate[i], p.l.b), tf.add(p.bias, tf.mul(p.biasT, t)))
          );
          return { gate, offset } as { gate: tf.Tensor2D[]; offset: tf.Tensor2D[] };
        },
      };
    }
    // Every time at once, [K, N, out] per layer, then unstacked (few kernels: training).
    const tt = tf.reshape(times, [K, 1, 1]);
    const gates: tf.Tensor2D[][] = [], offsets: tf.Tensor2D[][] = [];
    for (const p of parts) {
      const out = p.l.w.shape[1];
      const at = (base: tf.Tensor, slope: tf.Tensor) =>
        tf.add(tf.expandDims(base, 0), tf.mul(tt, tf.reshape(slope, [1, 1, out])));
      const gate = tf.sigmoid(at(p.gate, p.gateT));
      gates.push(tf.unstack(gate) as tf.Tensor2D[]);
      offsets.push(tf.unstack(tf.add(tf.mul(gate, p.l.b), at(p.bias, p.biasT))) as tf.Tensor2D[]);
    }
    return { at: (j) => ({ gate: gates.map((g) => g[j]), offset: offsets.map((o) => o[j]) }) };
  }

  /**
   * The network at time index j: f [N, D] and, with v, (df/dx) v carried forward beside it;
   * `fused` runs the pair as one op with a hand-written gradient (fewer tfjs kernels).
   */
  private evalNet(x: tf.Tensor2D, sch: Schedule, j: number, v: tf.Tensor2D | null, fused = true) {
    const { gate, offset } = sch.at(j);
    if (v && fused) {
      const N = x.shape[0], D = this.cfg.dim;
      const out = this.fused(x, v, ...this.net.map((l) => l.w), ...gate, ...offset);
      return { f: tf.slice(out, [0, 0], [N, D]), jv: tf.slice(out, [N, 0], [N, D]) };
    }
    let h: tf.Tensor2D = x, u = v;
    const last = this.net.length - 1;
    const tanh = x.shape[0] > LAZY_ROWS ? tanhViaSigmoid : tf.tanh;
    this.net.forEach((l, i) => {
      const g = gate[i];
      const a = tf.add(tf.mul(tf.matMul(h, l.w), g), offset[i]) as tf.Tensor2D;
      const du = u ? (tf.mul(tf.matMul(u, l.w), g) as tf.Tensor2D) : null;
      if (i < last) {
        h = tanh(a) as tf.Tensor2D;
        if (du) u = tf.mul(tf.sub(1, tf.square(h)), du) as tf.Tensor2D;
      } else {
        h = a;
        u = du;
      }
    });
    return { f: h, jv: u };
  }

  /** f(t, x; c) [N, D] and, with `v`, the Jacobian-vector product (df/dx) v [N, D]. */
  odeFunction(
    t: tf.Scalar | number,
    x: tf.Tensor2D,
    cond: tf.Tensor2D,
    v?: tf.Tensor2D,
  ): { f: tf.Tensor2D; jv: tf.Tensor2D | null } {
    this.checkInputs(x, cond, "x");
    const [f, jv] = tf.tidy(() => {
      const ts = typeof t === "number" ? tf.scalar(t) : t;
      const r = this.evalNet(x, this.schedule(cond, tf.reshape(ts, [1])), 0, v ?? null);
      return r.jv ? [r.f, r.jv] : [r.f];
    });
    return { f, jv: jv ?? null };
  }

  /**
   * Integrates the CNF: forward 0 -> T, or reverse T -> 0. With `noise` e [N, D], also
   * -int tr(df/dx) dt (Hutchinson, e fixed over the solve), [N]; `train` keeps every step for
   * backpropagation.
   */
  integrate(
    x: tf.Tensor2D,
    cond: tf.Tensor2D,
    opts: {
      reverse?: boolean;
      noise?: tf.Tensor2D;
      steps?: number;
      train?: boolean;
      /** Run the network and its JVP as one op (default true); false: plain autodiff. */
      fused?: boolean;
    } = {},
  ): { x: tf.Tensor2D; deltaLogp: tf.Tensor1D | null } {
    this.checkInputs(x, cond, "x");
    const steps = opts.steps ?? this.cfg.steps;
    const e = opts.noise ?? null;
    if (e && e.shape.join() !== x.shape.join()) {
      throw new RangeError(`noise: expected [${x.shape}], got [${e.shape}]`);
    }
    const run = () => {
      const T = this.endTime();
      const zero = tf.scalar(0);
      const grid = tf.linspace(0, 1, 2 * steps + 1);
      const times = tf.mul(opts.reverse ? tf.sub(1, grid) : grid, T) as tf.Tensor1D;
      const sch = this.schedule(cond, times);
      const f: OdeFunction = (_t, y, j) => {
        const r = this.evalNet(y[0] as tf.Tensor2D, sch, j, e, opts.fused ?? true);
        return e ? [r.f, tf.neg(tf.sum(tf.mul(e, r.jv!), 1))] : [r.f];
      };
      const y0 = e ? [x, tf.zeros([x.shape[0]])] : [x];
      const [a, b] = opts.reverse ? [T, zero] : [zero, T];
      const y = rk4(f, y0, a, b, steps, { tidy: !opts.train });
      return { x: y[0] as tf.Tensor2D, deltaLogp: e ? (y[1] as tf.Tensor1D) : null };
    };
    if (opts.train) return run();
    const [out, deltaLogp] = tf.tidy(() => {
      const r = run();
      return r.deltaLogp ? [r.x, r.deltaLogp] : [r.x];
    });
    return { x: out as tf.Tensor2D, deltaLogp: (deltaLogp as tf.Tensor1D | undefined) ?? null };
  }

  /** z = F(x; c) = BN2(CNF(BN1(x); c)), no log-density. */
  forward(x: tf.Tensor2D, cond: tf.Tensor2D, steps?: number): tf.Tensor2D {
    return tf.tidy(() => this.bn2.forward(this.integrate(this.bn1.forward(x), cond, { steps }).x));
  }

  /** x = F^-1(z; c): the batch-norms inverted and the ODE integrated from T back to 0. */
  inverse(z: tf.Tensor2D, cond: tf.Tensor2D, steps?: number): tf.Tensor2D {
    this.checkInputs(z, cond, "z");
    return tf.tidy(() =>
      this.bn1.inverse(this.integrate(this.bn2.inverse(z), cond, { reverse: true, steps }).x)
    );
  }

  /**
   * log p(x | c) with the Hutchinson noise e [N, D]. `train` keeps the graph of every solver step
   * for backpropagation (call inside tf.variableGrads); the caller disposes the result.
   */
  logDensity(
    x: tf.Tensor2D,
    cond: tf.Tensor2D,
    noise: tf.Tensor2D,
    opts: { steps?: number; train?: boolean; fused?: boolean } = {},
  ): LogDensity {
    this.checkInputs(x, cond, "x");
    const body = () => {
      const y1 = this.bn1.forward(x);
      const { x: z0, deltaLogp } = this.integrate(y1, cond, {
        noise,
        steps: opts.steps,
        train: opts.train,
        fused: opts.fused,
      });
      const z = this.bn2.forward(z0);
      const D = this.cfg.dim;
      const logN = tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), 0.5 * D * LOG_2PI);
      const logp = tf.sub(
        tf.add(logN, tf.add(this.bn1.logDet(), this.bn2.logDet())),
        deltaLogp!,
      ) as tf.Tensor1D;
      return { logp, z, bnInputs: [tf.keep(x.clone()), tf.keep(z0)] as [tf.Tensor2D, tf.Tensor2D] };
    };
    return opts.train ? body() : tf.tidy(body);
  }

  /** Moves both batch-norms' running statistics towards a batch's (after a training step). */
  updateStatistics(bnInputs: [tf.Tensor2D, tf.Tensor2D]): void {
    this.bn1.update(bnInputs[0]);
    this.bn2.update(bnInputs[1]);
  }

  tensors(): Record<string, TensorInput> {
    const out: Record<string, TensorInput> = {};
    for (const v of this.state) {
      out[this.key(v)] = f32Entry(v);
    }
    return out;
  }

  /** Sets every variable and running statistic from `tensors` (by name; shapes checked). */
  assign(
    get: (name: string) => { shape: number[]; data: Float32Array } | undefined,
    source: string,
  ): void {
    for (const v of this.state) {
      const t = get(this.key(v));
      if (!t || t.shape.join() !== v.shape.join()) {
        throw new Error(`${source}: tensor "${this.key(v)}" missing or not of shape [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
    }
  }

  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await writeSafetensors(path, this.tensors(), {
      method: "StyleFlow",
      config: JSON.stringify(this.cfg),
      ...metadata,
    });
  }

  static async load(path: string): Promise<{ flow: StyleFlow; metadata: Record<string, string> }> {
    const f = await readSafetensors(path);
    if (!f.metadata.config) throw new Error(`${path}: no StyleFlow config in the metadata`);
    const flow = new StyleFlow(JSON.parse(f.metadata.config));
    flow.assign((name) => {
      const t = f.tensors.get(name);
      return t ? { shape: t.shape, data: toFloat32(t, name) } : undefined;
    }, path);
    return { flow, metadata: f.metadata };
  }

  dispose(): void {
    tf.dispose(this.state);
  }
}
