/**
 * The identity network's weights: TreB1eN's IR-SE backbone (`model_ir_se50.pth`, the
 * `Backbone(112, 50, mode='ir_se')` state_dict pSp, e4e, ISF-GAN and ID-Style load), checked and
 * folded for inference (eval mode: batch-norm with the stored running statistics, eps 1e-5).
 * Widths and depth come from the tensor shapes and names, so the real file and a narrowed copy
 * load through the same code (DESIGN.md section 2.2).
 *
 *   input_layer.0.weight           [C0, 3, 3, 3]    conv (pad 1, no bias)
 *   input_layer.1.*                [C0]             BatchNorm2d       -> folded into the conv
 *   input_layer.2.weight           [C0]             PReLU (one slope per channel)
 *   body.{i}.res_layer.0.*         [Cin]            BatchNorm2d (before the conv: kept apart,
 *                                                   because the conv zero-pads)
 *   body.{i}.res_layer.1.weight    [Cout, Cin, 3, 3] conv, stride 1, pad 1
 *   body.{i}.res_layer.2.weight    [Cout]           PReLU
 *   body.{i}.res_layer.3.weight    [Cout, Cout, 3, 3] conv, the unit's stride, pad 1
 *   body.{i}.res_layer.4.*         [Cout]           BatchNorm2d       -> folded into that conv
 *   body.{i}.res_layer.5.fc1/fc2   [Cout/16, Cout, 1, 1] / [Cout, Cout/16, 1, 1] SE (no bias)
 *   body.{i}.shortcut_layer.0/1    [Cout, Cin, 1, 1] + BN  when Cin != Cout (else MaxPool(1, s))
 *   output_layer.0.*               [C]              BatchNorm2d  \
 *   output_layer.3.weight / bias   [E, C*7*7] [E]   Linear        > folded into one affine map
 *   output_layer.4.*               [E]              BatchNorm1d  /   (NCHW flatten order kept)
 *
 * Units per block: 50 layers 3, 4, 14, 3; 100 layers 3, 13, 30, 3; 152 layers 3, 8, 36, 3; the
 * first unit of every block has stride 2 (112 -> 56 -> 28 -> 14 -> 7).
 */
import { InputError } from "../../util/validate.ts";
import type { ArrayTensor, TensorMap } from "../stylegan2/weights.ts";

export const BN_EPS = 1e-5;

/** Units per block for each depth (`get_blocks` upstream). */
export const IRSE_LAYOUTS: Readonly<Record<number, readonly number[]>> = {
  50: [3, 4, 14, 3],
  100: [3, 13, 30, 3],
  152: [3, 8, 36, 3],
};

/** The authors' crop of a 256 image before pooling to 112: rows 35..222, columns 32..219. */
export const ID_CROP = { top: 35, left: 32, size: 188 } as const;
export const ID_INPUT = 112;

export interface IrSeUnit {
  cin: number;
  cout: number;
  stride: number;
  /** The leading BatchNorm2d as y = x * scale + shift. [Cin] */
  bnScale: Float32Array;
  bnShift: Float32Array;
  conv1: Float32Array; // [Cout, Cin, 3, 3]
  prelu: Float32Array; // [Cout]
  /** The second conv with the following BatchNorm2d folded in. [Cout, Cout, 3, 3], [Cout] */
  conv2: Float32Array;
  conv2Bias: Float32Array;
  /** Squeeze-excitation widths and weights: fc1 [R, Cout], fc2 [Cout, R]. */
  reduced: number;
  se1: Float32Array;
  se2: Float32Array;
  /** The 1x1 conv + BN shortcut, folded ([Cout, Cin], [Cout]); null: MaxPool(1, stride). */
  shortcut: { weight: Float32Array; bias: Float32Array } | null;
}

export interface IrSeWeights {
  /** 50, 100 or 152, from the number of units. */
  depth: number;
  /** The network's input size (112). */
  inputSize: number;
  /** Output width of each block. */
  blockWidths: number[];
  stem: { weight: Float32Array; bias: Float32Array; prelu: Float32Array; cout: number };
  units: IrSeUnit[];
  /** Output BN2d + Linear + BN1d as one affine map on the NCHW flatten: [E, C*S*S], [E]. */
  head: { weight: Float32Array; bias: Float32Array; channels: number; spatial: number };
  /** Embedding width (512). */
  embeddingDim: number;
  /** The file's parameter count (weights and biases; running statistics excluded). */
  parameterCount: number;
}

export class IrSeFormatError extends InputError {
  override name = "IrSeFormatError";
}

const f32 = (t: ArrayTensor): Float32Array =>
  t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
const shapeStr = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Collects problems; `get` names a missing or misshapen tensor once. */
export class TensorReader {
  readonly problems: string[] = [];
  parameterCount = 0;
  constructor(readonly tensors: TensorMap) {}

  /** The tensor, checked against `shape` (-1: any size); records a problem and returns null. */
  get(name: string, shape?: readonly number[], optional = false): Float32Array | null {
    const t = this.tensors.get(name);
    if (!t) {
      if (!optional) this.problems.push(`missing "${name}"`);
      return null;
    }
    if (
      shape &&
      !(t.shape.length === shape.length && shape.every((d, i) => d < 0 || t.shape[i] === d))
    ) {
      this.problems.push(
        `"${name}" has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape).replace(/-1/g, "?")}`,
      );
      return null;
    }
    if (!/running_(mean|var)$/.test(name)) this.parameterCount += t.data.length;
    return f32(t);
  }

  shape(name: string): number[] | null {
    return this.tensors.get(name)?.shape ?? null;
  }

  /** One error naming every problem (the first 8) and, when nothing fits, what the file holds. */
  fail(
    source: string,
    what: string,
    expectPrefix: string,
    ErrorClass: new (message: string) => Error = IrSeFormatError,
  ): never {
    const keys = [...this.tensors.keys()];
    const hint = keys.length && !keys.some((k) => k.startsWith(expectPrefix))
      ? ` (its tensors start ${keys.slice(0, 3).map((k) => `"${k}"`).join(", ")}...)`
      : keys.length
      ? ""
      : " (it holds no tensors)";
    const p = this.problems;
    throw new ErrorClass(
      `${source}: not ${what}${hint}: ${p.slice(0, 8).join("; ")}${
        p.length > 8 ? `; and ${p.length - 8} more` : ""
      }`,
    );
  }
}

/** Eval-mode batch-norm as scale and shift (affine=False files have no weight / bias). */
function batchNorm(r: TensorReader, prefix: string, c: number) {
  const mean = r.get(`${prefix}.running_mean`, [c]);
  const v = r.get(`${prefix}.running_var`, [c]);
  const optional = !r.tensors.has(`${prefix}.weight`) && !r.tensors.has(`${prefix}.bias`);
  const gamma = r.get(`${prefix}.weight`, [c], optional);
  const beta = r.get(`${prefix}.bias`, [c], optional);
  if (!mean || !v) return null;
  const scale = new Float32Array(c), shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = (gamma ? gamma[i] : 1) / Math.sqrt(v[i] + BN_EPS);
    scale[i] = s;
    shift[i] = (beta ? beta[i] : 0) - mean[i] * s;
  }
  return { scale, shift };
}

/** A conv [Cout, ...] followed by a batch-norm: weights times scale, bias = shift. */
function foldConv(w: Float32Array, bn: { scale: Float32Array; shift: Float32Array }) {
  const cout = bn.scale.length, per = w.length / cout;
  const out = new Float32Array(w.length);
  for (let o = 0; o < cout; o++) {
    for (let j = 0; j < per; j++) out[o * per + j] = w[o * per + j] * bn.scale[o];
  }
  return { weight: out, bias: Float32Array.from(bn.shift) };
}

/** A PReLU slope vector of `c` channels (a single shared slope is broadcast). */
function prelu(r: TensorReader, name: string, c: number): Float32Array | null {
  const s = r.shape(name);
  const a = r.get(name, s && s.length === 1 && s[0] === 1 ? [1] : [c]);
  return a && a.length === 1 ? new Float32Array(c).fill(a[0]) : a;
}

/** The number of `body.N` units named in the file (the largest N + 1). */
function countUnits(tensors: TensorMap): number {
  let n = 0;
  for (const k of tensors.keys()) {
    const m = /^body\.(\d+)\./.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * Reads an IR-SE backbone state_dict (names without a prefix). Every missing or misshapen tensor
 * is named in one error.
 */
export function parseIrSe(tensors: TensorMap, source: string): IrSeWeights {
  const r = new TensorReader(tensors);
  const what = "an IR-SE backbone state_dict (TreB1eN's Backbone names)";
  const stemShape = r.shape("input_layer.0.weight");
  const c0 = stemShape?.[0] ?? 0;
  const stemW = r.get("input_layer.0.weight", [-1, 3, 3, 3]);
  const stemBn = c0 ? batchNorm(r, "input_layer.1", c0) : null;
  const stemPrelu = c0 ? prelu(r, "input_layer.2.weight", c0) : null;
  // Without the widths, at least name what else is missing (shapes are checked once known).
  const present = (...names: string[]) => names.forEach((name) => r.get(name));
  if (!c0) {
    present("input_layer.1.running_mean", "input_layer.1.running_var", "input_layer.2.weight");
  }

  const n = countUnits(tensors);
  const depthEntry = Object.entries(IRSE_LAYOUTS).find(([, l]) => l.reduce((a, b) => a + b) === n);
  if (!depthEntry) {
    r.problems.push(
      n === 0
        ? `missing the units "body.0.*" ...`
        : `"body" has ${n} units; IR-SE 50 / 100 / 152 have 24 / 49 / 50`,
    );
    present("output_layer.0.running_mean", "output_layer.3.weight", "output_layer.4.running_mean");
    r.fail(source, what, "body.");
  }
  const depth = Number(depthEntry![0]);
  const firstOfBlock = new Set<number>();
  let at = 0;
  for (const len of depthEntry![1]) {
    firstOfBlock.add(at);
    at += len;
  }

  const units: IrSeUnit[] = [];
  const blockWidths: number[] = [];
  let cin = c0;
  for (let i = 0; i < n; i++) {
    const p = `body.${i}`;
    const cout = r.shape(`${p}.res_layer.1.weight`)?.[0] ?? cin;
    const stride = firstOfBlock.has(i) ? 2 : 1;
    const bn0 = batchNorm(r, `${p}.res_layer.0`, cin);
    const conv1 = r.get(`${p}.res_layer.1.weight`, [cout, cin, 3, 3]);
    const pr = prelu(r, `${p}.res_layer.2.weight`, cout);
    const conv2 = r.get(`${p}.res_layer.3.weight`, [cout, cout, 3, 3]);
    const bn4 = batchNorm(r, `${p}.res_layer.4`, cout);
    const red = r.shape(`${p}.res_layer.5.fc1.weight`)?.[0] ?? Math.floor(cout / 16);
    const se1 = r.get(`${p}.res_layer.5.fc1.weight`, [red, cout, 1, 1]);
    const se2 = r.get(`${p}.res_layer.5.fc2.weight`, [cout, red, 1, 1]);
    let shortcut: IrSeUnit["shortcut"] = null;
    const hasConv = tensors.has(`${p}.shortcut_layer.0.weight`);
    if (hasConv || cin !== cout) {
      const w = r.get(`${p}.shortcut_layer.0.weight`, [cout, cin, 1, 1]);
      const bn = batchNorm(r, `${p}.shortcut_layer.1`, cout);
      if (w && bn) shortcut = foldConv(w, bn);
    }
    if (bn0 && conv1 && pr && conv2 && bn4 && se1 && se2) {
      const folded = foldConv(conv2, bn4);
      units.push({
        cin,
        cout,
        stride,
        bnScale: bn0.scale,
        bnShift: bn0.shift,
        conv1,
        prelu: pr,
        conv2: folded.weight,
        conv2Bias: folded.bias,
        reduced: red,
        se1,
        se2,
        shortcut,
      });
    }
    if (firstOfBlock.has(i + 1) || i === n - 1) blockWidths.push(cout);
    cin = cout;
  }

  // Output layer: BN2d(C) -> Dropout -> Flatten (NCHW) -> Linear(C*S*S, E) -> BN1d(E).
  const C = cin;
  const lin = r.shape("output_layer.3.weight");
  const E = lin?.[0] ?? 512;
  const spatial = Math.round(Math.sqrt((lin?.[1] ?? C * 49) / C));
  if (lin && spatial !== 7) {
    r.problems.push(
      `"output_layer.3.weight" has shape ${shapeStr(lin)}, expected [E, ${C * 49}] (${C} x 7 x 7)`,
    );
  }
  const bnOut = batchNorm(r, "output_layer.0", C);
  const linW = r.get("output_layer.3.weight", [E, C * 49]);
  const linB = r.get("output_layer.3.bias", [E]);
  const bnEmb = batchNorm(r, "output_layer.4", E);
  if (r.problems.length) r.fail(source, what, "body.");

  const head = foldHead(linW!, linB!, bnOut!, bnEmb!, C, 49);
  const stem = foldConv(stemW!, stemBn!);
  return {
    depth,
    inputSize: ID_INPUT,
    blockWidths,
    stem: { ...stem, prelu: stemPrelu!, cout: c0 },
    units,
    head: { ...head, channels: C, spatial: 7 },
    embeddingDim: E,
    parameterCount: r.parameterCount,
  };
}

/** BN2d on the input (per channel c of index j = c P + p) and BN1d on the output of a Linear. */
function foldHead(
  w: Float32Array,
  b: Float32Array,
  inBn: { scale: Float32Array; shift: Float32Array },
  outBn: { scale: Float32Array; shift: Float32Array },
  C: number,
  P: number,
) {
  const E = b.length, J = C * P;
  const weight = new Float32Array(w.length), bias = new Float32Array(E);
  for (let o = 0; o < E; o++) {
    let acc = b[o];
    const s = outBn.scale[o];
    for (let j = 0; j < J; j++) {
      const c = Math.floor(j / P);
      acc += w[o * J + j] * inBn.shift[c];
      weight[o * J + j] = w[o * J + j] * inBn.scale[c] * s;
    }
    bias[o] = acc * s + outBn.shift[o];
  }
  return { weight, bias };
}

/**
 * PyTorch's `AdaptiveAvgPool` along one axis as a matrix [out, in]: output cell i averages the
 * inputs floor(i in / out) .. ceil((i + 1) in / out) - 1 (cells overlap when out does not
 * divide in, as 188 -> 112).
 */
export function adaptivePoolMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let i = 0; i < outSize; i++) {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.floor(((i + 1) * inSize + outSize - 1) / outSize);
    for (let k = start; k < end; k++) m[i * inSize + k] = 1 / (end - start);
  }
  return m;
}

/**
 * The transpose [inSize, outSize] of `adaptivePoolMatrix(length, outSize)` placed at rows
 * offset .. offset + length - 1 (zero elsewhere): right-multiplying an axis of `inSize` values
 * by it crops that axis and pools it in one step.
 */
export function poolMatrixT(
  inSize: number,
  outSize: number,
  offset = 0,
  length = inSize - offset,
): Float32Array {
  const a = adaptivePoolMatrix(length, outSize);
  const t = new Float32Array(inSize * outSize);
  for (let i = 0; i < outSize; i++) {
    for (let k = 0; k < length; k++) t[(offset + k) * outSize + i] = a[i * length + k];
  }
  return t;
}
