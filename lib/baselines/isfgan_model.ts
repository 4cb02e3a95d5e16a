/**
 * ISF-GAN's implicit style function (Liu et al., TMM 2022), as its authors' code builds it for
 * StyleGAN2 (train.sh: pre_norm=1, use_residual=0, norm_type=adaln, 64-d noise):
 *
 *   trunk   h0 = MLP(z || y): Linear(R+K -> 512), ReLU, then 3 x [LayerNorm, Linear 512, ReLU]
 *   heads   one per W+ row i: h_i = Linear, ReLU, Linear, ReLU, Linear (512 -> 512) of h0
 *   AdaLN   [gamma_i, beta_i] = Linear(512 -> 1024)(h_i);  u_i = (1 + gamma_i) LN(w_i) + beta_i
 *   output  w'_i = [LN, Linear, ReLU, LN, Linear, ReLU, LN, Linear](u_i), shared across rows
 *
 * The output replaces w (no residual; `residual: true` adds w, the authors' use_residual=1). 16,327,168 parameters for R = 64, K = 4, 18 rows, as the
 * ID-Style paper reports (Table 2).
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../util/rng.ts";

export interface IsfConfig {
  noiseDim: number;
  domains: number;
  rows: number;
  latentDim: number;
  hidden: number;
  /** The authors' use_residual: w' = w + net(w) instead of w' = net(w) (their StyleGAN2 run: off). */
  residual?: boolean;
  seed: number;
}

export const ISF_DEFAULT: Omit<IsfConfig, "domains" | "seed"> = {
  noiseDim: 64,
  rows: 18,
  latentDim: 512,
  hidden: 512,
};

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}
interface Norm {
  g: tf.Variable;
  b: tf.Variable;
}

let instances = 0;

export class IsfMapping {
  readonly variables: tf.Variable[] = [];
  private readonly prefix = `isf${instances++}`;
  private readonly trunkIn: Dense;
  private readonly trunk: { ln: Norm; fc: Dense }[];
  private readonly heads: Dense[][];
  private readonly adaln: Dense;
  private readonly adalnNorm: Norm;
  private readonly outNorms: Norm[];
  private readonly outFcs: Dense[];

  constructor(readonly cfg: IsfConfig) {
    const H = cfg.hidden, D = cfg.latentDim;
    let k = 0;
    const dense = (fanIn: number, fanOut: number): Dense => {
      const r = new Rng(deriveSeed(cfg.seed, `isf/${k++}`));
      const bound = 1 / Math.sqrt(fanIn); // PyTorch's nn.Linear default
      return {
        w: this.variable(r.uniforms(fanIn * fanOut, -bound, bound), [fanIn, fanOut]),
        b: this.variable(r.uniforms(fanOut, -bound, bound), [fanOut]),
      };
    };
    const norm = (n: number): Norm => ({
      g: this.variable(new Float32Array(n).fill(1), [n]),
      b: this.variable(new Float32Array(n), [n]),
    });
    this.trunkIn = dense(cfg.noiseDim + cfg.domains, H);
    this.trunk = [0, 1, 2].map(() => ({ ln: norm(H), fc: dense(H, H) }));
    this.heads = Array.from({ length: cfg.rows }, () => [dense(H, H), dense(H, H), dense(H, H)]);
    this.adaln = dense(H, 2 * D);
    this.adalnNorm = norm(D);
    this.outNorms = [norm(D), norm(D), norm(D)];
    this.outFcs = [dense(D, D), dense(D, D), dense(D, D)];
  }

  private variable(values: Float32Array, shape: number[]): tf.Variable {
    const name = `${this.prefix}/${this.variables.length}`;
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), true, name)); // no stray initial tensor
    this.variables.push(v);
    return v;
  }

  /**
   * The trunk's first weight [R + K, H] and the row where the code's K rows start (after the R
   * noise rows): the only place y enters the mapping.
   */
  get codeInput(): { weight: tf.Variable; firstRow: number } {
    return { weight: this.trunkIn.w, firstRow: this.cfg.noiseDim };
  }

  countParameters(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  /** w [B, L, D], z [B, R], y [B, K] (target attributes, 0/1) -> w' [B, L, D]. */
  forward(w: tf.Tensor3D, z: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor3D {
    const [B, L, D] = w.shape;
    const H = this.cfg.hidden;
    const lin = (x: tf.Tensor, d: Dense) => tf.add(tf.matMul(x as tf.Tensor2D, d.w), d.b);
    const ln = (x: tf.Tensor, n: Norm) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), n.g), n.b);
    };
    return tf.tidy(() => {
      let h: tf.Tensor = tf.relu(lin(tf.concat([z, y], 1), this.trunkIn)); // [B, H]
      for (const t of this.trunk) h = tf.relu(lin(ln(h, t.ln), t.fc));
      const rows = this.heads.map(([a, b, c]) => lin(tf.relu(lin(tf.relu(lin(h, a)), b)), c)); // L x [B, H]
      const hr = tf.reshape(tf.stack(rows, 1), [B * L, H]);
      const gb = lin(hr, this.adaln); // [B L, 2D]
      const gamma = tf.slice(gb, [0, 0], [B * L, D]), beta = tf.slice(gb, [0, D], [B * L, D]);
      let u: tf.Tensor = tf.add(
        tf.mul(tf.add(gamma, 1), ln(tf.reshape(w, [B * L, D]), this.adalnNorm)),
        beta,
      );
      for (let i = 0; i < 3; i++) {
        u = lin(ln(u, this.outNorms[i]), this.outFcs[i]);
        if (i < 2) u = tf.relu(u);
      }
      const out = tf.reshape(u, [B, L, D]) as tf.Tensor3D;
      return this.cfg.residual ? tf.add(out, w) : out;
    });
  }

  /** ema <- beta ema + (1 - beta) this (parameter-wise), for the EMA copy used at inference. */
  updateEma(ema: IsfMapping, beta: number): void {
    tf.tidy(() =>
      this.variables.forEach((v, i) =>
        ema.variables[i].assign(tf.add(tf.mul(ema.variables[i], beta), tf.mul(v, 1 - beta)))
      )
    );
  }

  copyFrom(other: IsfMapping): void {
    this.variables.forEach((v, i) => v.assign(other.variables[i]));
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** The parameter count of the authors' formula (their code, pre_norm=1), for a hand check. */
export function isfParameterFormula(R: number, K: number, N: number, L = 512, H = 512): number {
  const trunk = (R + K) * H + H + 3 * (H * H + H + 2 * H);
  const heads = 3 * N * (H * H + H);
  const adaln = 2 * L + (H * 2 * L + 2 * L);
  const out = 3 * (L * L + L) + 3 * 2 * L;
  return trunk + heads + adaln + out;
}
