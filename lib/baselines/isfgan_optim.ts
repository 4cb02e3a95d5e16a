/**
 * ISF-GAN's optimisation, as their solver does it for both networks: `clip_grad_norm_(params,
 * 1.0)` on the raw gradients, then `torch.optim.Adam(lr, betas, weight_decay)` (the decay is
 * coupled: added to the clipped gradient inside the step), with the learning rate from timm's
 * `CosineLRScheduler(t_initial = total, lr_min, warmup_lr_init, warmup_t)` updated every step.
 * The state (moments and step) can be written and read for resumable runs.
 */
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, type TensorInput } from "../io/safetensors.ts";

export interface IsfOptimConfig {
  lr: number;
  minLr: number;
  warmupLrInit: number;
  warmupSteps: number;
  betas: [number, number];
  weightDecay: number;
  clipNorm: number;
}

/**
 * timm's cosine schedule without a warm-up prefix: a linear ramp from warmupLrInit to lr over
 * the warm-up, then lr_min + (lr - lr_min) (1 + cos(pi t / total)) / 2 of the step t itself.
 */
export function isfLearningRate(cfg: IsfOptimConfig, step: number, total: number): number {
  if (step < cfg.warmupSteps) {
    return cfg.warmupLrInit + step * (cfg.lr - cfg.warmupLrInit) / cfg.warmupSteps;
  }
  return cfg.minLr + 0.5 * (cfg.lr - cfg.minLr) * (1 + Math.cos(Math.PI * step / total));
}

export class ClippedAdam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  t = 0;
  /** Global gradient norm before clipping, of the last step. */
  lastNorm = 0;

  constructor(private readonly vars: tf.Variable[], private readonly cfg: IsfOptimConfig) {
    // With beta1 = 0 (theirs) the first moment is the gradient itself: no state to keep.
    const zeros = () => tf.tidy(() => vars.map((x) => tf.variable(tf.zerosLike(x), false)));
    this.m = cfg.betas[0] !== 0 ? zeros() : [];
    this.v = zeros();
  }

  apply(grads: tf.Tensor[], lr: number): void {
    if (grads.length !== this.vars.length || grads.some((g) => !g)) {
      throw new RangeError(`grads: expected ${this.vars.length} tensors`);
    }
    this.t++;
    const [b1, b2] = this.cfg.betas;
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    const sq = tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
    this.lastNorm = Math.sqrt(sq.dataSync()[0]);
    sq.dispose();
    const scale = this.lastNorm > this.cfg.clipNorm
      ? this.cfg.clipNorm / (this.lastNorm + 1e-6)
      : 1;
    tf.tidy(() =>
      grads.forEach((g0, i) => {
        const p = this.vars[i];
        const g = tf.add(scale === 1 ? g0 : tf.mul(g0, scale), tf.mul(p, this.cfg.weightDecay));
        const m = b1 === 0 ? g : tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.sqrt(tf.div(v, c2)), 1e-8);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / c1)));
        if (b1 !== 0) this.m[i].assign(m);
        this.v[i].assign(v);
      })
    );
  }

  /** Moments as named tensors (`m` only where beta1 > 0: with beta1 = 0 it is the gradient). */
  tensors(prefix: string): Record<string, TensorInput> {
    const out: Record<string, TensorInput> = {};
    const f32 = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
    this.vars.forEach((p, i) => {
      const k = String(i).padStart(3, "0");
      if (this.cfg.betas[0] !== 0) {
        out[`${prefix}m.${k}`] = { dtype: "F32", shape: p.shape as number[], data: f32(this.m[i]) };
      }
      out[`${prefix}v.${k}`] = { dtype: "F32", shape: p.shape as number[], data: f32(this.v[i]) };
    });
    return out;
  }

  assign(
    prefix: string,
    get: (name: string) => { shape: number[]; data: Float32Array } | undefined,
    source: string,
    step: number,
  ): void {
    this.vars.forEach((p, i) => {
      const k = String(i).padStart(3, "0");
      const kinds = this.cfg.betas[0] !== 0 ? [["m", this.m[i]], ["v", this.v[i]]] as const : [[
        "v",
        this.v[i],
      ]] as const;
      for (const [kind, target] of kinds) {
        const t = get(`${prefix}${kind}.${k}`);
        if (!t || t.shape.join() !== p.shape.join()) {
          throw new CheckpointError(`${source}: ${prefix}${kind}.${k} missing or misshapen`);
        }
        tf.tidy(() => target.assign(tf.tensor(t.data, p.shape)));
      }
    });
    this.t = step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
