/**
 * StyleGAN2's layers in tfjs (NHWC), in rosinality's formulation (DESIGN.md section 2.2). The
 * modulated convolution uses the non-fused form, which is exactly equivalent and lets the whole
 * batch share one convolution:
 *
 *   s = A(w)                                  style, [N, Cin]
 *   y = conv(x * s, scale * W)                one shared kernel
 *   y = y * rsqrt(s^2 . sum_k (scale W)^2 + 1e-8)   demodulation, per sample and output channel
 *
 * The up-sampling layer is a stride-2 transposed convolution followed by the [1, 3, 3, 1] blur
 * (padding 1, 1); ToRGB's skip up-sampling is `upfirdn2d(up=2, pad=(2, 1))`, which equals a
 * stride-2 transposed convolution with the same kernel cropped by one pixel on each side.
 * Everything is differentiable with respect to the input and the styles; the blur's gradient is
 * written out (a depthwise convolution of the output gradient) because tfjs-wasm has no kernel
 * for the depthwise input gradient.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModConvWeights, StyledConvWeights, ToRgbWeights } from "./weights.ts";

const SQRT2 = Math.SQRT2;

/** x * rsqrt(mean(x^2) + 1e-8) over the last axis. [N, D] */
export function pixelNorm(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-8))));
}

/** leaky_relu(x + b, 0.2) * sqrt(2), b broadcast over the last axis. */
export function fusedLeakyRelu<T extends tf.Tensor>(x: T, bias: tf.Tensor1D): T {
  return tf.tidy(() => tf.mul(tf.leakyRelu(tf.add(x, bias), 0.2), SQRT2)) as T;
}

/** A modulated convolution with its constants laid out for tfjs once. */
export interface ModConv {
  readonly cin: number;
  readonly cout: number;
  readonly upsample: boolean;
  readonly demodulate: boolean;
  /** [D, Cin]: the style affine, times 1/sqrt(D). */
  readonly affine: tf.Tensor2D;
  readonly affineBias: tf.Tensor1D;
  /** [k, k, Cin, Cout] (plain) or [k, k, Cout, Cin] (transposed), times 1/sqrt(Cin k^2). */
  readonly filter: tf.Tensor4D;
  /** [Cin, Cout]: sum over the kernel window of the squared scaled weight. */
  readonly weightSq: tf.Tensor2D;
}

export function prepareModConv(
  m: ModConvWeights,
  styleDim: number,
  opts: { upsample: boolean; demodulate: boolean },
): ModConv {
  const { cin, cout, k } = m;
  const scale = 1 / Math.sqrt(cin * k * k);
  const n = k * k;
  const filter = new Float32Array(m.weight.length);
  const weightSq = new Float32Array(cin * cout);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      let sq = 0;
      for (let t = 0; t < n; t++) {
        const v = m.weight[(o * cin + i) * n + t] * scale;
        sq += v * v;
        // plain: [t, i, o]; transposed (conv2dTranspose's [k, k, outDepth, inDepth]): [t, o, i]
        filter[opts.upsample ? (t * cout + o) * cin + i : (t * cin + i) * cout + o] = v;
      }
      weightSq[i * cout + o] = sq;
    }
  }
  const a = 1 / Math.sqrt(styleDim);
  const affine = new Float32Array(styleDim * cin); // [D, Cin] from the stored [Cin, D]
  for (let i = 0; i < cin; i++) {
    for (let d = 0; d < styleDim; d++) affine[d * cin + i] = m.modWeight[i * styleDim + d] * a;
  }
  return {
    cin,
    cout,
    upsample: opts.upsample,
    demodulate: opts.demodulate,
    affine: tf.tensor2d(affine, [styleDim, cin]),
    affineBias: tf.tensor1d(m.modBias),
    filter: opts.upsample
      ? tf.tensor4d(filter, [k, k, cout, cin])
      : tf.tensor4d(filter, [k, k, cin, cout]),
    weightSq: tf.tensor2d(weightSq, [cin, cout]),
  };
}

export function disposeModConv(m: ModConv): void {
  tf.dispose([m.affine, m.affineBias, m.filter, m.weightSq]);
}

/** The [1, 3, 3, 1] blur as a depthwise convolution, with an explicit gradient. */
export class Blur {
  private readonly kernels = new Map<number, { fwd: tf.Tensor4D; bwd: tf.Tensor4D }>();
  /** kernel: the stored 4x4 buffer (make_kernel([1, 3, 3, 1]) times 4). */
  constructor(private readonly kernel: Float32Array) {}

  private forChannels(c: number) {
    let k = this.kernels.get(c);
    if (!k) {
      const fwd = new Float32Array(16 * c), bwd = new Float32Array(16 * c);
      for (let t = 0; t < 16; t++) {
        // upfirdn2d correlates with the flipped kernel; the gradient correlates with the kernel.
        const flipped = this.kernel[15 - t], plain = this.kernel[t];
        for (let ch = 0; ch < c; ch++) {
          fwd[t * c + ch] = flipped;
          bwd[t * c + ch] = plain;
        }
      }
      // kept: the cache outlives the tidy scope of the first call
      k = {
        fwd: tf.keep(tf.tensor4d(fwd, [4, 4, c, 1])),
        bwd: tf.keep(tf.tensor4d(bwd, [4, 4, c, 1])),
      };
      this.kernels.set(c, k);
    }
    return k;
  }

  /** upfirdn2d(x, kernel, pad=(1, 1)): [N, H, W, C] -> [N, H - 1, W - 1, C]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const { fwd, bwd } = this.forChannels(x.shape[3]);
    const op = tf.customGrad((input) => {
      const xin = input as tf.Tensor4D;
      const value = tf.depthwiseConv2d(
        tf.pad(xin, [[0, 0], [1, 1], [1, 1], [0, 0]]),
        fwd,
        1,
        "valid",
      );
      return {
        value,
        gradFunc: (dy: tf.Tensor) =>
          tf.depthwiseConv2d(
            tf.pad(dy as tf.Tensor4D, [[0, 0], [2, 2], [2, 2], [0, 0]]),
            bwd,
            1,
            "valid",
          ),
      };
    });
    return op(x) as tf.Tensor4D;
  }

  dispose(): void {
    for (const k of this.kernels.values()) tf.dispose([k.fwd, k.bwd]);
    this.kernels.clear();
  }
}

/** The style s = A(w) of a layer, [N, Cin]. */
export function styleOf(m: ModConv, w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(w, m.affine), m.affineBias));
}

/** The modulated (and, where set, demodulated) convolution of x [N, H, W, Cin] by style w [N, D]. */
export function modulatedConv(
  m: ModConv,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  blur: Blur | null,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [N, H, W] = x.shape;
    const s = styleOf(m, w);
    const xs = tf.mul(x, tf.reshape(s, [N, 1, 1, m.cin])) as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (m.upsample) {
      const k = m.filter.shape[0];
      y = tf.conv2dTranspose(
        xs,
        m.filter,
        [N, 2 * (H - 1) + k, 2 * (W - 1) + k, m.cout],
        2,
        "valid",
      );
      y = blur!.apply(y);
    } else {
      y = tf.conv2d(xs, m.filter, 1, "same");
    }
    if (m.demodulate) {
      const d = tf.rsqrt(tf.add(tf.matMul(tf.square(s), m.weightSq), 1e-8));
      y = tf.mul(y, tf.reshape(d, [N, 1, 1, m.cout]));
    }
    return y;
  });
}

/** A StyledConv: modulated conv, noise, bias and scaled leaky ReLU. */
export interface StyledConv {
  conv: ModConv;
  noiseWeight: number;
  bias: tf.Tensor1D;
}

export function prepareStyledConv(s: StyledConvWeights, styleDim: number): StyledConv {
  return {
    conv: prepareModConv(s, styleDim, { upsample: s.upsample, demodulate: true }),
    noiseWeight: s.noiseWeight,
    bias: tf.tensor1d(s.activateBias),
  };
}

/** noise: [1 or N, H, W, 1], or null for none. */
export function styledConv(
  layer: StyledConv,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  noise: tf.Tensor4D | null,
  blur: Blur,
): tf.Tensor4D {
  return tf.tidy(() => {
    let y = modulatedConv(layer.conv, x, w, blur);
    if (noise && layer.noiseWeight !== 0) y = tf.add(y, tf.mul(noise, layer.noiseWeight));
    return fusedLeakyRelu(y, layer.bias);
  });
}

/** ToRGB: a modulated 1x1 conv without demodulation, a bias, and the up-sampled skip. */
export interface ToRgb {
  conv: ModConv;
  bias: tf.Tensor1D;
}

export function prepareToRgb(t: ToRgbWeights, styleDim: number): ToRgb {
  return {
    conv: prepareModConv(t, styleDim, { upsample: false, demodulate: false }),
    bias: tf.tensor1d(t.bias),
  };
}

/** ToRGB's skip up-sampling, upfirdn2d(up=2, pad=(2, 1)). */
export class SkipUpsample {
  private readonly filter: tf.Tensor4D; // [4, 4, 3, 3], diagonal in the channels
  /** kernel: the stored 4x4 buffer (make_kernel([1, 3, 3, 1]) times 4). */
  constructor(kernel: Float32Array) {
    const f = new Float32Array(16 * 9);
    for (let t = 0; t < 16; t++) for (let c = 0; c < 3; c++) f[t * 9 + c * 3 + c] = kernel[t];
    this.filter = tf.tensor4d(f, [4, 4, 3, 3]);
  }

  /** [N, H, W, 3] -> [N, 2H, 2W, 3] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [N, H, W] = x.shape;
      const y = tf.conv2dTranspose(x, this.filter, [N, 2 * H + 2, 2 * W + 2, 3], 2, "valid");
      return tf.slice(y, [0, 1, 1, 0], [N, 2 * H, 2 * W, 3]);
    });
  }

  dispose(): void {
    this.filter.dispose();
  }
}

export function toRgb(
  layer: ToRgb,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  skip: tf.Tensor4D | null,
  up: SkipUpsample,
): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.add(modulatedConv(layer.conv, x, w, null), layer.bias) as tf.Tensor4D;
    return skip ? tf.add(y, up.apply(skip)) : y;
  });
}
