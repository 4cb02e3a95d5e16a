/**
 * The authors' identity network natively in tfjs, differentiable with respect to the images:
 * TreB1eN's IR-SE backbone (`model_ir_se50.pth`) behind the preprocessing of the authors'
 * `IDLoss.extract_feats` (najmemhmdb/ID-Style `metrics/id_loss.py`):
 *
 *   images [N, S, S, 3] in [-1, 1], S = 256 (or 1024 etc., average-pooled to 256 first)
 *   -> crop rows 35..222, columns 32..219                        [N, 188, 188, 3]
 *   -> AdaptiveAvgPool2d(112) (overlapping cells, as matMuls)    [N, 112, 112, 3]
 *   -> conv 3x3 + BN + PReLU                                     [N, 112, 112, C0]
 *   -> bottleneck_IR_SE units (3, 4, 14, 3 for IR-SE50)          [N, 7, 7, C]
 *        res = BN, conv3x3, PReLU, conv3x3 (stride), BN, SE;  shortcut = subsample or 1x1 conv + BN
 *   -> BN2d, flatten in NCHW order, Linear(C*49 -> 512), BN1d    [N, 512]
 *   -> L2 normalisation                                          unit rows
 *
 * Eval mode throughout (dropout is the identity; batch-norms use the running statistics and are
 * folded into the neighbouring convs where that is exact, see irse_weights.ts). Every op has a
 * gradient on the wasm backend (convs through lib/kernels/wasm_patches.ts; the pooling is a
 * matMul, the MaxPool(1, 2) shortcut a reshape and slice).
 */
import * as tf from "@tensorflow/tfjs";
import { readTorch, stateDictAt, TorchTensor } from "../../io/torch.ts";
import { readSafetensors, toFloat32 } from "../../io/safetensors.ts";
import { InputError } from "../../util/validate.ts";
import type { ArrayTensor } from "../stylegan2/weights.ts";
import {
  ID_CROP,
  ID_INPUT,
  IrSeFormatError,
  type IrSeUnit,
  type IrSeWeights,
  parseIrSe,
  poolMatrixT,
} from "./irse_weights.ts";

export { adaptivePoolMatrix, IrSeFormatError, type IrSeWeights } from "./irse_weights.ts";

/** Same padding of a 3x3 conv as PyTorch's padding=1 (also for stride 2: one row each side). */
export const PAD1: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];

/**
 * conv2d plus a bias. Fused when no gradient is being recorded; under a gradient tape the plain
 * ops instead, because tfjs's fused conv computes the filter and bias gradients in every backward
 * pass (its custom gradient is not lazy), which on wasm costs more than the input gradient.
 */
export function convBias(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  strides: number,
  pad: "valid" | tf.backend_util.ExplicitPadding,
): tf.Tensor4D {
  if (!bias) return tf.conv2d(x, filter, strides, pad);
  if (tf.engine().state.gradientDepth === 0) {
    return tf.fused.conv2d({ x, filter, strides, pad, bias });
  }
  return tf.add(tf.conv2d(x, filter, strides, pad), bias);
}

/**
 * Checks images [N, S, S, 3] with S a multiple of `size` and average-pools them to `size`
 * (the authors' `AdaptiveAvgPool2d(256)` on 1024 renders: a 4x4 mean).
 */
export function poolImagesTo(images: tf.Tensor4D, size: number, name = "images"): tf.Tensor4D {
  const s = images.shape;
  if (s.length !== 4 || s[3] !== 3 || s[1] !== s[2] || s[1] % size !== 0 || s[1] < size) {
    throw new InputError(
      `${name}: expected [N, ${size}, ${size}, 3] (or a multiple of ${size}, average-pooled to ${size}), got [${
        s.join(", ")
      }]`,
    );
  }
  const f = s[1] / size;
  return f === 1 ? images : avgPool(images, f);
}

/**
 * Average pooling over f x f cells (F.avg_pool2d(x, f)), with its gradient written as a
 * broadcast (dy / f^2 on each cell): the wasm AvgPoolGrad kernel is over 10x slower.
 */
export function avgPool(x: tf.Tensor4D, f: number): tf.Tensor4D {
  const op = tf.customGrad((input) => {
    const t = input as tf.Tensor4D;
    return {
      value: tf.avgPool(t, f, f, "valid"),
      gradFunc: (dy: tf.Tensor) => {
        const [n, h, w, c] = dy.shape;
        const cell = tf.fill([1, 1, f, 1, f, 1], 1 / (f * f));
        const up = tf.mul(tf.reshape(dy, [n, h, 1, w, 1, c]), cell);
        const [, H, W] = t.shape;
        const full = tf.reshape(up, [n, h * f, w * f, c]) as tf.Tensor4D;
        // F.avg_pool2d drops trailing rows and columns that do not fill a cell.
        if (H === h * f && W === w * f) return full;
        return tf.pad(full, [[0, 0], [0, H - h * f], [0, W - w * f], [0, 0]]);
      },
    };
  });
  return op(x) as tf.Tensor4D;
}

/**
 * PyTorch's `AdaptiveAvgPool2d((outH, outW))` on NHWC, exact also when the sizes do not divide:
 * two matMuls with the fixed averaging matrices (columns, then rows). Differentiable.
 */
export function adaptiveAvgPool(x: tf.Tensor4D, outH: number, outW = outH): tf.Tensor4D {
  const [, H, W] = x.shape;
  return tf.tidy(() => {
    const rowsT = tf.tensor2d(poolMatrixT(H, outH), [H, outH]);
    const colsT = tf.tensor2d(poolMatrixT(W, outW), [W, outW]);
    return poolAxes(x, rowsT, colsT);
  });
}

/**
 * x [N, H, W, C] -> [N, oh, ow, C]: out[n, i, j, c] = sum_hw rowsT[h, i] x[n, h, w, c] colsT[w, j],
 * as two plain 2-D matMuls with the constant on the right (the layout XNNPACK runs fast; a
 * batch-broadcast matMul or a slice of the crop is several times slower on wasm).
 */
function poolAxes(x: tf.Tensor4D, rowsT: tf.Tensor2D, colsT: tf.Tensor2D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const oh = rowsT.shape[1], ow = colsT.shape[1];
  const t = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [N * C * H, W]);
  const a = tf.reshape(tf.matMul(t, colsT), [N * C, H, ow]);
  const b = tf.reshape(tf.transpose(a, [0, 2, 1]), [N * C * ow, H]);
  const c = tf.reshape(tf.matMul(b, rowsT), [N, C, ow, oh]);
  return tf.transpose(c, [0, 3, 2, 1]) as tf.Tensor4D;
}

/** [Cout, Cin, kh, kw] (PyTorch) -> [kh, kw, Cin, Cout] (tfjs). */
export function oihwToHwio(w: Float32Array, cout: number, cin: number, k: number): tf.Tensor4D {
  const out = new Float32Array(w.length);
  const kk = k * k;
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      for (let t = 0; t < kk; t++) out[(t * cin + i) * cout + o] = w[(o * cin + i) * kk + t];
    }
  }
  return tf.tensor4d(out, [k, k, cin, cout]);
}

/** [rows, cols] row-major -> its transpose as a tensor [cols, rows]. */
function transposed(w: Float32Array, rows: number, cols: number): tf.Tensor2D {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return tf.tensor2d(out, [cols, rows]);
}

/**
 * MaxPool2d(kernel 1, stride s): every s-th row and column, from the first. Written as a 4-D
 * slice of [N h, s, w, s C] (wasm slices ranks above 4 element by element in JavaScript).
 */
function subsample(x: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return x;
  const [N, H, W, C] = x.shape;
  const h = Math.ceil(H / s), w = Math.ceil(W / s);
  const padded = h * s === H && w * s === W
    ? x
    : tf.pad(x, [[0, 0], [0, h * s - H], [0, w * s - W], [0, 0]]);
  const grouped = tf.reshape(padded, [N * h, s, w, s * C]);
  return tf.reshape(tf.slice(grouped, [0, 0, 0, 0], [N * h, 1, w, C]), [N, h, w, C]);
}

interface Unit {
  stride: number;
  bnScale: tf.Tensor1D;
  bnShift: tf.Tensor1D;
  conv1: tf.Tensor4D;
  alpha: tf.Tensor1D;
  conv2: tf.Tensor4D;
  bias2: tf.Tensor1D;
  se1: tf.Tensor2D; // [Cout, R]
  se2: tf.Tensor2D; // [R, Cout]
  shortcut: { w: tf.Tensor4D; b: tf.Tensor1D } | null;
}

function prepareUnit(u: IrSeUnit): Unit {
  return {
    stride: u.stride,
    bnScale: tf.tensor1d(u.bnScale),
    bnShift: tf.tensor1d(u.bnShift),
    conv1: oihwToHwio(u.conv1, u.cout, u.cin, 3),
    alpha: tf.tensor1d(u.prelu),
    conv2: oihwToHwio(u.conv2, u.cout, u.cout, 3),
    bias2: tf.tensor1d(u.conv2Bias),
    se1: transposed(u.se1, u.reduced, u.cout),
    se2: transposed(u.se2, u.cout, u.reduced),
    shortcut: u.shortcut
      ? { w: oihwToHwio(u.shortcut.weight, u.cout, u.cin, 1), b: tf.tensor1d(u.shortcut.bias) }
      : null,
  };
}

function runUnit(u: Unit, x: tf.Tensor4D): tf.Tensor4D {
  const sc = u.shortcut
    ? convBias(x, u.shortcut.w, u.shortcut.b, u.stride, "valid")
    : subsample(x, u.stride);
  let r = tf.add(tf.mul(x, u.bnScale), u.bnShift) as tf.Tensor4D;
  r = tf.prelu(tf.conv2d(r, u.conv1, 1, PAD1), u.alpha as tf.Tensor as tf.Tensor4D);
  r = convBias(r, u.conv2, u.bias2, u.stride, PAD1);
  // Squeeze-excitation: channel gates from the spatial mean.
  const m = tf.mean(r, [1, 2]) as tf.Tensor2D; // [N, Cout]
  const gate = tf.sigmoid(tf.matMul(tf.relu(tf.matMul(m, u.se1)), u.se2)); // [N, Cout]
  const [N, , , C] = r.shape;
  return tf.add(tf.mul(r, tf.reshape(gate, [N, 1, 1, C])), sc) as tf.Tensor4D;
}

export class IrSe {
  readonly depth: number;
  readonly embeddingDim: number;
  readonly blockWidths: readonly number[];
  readonly parameterCount: number;
  private readonly stem: { w: tf.Tensor4D; b: tf.Tensor1D; alpha: tf.Tensor1D };
  private readonly units: Unit[];
  private readonly headW: tf.Tensor2D; // [S*S*C, E], rows in NHWC flatten order
  private readonly headB: tf.Tensor1D;
  private readonly cropRowsT: tf.Tensor2D; // [256, 112]: rows 35..222 pooled
  private readonly cropColsT: tf.Tensor2D; // [256, 112]: columns 32..219 pooled
  private readonly spatial: number;
  private readonly channels: number;

  constructor(w: IrSeWeights) {
    this.depth = w.depth;
    this.embeddingDim = w.embeddingDim;
    this.blockWidths = [...w.blockWidths];
    this.parameterCount = w.parameterCount;
    this.stem = {
      w: oihwToHwio(w.stem.weight, w.stem.cout, 3, 3),
      b: tf.tensor1d(w.stem.bias),
      alpha: tf.tensor1d(w.stem.prelu),
    };
    this.units = w.units.map(prepareUnit);
    // PyTorch flattens [C, S, S] (index c P + p); NHWC flattens [S, S, C] (index p C + c).
    const { channels: C, spatial: S } = w.head;
    const P = S * S, E = w.embeddingDim;
    const hw = new Float32Array(P * C * E);
    for (let o = 0; o < E; o++) {
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < P; p++) hw[(p * C + c) * E + o] = w.head.weight[o * C * P + c * P + p];
      }
    }
    this.headW = tf.tensor2d(hw, [P * C, E]);
    this.headB = tf.tensor1d(w.head.bias);
    this.spatial = S;
    this.channels = C;
    const t = (offset: number) =>
      tf.tensor2d(poolMatrixT(256, ID_INPUT, offset, ID_CROP.size), [256, ID_INPUT]);
    this.cropRowsT = t(ID_CROP.top);
    this.cropColsT = t(ID_CROP.left);
  }

  /** The authors' `extract_feats`: images [N, 256, 256, 3] in [-1, 1] -> unit rows [N, E]. */
  embed(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.embedAligned(this.preprocess(images)));
  }

  /** Crop and pool: images [N, 256 k, 256 k, 3] -> the network's input [N, 112, 112, 3]. */
  preprocess(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const x = poolImagesTo(images, 256);
      // The crop folded into the pooling matrices (zero outside it).
      return poolAxes(x, this.cropRowsT, this.cropColsT);
    });
  }

  /**
   * The body's feature maps at the end of each stage (the unit before the next stride-2 unit, and
   * the last), for images [N, 256 k, 256 k, 3]: [N, 56, 56, 64], [N, 28, 28, 128], ... (the
   * perceptual term of an inversion in the real world, lib/invert/invert.ts).
   */
  features(images: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      let h = convBias(this.preprocess(images), this.stem.w, this.stem.b, 1, PAD1);
      h = tf.prelu(h, this.stem.alpha as tf.Tensor as tf.Tensor4D);
      const maps: tf.Tensor4D[] = [];
      this.units.forEach((u, i) => {
        h = runUnit(u, h);
        const next = this.units[i + 1];
        if (!next || next.stride > 1) maps.push(h);
      });
      return maps;
    });
  }

  /** The backbone and L2 normalisation on network inputs [N, 112, 112, 3] -> [N, E]. */
  embedAligned(x: tf.Tensor4D): tf.Tensor2D {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== ID_INPUT || s[2] !== ID_INPUT || s[3] !== 3) {
      throw new InputError(
        `x: expected [N, ${ID_INPUT}, ${ID_INPUT}, 3], got [${s.join(", ")}]`,
      );
    }
    return tf.tidy(() => {
      let h = convBias(x, this.stem.w, this.stem.b, 1, PAD1);
      h = tf.prelu(h, this.stem.alpha as tf.Tensor as tf.Tensor4D);
      for (const u of this.units) h = runUnit(u, h);
      const N = h.shape[0], S = this.spatial;
      if (h.shape[1] !== S || h.shape[2] !== S) {
        throw new Error(`IR-SE: body output is ${h.shape[1]}x${h.shape[2]}, expected ${S}x${S}`);
      }
      const flat = tf.reshape(h, [N, S * S * this.channels]) as tf.Tensor2D;
      const e = tf.add(tf.matMul(flat, this.headW), this.headB) as tf.Tensor2D;
      return tf.mul(e, tf.rsqrt(tf.sum(tf.square(e), 1, true))) as tf.Tensor2D;
    });
  }

  dispose(): void {
    tf.dispose([
      this.stem.w,
      this.stem.b,
      this.stem.alpha,
      this.headW,
      this.headB,
      this.cropRowsT,
      this.cropColsT,
    ]);
    for (const u of this.units) {
      tf.dispose([u.bnScale, u.bnShift, u.conv1, u.alpha, u.conv2, u.bias2, u.se1, u.se2]);
      if (u.shortcut) tf.dispose([u.shortcut.w, u.shortcut.b]);
    }
  }
}

const TORCH_EXT = /\.(pt|pth|ckpt|bin|tar)$/i;

/**
 * The float tensors of a state_dict in a PyTorch file (at `key` when the file's top-level dict
 * has it, else the whole file) or a safetensors file; a DataParallel "module." prefix is dropped.
 */
export async function readStateDict(
  path: string,
  key: string | undefined,
  ErrorClass: new (message: string) => Error,
): Promise<Map<string, ArrayTensor>> {
  const out = new Map<string, ArrayTensor>();
  if (TORCH_EXT.test(path)) {
    const obj = await readTorch(path);
    const top = obj && typeof obj === "object" ? obj as Record<string, unknown> : {};
    const at = key !== undefined && Object.hasOwn(top, key) ? key : undefined;
    for (const [k, t] of stateDictAt(obj, at, path)) {
      if (t instanceof TorchTensor && t.data instanceof Float32Array) {
        out.set(k, { shape: t.shape, data: t.data });
      }
    }
  } else if (/\.safetensors$/i.test(path)) {
    const tensors = (await readSafetensors(path)).tensors;
    const prefix = key !== undefined && [...tensors.keys()].some((k) => k.startsWith(`${key}.`))
      ? `${key}.`
      : "";
    for (const [k, t] of tensors) {
      if (k.startsWith(prefix) && (t.dtype.startsWith("F") || t.dtype === "BF16")) {
        out.set(k.slice(prefix.length), { shape: t.shape, data: toFloat32(t, k) });
      }
    }
  } else {
    throw new ErrorClass(`${path}: expected a PyTorch file (.pt, .pth, .ckpt) or .safetensors`);
  }
  const keys = [...out.keys()];
  if (keys.length && keys.every((k) => k.startsWith("module."))) {
    return new Map([...out].map(([k, v]) => [k.slice(7), v]));
  }
  return out;
}

/** Reads and checks an IR-SE backbone file (no tfjs tensors yet). */
export async function readIrSeWeights(path: string): Promise<IrSeWeights> {
  return parseIrSe(await readStateDict(path, undefined, IrSeFormatError), path);
}

/** Reads `model_ir_se50.pth` (or a file of the same layout) and builds the tfjs network. */
export async function loadIrSe(path: string): Promise<IrSe> {
  return new IrSe(await readIrSeWeights(path));
}
