/**
 * The authors' attribute classifier natively in tfjs, differentiable with respect to the images:
 * StarGAN-v2's discriminator (ISF-GAN's `050000_nets_ema.ckpt`, entry "discriminator"; the
 * definition in najmemhmdb/ID-Style `core/model.py`) and its class head `out_cls`:
 *
 *   images [N, 256, 256, 3] in [-1, 1] (1024 etc. average-pooled to 256 first)
 *   main.0      conv 3 -> C0, 3x3, pad 1                           [N, 256, 256, C0]
 *   main.1..K   ResBlk(normalize=False, downsample=True), K = log2(size) - 2:
 *                 shortcut = avg_pool2(conv1x1(x))   (conv1x1 without bias, only when widths differ)
 *                 residual = conv2(lrelu(avg_pool2(conv1(lrelu(x)))))   (3x3, pad 1, with bias)
 *                 x = (shortcut + residual) / sqrt(2)                  [N, 4, 4, C]
 *   out_cls     lrelu, conv 4x4 (valid) C -> C, lrelu, conv 1x1 C -> D  [N, D] logits
 *
 * Leaky ReLU slope 0.2; D = 4 for the authors' classifier (Gender, Glasses, Age, Expression).
 * The real-fake head `out_src` is not used. Widths, depth and the number of logits come from the
 * tensor shapes.
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../../util/validate.ts";
import type { TensorMap } from "../stylegan2/weights.ts";
import { avgPool, convBias, oihwToHwio, PAD1, poolImagesTo, readStateDict } from "./irse.ts";
import { TensorReader } from "./irse_weights.ts";

/** The attributes of the authors' classifier's logits, in order. */
export const CLASSIFIER_ATTRIBUTES = ["Gender", "Glasses", "Age", "Expression"] as const;

export class ClassifierFormatError extends InputError {
  override name = "ClassifierFormatError";
}

export interface ConvWeights {
  /** [Cout, Cin, k, k], PyTorch's layout. */
  weight: Float32Array;
  /** [Cout], or null (no bias). */
  bias: Float32Array | null;
  cin: number;
  cout: number;
  k: number;
}

export interface StarGanBlockWeights {
  cin: number;
  cout: number;
  conv1: ConvWeights; // Cin -> Cin
  conv2: ConvWeights; // Cin -> Cout
  /** The learned 1x1 shortcut (no bias) when Cin != Cout. */
  shortcut: ConvWeights | null;
}

export interface StarGanWeights {
  /** The image size the network takes (4 * 2^blocks: 256 for the authors' file). */
  imgSize: number;
  numDomains: number;
  stem: ConvWeights;
  blocks: StarGanBlockWeights[];
  cls4: ConvWeights; // out_cls.1, 4x4 valid
  cls1: ConvWeights; // out_cls.3, 1x1
  parameterCount: number;
}

/**
 * Reads a StarGAN-v2 discriminator state_dict (names without the "discriminator." prefix).
 * Every missing or misshapen tensor is named in one error.
 */
export function parseStarGanDiscriminator(tensors: TensorMap, source: string): StarGanWeights {
  const r = new TensorReader(tensors);
  const conv = (name: string, cout: number, cin: number, k: number, bias: boolean) => {
    const w = r.get(`${name}.weight`, [cout, cin, k, k]);
    const b = bias ? r.get(`${name}.bias`, [cout]) : null;
    return w && (b || !bias) ? { weight: w, bias: b, cin, cout, k } : null;
  };
  const c0 = r.shape("main.0.weight")?.[0] ?? 0;
  const stem = conv("main.0", c0, 3, 3, true);
  const blocks: StarGanBlockWeights[] = [];
  let cin = c0;
  let k = 1;
  for (; tensors.has(`main.${k}.conv1.weight`); k++) {
    const p = `main.${k}`;
    const cout = r.shape(`${p}.conv2.weight`)?.[0] ?? cin;
    const conv1 = conv(`${p}.conv1`, cin, cin, 3, true);
    const conv2 = conv(`${p}.conv2`, cout, cin, 3, true);
    const learned = cin !== cout || tensors.has(`${p}.conv1x1.weight`);
    const shortcut = learned ? conv(`${p}.conv1x1`, cout, cin, 1, false) : null;
    if (conv1 && conv2 && (shortcut || !learned)) {
      blocks.push({ cin, cout, conv1, conv2, shortcut });
    }
    cin = cout;
  }
  const numBlocks = k - 1;
  if (numBlocks === 0) r.problems.push(`missing the ResBlks ("main.1.conv1.weight" ...)`);
  const D = r.shape("out_cls.3.weight")?.[0] ?? 4;
  const cls4 = conv("out_cls.1", cin, cin, 4, true);
  const cls1 = conv("out_cls.3", D, cin, 1, true);
  if (r.problems.length) {
    r.fail(
      source,
      `a StarGAN-v2 discriminator state_dict (ISF-GAN's "discriminator" entry)`,
      "main.",
      ClassifierFormatError,
    );
  }
  let parameterCount = 0;
  for (const c of [stem!, cls4!, cls1!, ...blocks.flatMap((b) => [b.conv1, b.conv2, b.shortcut])]) {
    if (c) parameterCount += c.weight.length + (c.bias?.length ?? 0);
  }
  return {
    imgSize: 4 * 2 ** numBlocks,
    numDomains: D,
    stem: stem!,
    blocks,
    cls4: cls4!,
    cls1: cls1!,
    parameterCount,
  };
}

interface Conv {
  w: tf.Tensor4D;
  b: tf.Tensor1D | null;
}

const prepare = (c: ConvWeights): Conv => ({
  w: oihwToHwio(c.weight, c.cout, c.cin, c.k),
  b: c.bias ? tf.tensor1d(c.bias) : null,
});

const conv = (c: Conv, x: tf.Tensor4D, pad: "valid" | tf.backend_util.ExplicitPadding) =>
  convBias(x, c.w, c.b, 1, pad);

const lrelu = (x: tf.Tensor4D) => tf.leakyRelu(x, 0.2);
const pool2 = (x: tf.Tensor4D) => avgPool(x, 2);

export class StarGanClassifier {
  readonly imgSize: number;
  readonly numDomains: number;
  readonly parameterCount: number;
  readonly widths: readonly number[];
  private readonly stem: Conv;
  private readonly blocks: { conv1: Conv; conv2: Conv; shortcut: Conv | null }[];
  private readonly cls4: Conv;
  private readonly cls1: Conv;

  constructor(w: StarGanWeights) {
    this.imgSize = w.imgSize;
    this.numDomains = w.numDomains;
    this.parameterCount = w.parameterCount;
    this.widths = [w.stem.cout, ...w.blocks.map((b) => b.cout)];
    this.stem = prepare(w.stem);
    this.blocks = w.blocks.map((b) => ({
      conv1: prepare(b.conv1),
      conv2: prepare(b.conv2),
      shortcut: b.shortcut ? prepare(b.shortcut) : null,
    }));
    this.cls4 = prepare(w.cls4);
    this.cls1 = prepare(w.cls1);
  }

  /** The stem and every ResBlk: their outputs, [N, h, w, C] each (the last one 4x4 at 256 px). */
  private trunk(images: tf.Tensor4D): tf.Tensor4D[] {
    const maps: tf.Tensor4D[] = [];
    let x = conv(this.stem, poolImagesTo(images, this.imgSize), PAD1);
    for (const b of this.blocks) {
      // avg_pool2(conv1x1(x)) computed as conv1x1(avg_pool2(x)): both linear, 4x cheaper.
      const sc = b.shortcut ? conv(b.shortcut, pool2(x), "valid") : pool2(x);
      let r = conv(b.conv1, lrelu(x), PAD1);
      r = conv(b.conv2, lrelu(pool2(r)), PAD1);
      x = tf.mul(tf.add(sc, r), Math.SQRT1_2) as tf.Tensor4D;
      maps.push(x);
    }
    return maps;
  }

  /** images [N, 256, 256, 3] in [-1, 1] (or a multiple of 256) -> out_cls logits [N, D]. */
  logits(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const maps = this.trunk(images);
      const x = maps[maps.length - 1];
      const h = conv(this.cls1, lrelu(conv(this.cls4, lrelu(x), "valid")), "valid");
      return tf.reshape(h, [h.shape[0], this.numDomains]) as tf.Tensor2D;
    });
  }

  /**
   * Feature maps for the perceptual and Frechet distances of the evaluation protocol: the outputs
   * of the ResBlks (from 128 down to 4 px at 256 input), and the last one averaged over space.
   */
  features(images: tf.Tensor4D): { maps: tf.Tensor4D[]; pooled: tf.Tensor2D } {
    const maps = tf.tidy(() => this.trunk(images));
    const pooled = tf.tidy(() => tf.mean(maps[maps.length - 1], [1, 2]) as tf.Tensor2D);
    return { maps, pooled };
  }

  dispose(): void {
    const all = [this.stem, this.cls4, this.cls1];
    for (const b of this.blocks) all.push(b.conv1, b.conv2, ...(b.shortcut ? [b.shortcut] : []));
    for (const c of all) tf.dispose([c.w, ...(c.b ? [c.b] : [])]);
  }
}

/** Reads and checks a classifier file: the "discriminator" entry, or a bare state_dict. */
export async function readClassifierWeights(path: string): Promise<StarGanWeights> {
  const tensors = await readStateDict(path, "discriminator", ClassifierFormatError);
  return parseStarGanDiscriminator(tensors, path);
}

/** Reads `050000_nets_ema.ckpt` (or a file of the same layout) and builds the tfjs classifier. */
export async function loadStarGanClassifier(path: string): Promise<StarGanClassifier> {
  return new StarGanClassifier(await readClassifierWeights(path));
}
