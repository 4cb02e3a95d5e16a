/**
 * ISF-GAN's discriminator: StarGAN-v2's (the authors' `core/model.py`, `Discriminator`), shaped
 * for 64 px renders and narrowed to fit one CPU core:
 *
 *   images [N, 64, 64, 3] in [-1, 1]
 *   stem     conv 3x3, pad 1, 3 -> C0                                     [N, 64, 64, C0]
 *   ResBlk k (k = 1..K, K = log2(64) - 2 = 4; downsample, no normalisation):
 *              shortcut = avg_pool2(conv1x1(x))   (no bias; only where C_in != C_out)
 *              residual = conv2(lrelu(avg_pool2(conv1(lrelu(x)))))   (3x3, pad 1, bias)
 *              x = (shortcut + residual) / sqrt(2)                       [N, 4, 4, C_K] at the end
 *   out_cls  lrelu, conv 4x4 (valid) C -> C, lrelu, conv 1x1 C -> M   -> class logits [N, M]
 *   out_src  lrelu, conv 4x4 (valid) C -> C, lrelu, conv 1x1 C -> 1   -> real/fake logit [N]
 *
 * Widths follow their rule C_k = min(2 C_{k-1}, maxConvDim) from a stem width `dimIn`; theirs at
 * 256 px is dimIn = 2^14 / 256 = 64 and maxConvDim 512 (64, 128, 256, 512, 512, 512, 512: six
 * ResBlks, about 25M parameters with both heads); their rule at 64 px (dimIn 2^14 / 64 = 256)
 * would give 256, 512, 512, 512, 512. ISF_DISC_64 narrows that to 16, 32, 64, 128, 128
 * (977,045 parameters for M = 4, of which 525,189 in the two heads; isfDiscriminatorParameters
 * is the hand formula). Measured on one tfjs-wasm core at batch 8 (while the other core was
 * busy): forward about 0.1 s, forward and backward 0.3 s, the R1 step (a gradient of a gradient)
 * about 1 s; widths 32, 64, 128, 256, 256 (3,904,293 parameters) cost about twice as much.
 *
 * Initialisation as theirs (their he_init is defined but never applied): PyTorch's default for
 * Conv2d, weights and biases uniform in +-1/sqrt(fan_in), from a seed.
 *
 * Every op here is twice differentiable in tfjs (R1 needs the gradient of a gradient): average
 * pooling is written as slices and adds (tfjs has no gradient for AvgPoolGrad), leaky ReLU from
 * Relu (see lrelu), and the two head
 * convolutions, which see a 4x4 map (4x4 valid) or a 1x1 map (1x1), are the equivalent matMuls.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../util/rng.ts";
import type { TensorInput } from "../io/safetensors.ts";
import { CheckpointError } from "../io/safetensors.ts";
import { f32Entry } from "../io/tensor_input.ts";

export interface IsfDiscriminatorConfig {
  /** Input resolution (square, a power of two >= 8): log2(resolution) - 2 ResBlks. */
  resolution: number;
  /** Stem width (theirs: 2^14 / resolution). */
  dimIn: number;
  /** Width cap (theirs: 512). */
  maxConvDim: number;
  /** Class logits (attributes). */
  domains: number;
  seed: number;
}

/** The 64 px discriminator trained here: stem 16, ResBlks 32, 64, 128, 128. */
export const ISF_DISC_64: Omit<IsfDiscriminatorConfig, "domains" | "seed"> = {
  resolution: 64,
  dimIn: 16,
  maxConvDim: 128,
};

/** [stem width, output width of each ResBlk]. */
export function isfDiscriminatorWidths(cfg: Omit<IsfDiscriminatorConfig, "seed" | "domains">) {
  const K = Math.log2(cfg.resolution) - 2;
  if (!Number.isInteger(K) || K < 1) {
    throw new RangeError(`resolution: expected a power of two >= 8, got ${cfg.resolution}`);
  }
  const widths = [cfg.dimIn];
  for (let k = 0; k < K; k++) widths.push(Math.min(widths[k] * 2, cfg.maxConvDim));
  return widths;
}

/** Parameter count by hand: stem, ResBlks (two 3x3 convs with bias, a 1x1 without), two heads. */
export function isfDiscriminatorParameters(
  cfg: Omit<IsfDiscriminatorConfig, "seed">,
): number {
  const w = isfDiscriminatorWidths(cfg);
  let n = 3 * 9 * w[0] + w[0];
  for (let k = 1; k < w.length; k++) {
    const a = w[k - 1], b = w[k];
    n += (9 * a * a + a) + (9 * a * b + b) + (a !== b ? a * b : 0);
  }
  const C = w[w.length - 1];
  const head = (out: number) => 16 * C * C + C + C * out + out;
  return n + head(cfg.domains) + head(1);
}

interface Conv {
  w: tf.Variable; // [k, k, Cin, Cout]
  b: tf.Variable | null; // [Cout]
}

interface Block {
  conv1: Conv;
  conv2: Conv;
  shortcut: Conv | null;
}

let instances = 0;

/**
 * Leaky ReLU, slope 0.2, as 0.2 x + 0.8 relu(x): tfjs's LeakyRelu gradient goes through a
 * Greater mask, which has no gradient, so a second derivative through it fails; Relu's uses Step.
 */
export const lrelu = (x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => tf.add(tf.mul(x, 0.2), tf.mul(tf.relu(x), 0.8)));

/** 2x2 average pooling, [N, H, W, C] -> [N, H/2, W/2, C], from slices (twice differentiable). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [N, H, W, C] = x.shape;
    const rows = tf.reshape(x, [N * H / 2, 2, W * C]);
    const h = tf.add(
      tf.slice(rows, [0, 0, 0], [-1, 1, -1]),
      tf.slice(rows, [0, 1, 0], [-1, 1, -1]),
    ); // [N H/2, 1, W C]
    const cols = tf.reshape(h, [N * H / 2 * W / 2, 2 * C]);
    const s = tf.add(tf.slice(cols, [0, 0], [-1, C]), tf.slice(cols, [0, C], [-1, C]));
    return tf.reshape(tf.mul(s, 0.25), [N, H / 2, W / 2, C]) as tf.Tensor4D;
  });
}

export interface DiscriminatorOutput {
  /** Class logits [N, M]. */
  cls: tf.Tensor2D;
  /** Real/fake logits [N]. */
  src: tf.Tensor1D;
}

export class IsfDiscriminator {
  readonly variables: tf.Variable[] = [];
  readonly names: string[] = [];
  readonly widths: number[];
  private readonly prefix = `isfd${instances++}`;
  private readonly stem: Conv;
  private readonly blocks: Block[];
  private readonly heads: { cls: [Conv, Conv]; src: [Conv, Conv] };

  constructor(readonly cfg: IsfDiscriminatorConfig) {
    this.widths = isfDiscriminatorWidths(cfg);
    const w = this.widths;
    this.stem = this.conv("main.0", 3, 3, w[0], true);
    this.blocks = w.slice(1).map((cout, i) => {
      const cin = w[i], p = `main.${i + 1}`;
      return {
        conv1: this.conv(`${p}.conv1`, 3, cin, cin, true),
        conv2: this.conv(`${p}.conv2`, 3, cin, cout, true),
        shortcut: cin !== cout ? this.conv(`${p}.conv1x1`, 1, cin, cout, false) : null,
      };
    });
    const C = w[w.length - 1];
    this.heads = {
      cls: [this.conv("out_cls.1", 4, C, C, true), this.conv("out_cls.3", 1, C, cfg.domains, true)],
      src: [this.conv("out_src.1", 4, C, C, true), this.conv("out_src.3", 1, C, 1, true)],
    };
  }

  private conv(name: string, k: number, cin: number, cout: number, bias: boolean): Conv {
    const rng = new Rng(deriveSeed(this.cfg.seed, `isfd/${name}`));
    const bound = 1 / Math.sqrt(cin * k * k); // PyTorch's Conv2d default
    const add = (suffix: string, shape: number[], n: number) => {
      const values = rng.uniforms(n, -bound, bound), full = `${this.prefix}/${name}.${suffix}`;
      const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), true, full));
      this.variables.push(v);
      this.names.push(`${name}.${suffix}`);
      return v;
    };
    const w = add("weight", [k, k, cin, cout], k * k * cin * cout);
    return { w, b: bias ? add("bias", [cout], cout) : null };
  }

  countParameters(): number {
    return this.variables.reduce((s, v) => s + v.size, 0);
  }

  /** images [N, R, R, 3] in [-1, 1] -> class logits [N, M] and real/fake logits [N]. */
  forward(images: tf.Tensor4D): DiscriminatorOutput {
    const R = this.cfg.resolution;
    if (images.rank !== 4 || images.shape[1] !== R || images.shape[2] !== R) {
      throw new RangeError(
        `images: expected [N, ${R}, ${R}, 3], got [${images.shape.join(", ")}]`,
      );
    }
    return tf.tidy(() => {
      const conv3 = (x: tf.Tensor, c: Conv) =>
        tf.add(tf.conv2d(x as tf.Tensor4D, c.w as tf.Tensor4D, 1, "same"), c.b!) as tf.Tensor4D;
      let x = conv3(images, this.stem);
      for (const b of this.blocks) {
        const [N, H, W, Ci] = x.shape;
        let sc = avgPool2(x); // avg_pool2(conv1x1(x)) = conv1x1(avg_pool2(x)): both linear
        if (b.shortcut) {
          const Co = b.shortcut.w.shape[3] as number;
          sc = tf.reshape(
            tf.matMul(tf.reshape(sc, [-1, Ci]), tf.reshape(b.shortcut.w, [Ci, Co])),
            [N, H / 2, W / 2, Co],
          );
        }
        let r = conv3(lrelu(x), b.conv1);
        r = conv3(lrelu(avgPool2(r)), b.conv2);
        x = tf.mul(tf.add(sc, r), Math.SQRT1_2) as tf.Tensor4D;
      }
      const [N, h, w, C] = x.shape;
      const flat = tf.reshape(lrelu(x), [N, h * w * C]); // the 4x4 valid conv sees all of it
      const head = ([c4, c1]: [Conv, Conv]) => {
        const k4 = tf.reshape(c4.w, [h * w * C, C]);
        const hid = lrelu(tf.add(tf.matMul(flat, k4), c4.b!));
        return tf.add(tf.matMul(hid, tf.reshape(c1.w, [C, c1.w.shape[3] as number])), c1.b!);
      };
      const cls = head(this.heads.cls) as tf.Tensor2D;
      const src = tf.reshape(head(this.heads.src), [N]) as tf.Tensor1D;
      return { cls, src };
    });
  }

  /** The parameters by their PyTorch names (`main.1.conv1.weight`, ...), HWIO layout. */
  tensors(prefix = "disc."): Record<string, TensorInput> {
    const out: Record<string, TensorInput> = {};
    this.variables.forEach((v, i) => {
      out[prefix + this.names[i]] = f32Entry(v);
    });
    return out;
  }

  /** Sets the parameters from `get(name)` (the names of `tensors`); a clear error for a gap. */
  assign(
    get: (name: string) => { shape: number[]; data: Float32Array } | undefined,
    source: string,
    prefix = "disc.",
  ): void {
    this.variables.forEach((v, i) => {
      const t = get(prefix + this.names[i]);
      if (!t || t.shape.join() !== v.shape.join()) {
        throw new CheckpointError(
          `${source}: ${prefix + this.names[i]} missing or not of shape [${v.shape}]`,
        );
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
    });
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}
