/**
 * Random-weight generators in the real shapes, from a seed: the benchmark's full-width FFHQ
 * config-f generator (1024 px, 18 rows, about 30.4M parameters) without any download, and tiny
 * configurations for gradient checks. Weights are N(0, 1) as rosinality initialises them (the
 * equalised learning rate scales them at run time), biases small, the modulation bias 1.
 */
import { Rng } from "../../util/rng.ts";
import {
  defaultBlurKernel,
  type StyledConvWeights,
  type StyleGAN2Weights,
  type ToRgbWeights,
} from "./weights.ts";

export interface GeneratorShape {
  size: number;
  styleDim?: number;
  /** Mapping layers (8). */
  nMlp?: number;
  /** Channels per resolution; default rosinality's with `channelMultiplier`. */
  channels?: Record<number, number>;
  channelMultiplier?: number;
}

/** rosinality's widths: 512 up to 32 px, then 256 cm, 128 cm, 64 cm, 32 cm, 16 cm. */
export function rosinalityChannels(channelMultiplier = 2): Record<number, number> {
  const cm = channelMultiplier;
  return {
    4: 512,
    8: 512,
    16: 512,
    32: 512,
    64: 256 * cm,
    128: 128 * cm,
    256: 64 * cm,
    512: 32 * cm,
    1024: 16 * cm,
  };
}

export function randomGeneratorWeights(shape: GeneratorShape, seed = 0): StyleGAN2Weights {
  const rng = new Rng(seed);
  const D = shape.styleDim ?? 512;
  const channels = shape.channels ?? rosinalityChannels(shape.channelMultiplier ?? 2);
  const numRes = Math.log2(shape.size) - 2;
  const styled = (cin: number, cout: number, upsample: boolean): StyledConvWeights => ({
    weight: rng.normals(cout * cin * 9),
    cin,
    cout,
    k: 3,
    modWeight: rng.normals(cin * D),
    modBias: new Float32Array(cin).fill(1),
    upsample,
    noiseWeight: 0.1,
    activateBias: rng.normals(cout, 0.1),
  });
  const rgb = (cin: number): ToRgbWeights => ({
    weight: rng.normals(3 * cin),
    cin,
    cout: 3,
    k: 1,
    modWeight: rng.normals(cin * D),
    modBias: new Float32Array(cin).fill(1),
    bias: rng.normals(3, 0.1),
  });
  const c4 = channels[4];
  const convs: StyledConvWeights[] = [];
  const toRgbs: ToRgbWeights[] = [];
  let cin = c4;
  for (let r = 0; r < numRes; r++) {
    const cout = channels[8 * 2 ** r];
    convs.push(styled(cin, cout, true), styled(cout, cout, false));
    toRgbs.push(rgb(cout));
    cin = cout;
  }
  const used: Record<number, number> = {};
  for (let r = 4; r <= shape.size; r *= 2) used[r] = channels[r];
  return {
    size: shape.size,
    styleDim: D,
    numLatents: 2 * Math.log2(shape.size) - 2,
    channels: used,
    mapping: Array.from({ length: shape.nMlp ?? 8 }, () => ({
      weight: rng.normals(D * D, 100), // randn / lr_mul
      bias: rng.normals(D, 0.1),
    })),
    input: rng.normals(c4 * 16),
    conv1: styled(c4, c4, false),
    toRgb1: rgb(c4),
    convs,
    toRgbs,
    noises: Array.from({ length: 2 * numRes + 1 }, (_, i) => {
      const r = 2 ** Math.floor((i + 5) / 2);
      return { size: r, data: rng.normals(r * r) };
    }),
    blurKernel: defaultBlurKernel(),
    skipKernel: defaultBlurKernel(),
    latentAvg: rng.normals(D, 0.1),
  };
}
