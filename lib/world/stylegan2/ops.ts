/**
 * StyleGAN2's layers in tfjs (NHWC), in rosinality's formulation (DESIGN.md section 2.2). The
 * modulated convolution uses the non-fused form, which is exactly equivalent and lets the whole
 * batch share one convolution:
 *
 *   s = A(w)                                  style, [N, Cin]
 *   y = conv(x * s, scale * W)                one shared kernel
 *   y = y * rsqrt(s^2 . sum_k (scale W)^2 + 1e-8)   demodulation, per sample and output channel
 *
 * The up-sampling layer is a stride-2 transposed 3x3 convolution z = convT(x) followed by the
 * blur y = upfirdn2d(z, K, pad=(1, 1)), [N, H, W, Cin] -> [N, 2H, 2W, Cout]. Per axis (the 2-D
 * layer is the product of two), with f0, f1, f2 the taps of the transposed kernel and kf the
 * blur's taps flipped (upfirdn2d convolves):
 *
 *   z[2q]     = f2 x[q-1] + f0 x[q]           even outputs: a 2-tap correlation of x
 *   z[2q + 1] = f1 x[q]                       odd outputs: a 1-tap one
 *   y[m]      = sum_t kf[t] z[m + t - 1]      t = 0 .. 3, z zero outside 0 .. 2H
 *
 * So convT runs here as four stride-1 convolutions of x at the input resolution, one per output
 * phase (ry, rx), with 2x2, 2x1, 1x2 and 1x1 taps: the nominal 9 taps per input pixel, where
 * tf.conv2dTranspose (the project's Conv2DBackpropInput) is a 3x3 convolution over the input
 * dilated with zeros, 4x the work. The phases are interleaved (a stack and two transposes) and the
 * blur follows; its kernel make_kernel([1, 3, 3, 1]) x 4 = outer(k1, k1), k1 = [1, 3, 3, 1] / 4,
 * is rank one, so it runs as a 4x1 and a 1x4 depthwise pass (tfjs-wasm runs a 4x4 depthwise
 * convolution some 50x slower than the two); a stored kernel of higher rank runs as the 4x4 pass.
 * (Folding the blur into the phases, one 3x3 convolution of x to 4 Cout channels, is exact too
 * but 4x the taps; a 2x2 one to 4 Cout channels is 16/9 of them: both measured slower.)
 * ToRGB's skip up-sampling, upfirdn2d(up=2, pad=(2, 1)), splits the same way into one 3x3
 * convolution to 4 x 3 channels at the input resolution and a depth-to-space (`SkipUpsample`).
 * Everything is differentiable with respect to the input and the styles; the blur's gradient is
 * written out (a depthwise correlation of the output gradient with the kernel unflipped) because
 * tfjs-wasm has no kernel for the depthwise input gradient.
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
  /**
   * Times 1/sqrt(Cin k^2). Plain: one filter [k, k, Cin, Cout]. Up-sampling: the transposed 3x3
   * convolution's four output phases (ry, rx) = (0, 0), (0, 1), (1, 0), (1, 1), each
   * [PHASE_TAPS[ry].length, PHASE_TAPS[rx].length, Cin, Cout] (see `upsampleConv`).
   */
  readonly filters: readonly tf.Tensor4D[];
  /** [Cin, Cout]: sum over the kernel window of the squared scaled weight. */
  readonly weightSq: tf.Tensor2D;
}

/**
 * The transposed 3-tap convolution z = convT(x, f) by output phase r, per axis: the taps of phase
 * r (PHASE_TAPS[r]) correlate x padded by PHASE_PAD[r], H + 1 outputs each:
 *   r = 0: z[2q]     = f2 x[q-1] + f0 x[q]    x padded (1, 1), q = 0 .. H
 *   r = 1: z[2q + 1] = f1 x[q]                x padded (0, 1), q = 0 .. H (z[2H + 1] = 0)
 * Interleaved, they are z (length 2H + 1) with one zero appended.
 */
const PHASE_TAPS: readonly (readonly number[])[] = [[2, 0], [1]];
const PHASE_PAD: readonly [number, number][] = [[1, 1], [0, 1]];

export function prepareModConv(
  m: ModConvWeights,
  styleDim: number,
  opts: { upsample: boolean; demodulate: boolean },
): ModConv {
  const { cin, cout, k } = m;
  if (opts.upsample && k !== 3) {
    throw new Error(`up-sampling convolution: expected a 3x3 kernel (StyleGAN2's), got ${k}x${k}`);
  }
  const scale = 1 / Math.sqrt(cin * k * k);
  const n = k * k;
  // the scaled weight at [o, i, t] (t = ky k + kx), as stored
  const at = (o: number, i: number, t: number) => m.weight[(o * cin + i) * n + t] * scale;
  const weightSq = new Float32Array(cin * cout);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      let sq = 0;
      for (let t = 0; t < n; t++) sq += at(o, i, t) ** 2;
      weightSq[i * cout + o] = sq;
    }
  }
  // [kh, kw, Cin, Cout] with kernel taps (taps[0][a], taps[1][b]) at (a, b)
  const filterOf = (taps: readonly [readonly number[], readonly number[]]) => {
    const [th, tw] = taps;
    const f = new Float32Array(th.length * tw.length * cin * cout);
    for (let a = 0; a < th.length; a++) {
      for (let b = 0; b < tw.length; b++) {
        const t = th[a] * k + tw[b], base = (a * tw.length + b) * cin * cout;
        for (let i = 0; i < cin; i++) {
          for (let o = 0; o < cout; o++) f[base + i * cout + o] = at(o, i, t);
        }
      }
    }
    return tf.tensor4d(f, [th.length, tw.length, cin, cout]);
  };
  const all = [...Array(k).keys()];
  const filters = opts.upsample
    ? [0, 1].flatMap((ry) => [0, 1].map((rx) => filterOf([PHASE_TAPS[ry], PHASE_TAPS[rx]])))
    : [filterOf([all, all])];
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
    filters,
    weightSq: tf.tensor2d(weightSq, [cin, cout]),
  };
}

export function disposeModConv(m: ModConv): void {
  tf.dispose([m.affine, m.affineBias, ...m.filters, m.weightSq]);
}

type Pads = [[number, number], [number, number]];

/**
 * Depthwise correlation of x [N, H, W, C], zero-padded by pads (rows, columns), with `filter`
 * [kh, kw, C, 1]; its input gradient is the correlation of dy, padded by k - 1 - pad, with
 * `flipped` (the filter reversed in space), written out since tfjs-wasm has no kernel for it.
 */
function depthwiseCorrelate(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  flipped: tf.Tensor4D,
  [[top, bottom], [left, right]]: Pads,
): tf.Tensor4D {
  const [kh, kw] = filter.shape;
  const op = tf.customGrad((input) => ({
    value: tf.depthwiseConv2d(input as tf.Tensor4D, filter, 1, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]),
    gradFunc: (dy: tf.Tensor) =>
      tf.depthwiseConv2d(dy as tf.Tensor4D, flipped, 1, [
        [0, 0],
        [kh - 1 - top, kh - 1 - bottom],
        [kw - 1 - left, kw - 1 - right],
        [0, 0],
      ]),
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * upfirdn2d(x, kernel, pad) with the stored 4x4 kernel: a correlation with the kernel flipped in
 * space. A rank-one kernel outer(a, b) (the [1, 3, 3, 1] one is) runs as a 4x1 and a 1x4
 * depthwise pass; any other as one 4x4 depthwise pass.
 */
export class Blur {
  /** The kernel's factors [a, b] (rows, columns) when it is rank one, else null. */
  readonly factors: readonly [Float32Array, Float32Array] | null;
  private readonly filters = new Map<number, { fwd: tf.Tensor4D[]; bwd: tf.Tensor4D[] }>();

  /** kernel: the stored 4x4 buffer (make_kernel([1, 3, 3, 1]) times 4), row-major. */
  constructor(private readonly kernel: Float32Array) {
    this.factors = rankOneFactors(kernel);
  }

  /** Per channel count, the forward filters (flipped, as upfirdn2d convolves) and backward ones. */
  private forChannels(c: number) {
    let f = this.filters.get(c);
    if (!f) {
      // [kh, kw, C, 1] with taps[t] at t = row * kw + column, the same in every channel
      const tile = (taps: ArrayLike<number>, kh: number, kw: number) => {
        const data = new Float32Array(taps.length * c);
        for (let t = 0; t < taps.length; t++) data.fill(taps[t], t * c, (t + 1) * c);
        return tf.keep(tf.tensor4d(data, [kh, kw, c, 1]));
      };
      const rev = (v: ArrayLike<number>) => Float32Array.from(v).reverse();
      // kept: the cache outlives the tidy scope of the first call
      if (this.factors) {
        const [a, b] = this.factors;
        f = {
          fwd: [tile(rev(a), 4, 1), tile(rev(b), 1, 4)],
          bwd: [tile(a, 4, 1), tile(b, 1, 4)],
        };
      } else {
        f = { fwd: [tile(rev(this.kernel), 4, 4)], bwd: [tile(this.kernel, 4, 4)] };
      }
      this.filters.set(c, f);
    }
    return f;
  }

  /** upfirdn2d(x, kernel, pad=(before, after)): [N, H, W, C] -> [N, H + before + after - 3, ..]. */
  apply(x: tf.Tensor4D, [before, after]: [number, number]): tf.Tensor4D {
    return tf.tidy(() => {
      const { fwd, bwd } = this.forChannels(x.shape[3]);
      const p: [number, number] = [before, after];
      if (fwd.length === 1) return depthwiseCorrelate(x, fwd[0], bwd[0], [p, p]);
      const rows = depthwiseCorrelate(x, fwd[0], bwd[0], [p, [0, 0]]);
      return depthwiseCorrelate(rows, fwd[1], bwd[1], [[0, 0], p]);
    });
  }

  dispose(): void {
    for (const f of this.filters.values()) tf.dispose([...f.fwd, ...f.bwd]);
    this.filters.clear();
  }
}

/**
 * [a, b] with kernel = outer(a, b) to float precision (relative 1e-6), or null. a and b are the
 * row and column sums over sqrt(total): for make_kernel([1, 3, 3, 1]) x 4 both are exactly
 * [1, 3, 3, 1] / 4.
 */
function rankOneFactors(kernel: Float32Array): [Float32Array, Float32Array] | null {
  const a = new Float32Array(4), b = new Float32Array(4);
  let total = 0, peak = 0;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const v = kernel[i * 4 + j];
      a[i] += v;
      b[j] += v;
      total += v;
      peak = Math.max(peak, Math.abs(v));
    }
  }
  if (!(total > 0)) return null;
  const r = Math.sqrt(total);
  for (let i = 0; i < 4; i++) {
    a[i] /= r;
    b[i] /= r;
  }
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      if (Math.abs(kernel[i * 4 + j] - a[i] * b[j]) > 1e-6 * peak) return null;
    }
  }
  return [a, b];
}

/**
 * Interleaves the four output phases p[ry][rx] [N, h, w, C] (in the order (0, 0), (0, 1), (1, 0),
 * (1, 1)) into [N, 2h, 2w, C], out[n, 2q + ry, 2p + rx] = p[ry][rx][n, q, p]: one stack and two
 * transposes (tfjs-wasm runs a transpose as a native loop, a channel-axis concat in JavaScript).
 */
function interleavePhases(phases: tf.Tensor4D[]): tf.Tensor4D {
  const [N, h, w, C] = phases[0].shape;
  const s = tf.reshape(tf.stack(phases), [2, 2, N * h * w, C]); // [ry, rx, (n, q, p), C]
  const cols = tf.transpose(s, [0, 2, 1, 3]); // [ry, (n, q, p), rx, C]
  const rows = tf.transpose(tf.reshape(cols, [2, N * h, 2 * w * C]), [1, 0, 2]); // [(n, q), ry, ..]
  return tf.reshape(rows, [N, 2 * h, 2 * w, C]);
}

/**
 * The up-sampling convolution with its blur, blur(convT(x)), [N, H, W, Cin] -> [N, 2H, 2W, Cout]:
 * the four phases of convT, [N, H + 1, W + 1, Cout] each, interleaved into u = [z, 0] per axis,
 * [N, 2H + 2, 2W + 2, Cout]; the blur's padding (1, 1) of z, [0, z, 0], is then u padded (1, 0).
 */
function upsampleConv(m: ModConv, x: tf.Tensor4D, blur: Blur): tf.Tensor4D {
  const phases = m.filters.map((f, i) =>
    tf.conv2d(x, f, 1, [[0, 0], PHASE_PAD[i >> 1], PHASE_PAD[i & 1], [0, 0]])
  );
  return blur.apply(interleavePhases(phases), [1, 0]);
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
    const N = x.shape[0];
    const s = styleOf(m, w);
    const xs = tf.mul(x, tf.reshape(s, [N, 1, 1, m.cin])) as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (m.upsample) {
      if (!blur) throw new Error("modulatedConv: an up-sampling convolution needs its blur");
      y = upsampleConv(m, xs, blur);
    } else {
      y = tf.conv2d(xs, m.filters[0], 1, "same");
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

/**
 * ToRGB's skip up-sampling, upfirdn2d(x, kernel, up=2, pad=(2, 1)), by output phase: per axis,
 * with kf the flipped kernel (upfirdn2d convolves),
 *   y[2q]     = kf0 x[q-1] + kf2 x[q]
 *   y[2q + 1] = kf1 x[q]   + kf3 x[q+1]
 * so output phase (ry, rx) of channel c is a 3x3 correlation of x (padding 1) with kf at window
 * offset e = (t + r) / 2 for the taps t = r, r + 2: one convolution [3, 3, 3, 4 x 3] at the input
 * resolution, then depth-to-space.
 */
export class SkipUpsample {
  private readonly filter: tf.Tensor4D; // [3, 3, 3, 4 x 3], out channel (ry, rx, c), diagonal in c
  /** kernel: the stored 4x4 buffer (make_kernel([1, 3, 3, 1]) times 4), row-major. */
  constructor(kernel: Float32Array) {
    const C = 3, f = new Float32Array(9 * C * 4 * C);
    for (let ry = 0; ry < 2; ry++) {
      for (let rx = 0; rx < 2; rx++) {
        for (let ty = ry; ty < 4; ty += 2) {
          for (let tx = rx; tx < 4; tx += 2) {
            const e = ((ty + ry) / 2) * 3 + (tx + rx) / 2, v = kernel[(3 - ty) * 4 + 3 - tx];
            for (let c = 0; c < C; c++) f[(e * C + c) * 4 * C + (ry * 2 + rx) * C + c] = v;
          }
        }
      }
    }
    this.filter = tf.tensor4d(f, [3, 3, C, 4 * C]);
  }

  /** [N, H, W, 3] -> [N, 2H, 2W, 3] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [N, H, W, C] = x.shape;
      const y = tf.conv2d(x, this.filter, 1, "same"); // [N, H, W, (ry, rx, c)]
      // depth-to-space: [(n, q), p, ry, (rx, c)] -> [(n, q), ry, p, (rx, c)]
      const rows = tf.transpose(tf.reshape(y, [N * H, W, 2, 2 * C]), [0, 2, 1, 3]);
      return tf.reshape(rows, [N, 2 * H, 2 * W, C]);
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
