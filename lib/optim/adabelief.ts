/**
 * AdaBelief (Zhuang et al. 2020, Algorithm 2 with bias correction), for tfjs variables:
 *
 *   [decoupled]  theta <- theta (1 - lr wd)          [coupled]  g <- g + wd theta
 *   m <- b1 m + (1 - b1) g
 *   s <- b2 s + (1 - b2) (g - m)^2 + eps
 *   theta <- theta - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
 *
 * This is also what adabelief-pytorch 0.2 computes with rectify=False, amsgrad=False (the
 * official code's setting). The state (step, m, s) can be read and restored for resumable runs.
 */
import * as tf from "@tensorflow/tfjs";
import type { OptimConfig } from "../model/config.ts";

export type AdaBeliefOptions = Pick<
  OptimConfig,
  "lr" | "beta1" | "beta2" | "eps" | "weightDecay" | "decoupledWeightDecay"
>;

export interface AdaBeliefState {
  step: number;
  /** First and second moments by variable name (the order of construction). */
  m: Float32Array[];
  s: Float32Array[];
}

export class AdaBelief {
  /** Number of updates applied so far (t of the last update). */
  step = 0;
  private readonly m: tf.Variable[];
  private readonly s: tf.Variable[];

  constructor(readonly variables: readonly tf.Variable[], readonly opts: AdaBeliefOptions) {
    this.m = variables.map((v) => tf.variable(tf.zerosLike(v), false));
    this.s = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  /** Applies one update with gradients in the order of `variables`; `lr` overrides opts.lr. */
  apply(grads: readonly tf.Tensor[], lr = this.opts.lr): void {
    if (grads.length !== this.variables.length) {
      throw new RangeError(`grads: expected ${this.variables.length} tensors, got ${grads.length}`);
    }
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, decoupledWeightDecay } = this.opts;
    this.step += 1;
    const bc1 = 1 - Math.pow(b1, this.step);
    const bc2 = 1 - Math.pow(b2, this.step);
    tf.tidy(() => {
      this.variables.forEach((p, i) => {
        let g = grads[i];
        let theta: tf.Tensor = p;
        if (wd > 0) {
          if (decoupledWeightDecay) theta = tf.mul(p, 1 - lr * wd);
          else g = tf.add(g, tf.mul(p, wd));
        }
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const r = tf.sub(g, m);
        const s = tf.add(tf.add(tf.mul(this.s[i], b2), tf.mul(tf.mul(r, r), 1 - b2)), eps);
        const denom = tf.add(tf.sqrt(tf.div(s, bc2)), eps);
        p.assign(tf.sub(theta, tf.mul(tf.div(m, denom), lr / bc1)));
        this.m[i].assign(m);
        this.s[i].assign(s);
      });
    });
  }

  getState(): AdaBeliefState {
    return {
      step: this.step,
      m: this.m.map((v) => v.dataSync() as Float32Array),
      s: this.s.map((v) => v.dataSync() as Float32Array),
    };
  }

  setState(state: AdaBeliefState): void {
    if (state.m.length !== this.m.length || state.s.length !== this.s.length) {
      throw new RangeError(
        `optimizer state: expected ${this.m.length} moments, got ${state.m.length}`,
      );
    }
    this.step = state.step;
    state.m.forEach((a, i) => this.m[i].assign(tf.tensor(a, this.m[i].shape)));
    state.s.forEach((a, i) => this.s[i].assign(tf.tensor(a, this.s[i].shape)));
  }

  dispose(): void {
    for (const v of [...this.m, ...this.s]) v.dispose();
  }
}
