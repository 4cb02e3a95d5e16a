/**
 * A StyleGAN2 generator's weights in rosinality/stylegan2-pytorch's state_dict names, checked and
 * arranged for the tfjs port (DESIGN.md section 2.2). Every width, the resolution and the depth
 * of the mapping network are inferred from the tensor shapes, so the FFHQ config-f file (1024 px,
 * 18 W+ rows, channel multiplier 2) and a narrowed test copy load through the same code.
 *
 *   style.{1..n}.weight / bias            [D, D] [D]        mapping (EqualLinear, lr_mul 0.01)
 *   input.input                           [1, C4, 4, 4]     constant input
 *   conv1.conv.weight                     [1, C, C, 3, 3]   + .modulation.weight [C, D] / bias [C]
 *   conv1.noise.weight, activate.bias     [1] [C]
 *   to_rgb1.conv.weight, .bias            [1, 3, C, 1, 1] [1, 3, 1, 1]
 *   convs.{2k, 2k+1}.*, to_rgbs.{k}.*     per resolution 8 .. size (the first conv upsamples)
 *   noises.noise_{i}                      [1, 1, r, r]      stored noise, i = 0 .. 2 log2(size) - 4
 */
import { InputError } from "../../util/validate.ts";

/** A tensor as a reader gives it: C-order values and a shape. */
export interface ArrayTensor {
  shape: number[];
  data: ArrayLike<number>;
}

export type TensorMap = ReadonlyMap<string, ArrayTensor>;

/** A modulated convolution: shared weight, style affine, and (for StyledConv) noise and bias. */
export interface ModConvWeights {
  /** [Cout, Cin, k, k], as stored (without the 1/sqrt(Cin k^2) scale). */
  weight: Float32Array;
  cin: number;
  cout: number;
  k: number;
  /** EqualLinear D -> Cin (bias initialised at 1 in training; used as stored). */
  modWeight: Float32Array; // [Cin, D]
  modBias: Float32Array; // [Cin]
}

export interface StyledConvWeights extends ModConvWeights {
  upsample: boolean;
  noiseWeight: number;
  activateBias: Float32Array; // [Cout]
}

export interface ToRgbWeights extends ModConvWeights {
  bias: Float32Array; // [3]
}

export interface StyleGAN2Weights {
  /** Output resolution (a power of two, 4 .. 1024 and beyond). */
  size: number;
  /** Width of z, w and the style vectors (512). */
  styleDim: number;
  /** Rows of W+: 2 log2(size) - 2 (18 at 1024). */
  numLatents: number;
  /** Channels per resolution, {4: .., 8: .., ...}. */
  channels: Record<number, number>;
  mapping: { weight: Float32Array; bias: Float32Array }[]; // [D, D] (out, in), [D]
  input: Float32Array; // [1, C4, 4, 4]
  conv1: StyledConvWeights;
  toRgb1: ToRgbWeights;
  /** convs.0 .. convs.2n-1: pairs (upsampling, plain) per resolution 8 .. size. */
  convs: StyledConvWeights[];
  toRgbs: ToRgbWeights[];
  /** noises.noise_i, [r, r] each (i = 0 .. numLayers - 1), or null where absent. */
  noises: ({ size: number; data: Float32Array } | null)[];
  /** The 4x4 blur kernel after each up-sampling conv, as stored (make_kernel times 4). */
  blurKernel: Float32Array;
  /** The 4x4 kernel of ToRGB's skip up-sampling, as stored (make_kernel times 4). */
  skipKernel: Float32Array;
  /** The mean w (`latent_avg`), when the file has it. */
  latentAvg: Float32Array | null;
}

export class GeneratorFormatError extends InputError {
  override name = "GeneratorFormatError";
}

const f32 = (t: ArrayTensor): Float32Array =>
  t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);

/**
 * Reads a generator state_dict (the `g_ema` entry's tensors, names without the prefix). Every
 * missing or misshapen tensor is named in one error.
 */
export function parseGenerator(
  tensors: TensorMap,
  source: string,
  latentAvg?: ArrayTensor,
): StyleGAN2Weights {
  const problems: string[] = [];
  const get = (name: string, rank?: number): ArrayTensor | null => {
    const t = tensors.get(name);
    if (!t) {
      problems.push(`missing "${name}"`);
      return null;
    }
    if (rank !== undefined && t.shape.length !== rank) {
      problems.push(`"${name}" has shape [${t.shape.join(", ")}], expected rank ${rank}`);
      return null;
    }
    return t;
  };
  const fail = (): never => {
    const hint = tensors.size && ![...tensors.keys()].some((k) => k.startsWith("style."))
      ? ` (its tensors start ${[...tensors.keys()].slice(0, 3).join(", ")}...)`
      : "";
    throw new GeneratorFormatError(
      `${source}: not a StyleGAN2 generator state_dict (rosinality's names)${hint}: ${
        problems.slice(0, 6).join("; ")
      }${problems.length > 6 ? `; and ${problems.length - 6} more` : ""}`,
    );
  };

  const inputT = get("input.input", 4);
  if (!inputT) fail();
  const styleDim = tensors.get("conv1.conv.modulation.weight")?.shape[1] ??
    tensors.get("style.1.weight")?.shape[0];
  if (!styleDim) {
    get("conv1.conv.modulation.weight");
    fail();
  }
  const D = styleDim!;
  // Mapping: style.1 .. style.n (style.0 is the PixelNorm, which has no parameters).
  const mapping: StyleGAN2Weights["mapping"] = [];
  for (let i = 1; tensors.has(`style.${i}.weight`); i++) {
    const w = get(`style.${i}.weight`, 2), b = get(`style.${i}.bias`, 1);
    if (w && b) {
      if (w.shape[0] !== D || w.shape[1] !== D || b.shape[0] !== D) {
        problems.push(`"style.${i}" has shape [${w.shape.join(", ")}], expected [${D}, ${D}]`);
      } else mapping.push({ weight: f32(w), bias: f32(b) });
    }
  }
  if (!mapping.length) problems.push(`missing the mapping network ("style.1.weight" ...)`);

  const modConv = (prefix: string, cinWant: number): ModConvWeights | null => {
    const w = get(`${prefix}.conv.weight`, 5);
    const mw = get(`${prefix}.conv.modulation.weight`, 2);
    const mb = get(`${prefix}.conv.modulation.bias`, 1);
    if (!w || !mw || !mb) return null;
    const [, cout, cin, k, k2] = w.shape;
    if (cin !== cinWant || k !== k2 || mw.shape[0] !== cin || mw.shape[1] !== D) {
      problems.push(
        `"${prefix}.conv.weight" [${w.shape.join(", ")}] / modulation [${
          mw.shape.join(", ")
        }] do not fit ${cinWant} input channels and style width ${D}`,
      );
      return null;
    }
    return { weight: f32(w), cin, cout, k, modWeight: f32(mw), modBias: f32(mb) };
  };
  const styled = (prefix: string, cin: number, upsample: boolean): StyledConvWeights | null => {
    const m = modConv(prefix, cin);
    const nw = get(`${prefix}.noise.weight`);
    const ab = get(`${prefix}.activate.bias`, 1);
    if (!m || !nw || !ab) return null;
    return { ...m, upsample, noiseWeight: nw.data[0], activateBias: f32(ab) };
  };
  const toRgb = (prefix: string, cin: number): ToRgbWeights | null => {
    const m = modConv(prefix, cin);
    const b = get(`${prefix}.bias`, 4);
    if (!m || !b) return null;
    return { ...m, bias: f32(b) };
  };

  const c4 = inputT!.shape[1];
  const conv1 = styled("conv1", c4, false);
  const toRgb1 = toRgb("to_rgb1", c4);
  let numRes = 0;
  while (tensors.has(`convs.${2 * numRes}.conv.weight`)) numRes++;
  const size = 4 * 2 ** numRes;
  const channels: Record<number, number> = { 4: c4 };
  const convs: StyledConvWeights[] = [];
  const toRgbs: ToRgbWeights[] = [];
  let cin = c4;
  for (let r = 0; r < numRes; r++) {
    const up = styled(`convs.${2 * r}`, cin, true);
    const cout = up?.cout ?? cin;
    const plain = styled(`convs.${2 * r + 1}`, cout, false);
    const rgb = toRgb(`to_rgbs.${r}`, cout);
    channels[8 * 2 ** r] = cout;
    if (up && plain && rgb) {
      convs.push(up, plain);
      toRgbs.push(rgb);
    }
    cin = cout;
  }
  const numLayers = 2 * numRes + 1;
  const noises: StyleGAN2Weights["noises"] = [];
  for (let i = 0; i < numLayers; i++) {
    const t = tensors.get(`noises.noise_${i}`);
    const r = 2 ** Math.floor((i + 5) / 2);
    if (t && (t.shape.length !== 4 || t.shape[2] !== r || t.shape[3] !== r)) {
      problems.push(
        `"noises.noise_${i}" has shape [${t.shape.join(", ")}], expected [1, 1, ${r}, ${r}]`,
      );
    }
    noises.push(t ? { size: r, data: f32(t) } : null);
  }
  const kernelAt = (name: string) => {
    const t = tensors.get(name);
    const k = t ? f32(t) : defaultBlurKernel();
    if (k.length !== 16) problems.push(`"${name}" must be 4x4, got [${t!.shape.join(", ")}]`);
    return k;
  };
  const blurKernel = kernelAt("convs.0.conv.blur.kernel");
  const skipKernel = kernelAt("to_rgbs.0.upsample.kernel");
  let avg: Float32Array | null = null;
  if (latentAvg) {
    if (latentAvg.shape.reduce((a, b) => a * b, 1) !== D) {
      problems.push(`"latent_avg" has shape [${latentAvg.shape.join(", ")}], expected [${D}]`);
    } else avg = f32(latentAvg);
  }
  if (problems.length) fail();
  return {
    size,
    styleDim: D,
    numLatents: 2 * Math.log2(size) - 2,
    channels,
    mapping,
    input: f32(inputT!),
    conv1: conv1!,
    toRgb1: toRgb1!,
    convs,
    toRgbs,
    noises,
    blurKernel,
    skipKernel,
    latentAvg: avg,
  };
}

/** make_kernel([1, 3, 3, 1]) * 4: the outer product normalised to sum 1, times the factor^2. */
export function defaultBlurKernel(): Float32Array {
  const k = [1, 3, 3, 1];
  const out = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) out[i * 4 + j] = (k[i] * k[j]) / 16;
  return out;
}

/** Parameter count (what the state_dict's parameters hold; buffers excluded). */
export function countGeneratorParameters(w: StyleGAN2Weights): number {
  const mc = (m: ModConvWeights) => m.weight.length + m.modWeight.length + m.modBias.length;
  let n = w.mapping.reduce((s, l) => s + l.weight.length + l.bias.length, 0) + w.input.length;
  for (const c of [w.conv1, ...w.convs]) n += mc(c) + 1 + c.activateBias.length;
  for (const t of [w.toRgb1, ...w.toRgbs]) n += mc(t) + t.bias.length;
  return n;
}
