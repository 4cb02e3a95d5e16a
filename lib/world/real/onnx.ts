/**
 * The identity network and the attribute classifier as ONNX graphs (opset 17) for fast
 * forward-only work (scoring) in onnxruntime-node, and their runners:
 *
 *   IR-SE       input images [B, 3, S, S] (NCHW, [-1, 1])  ->  output embedding [B, E] (unit rows)
 *   classifier  input images [B, 3, S, S]                  ->  output logits [B, D]
 *
 * S is 256 by default; a larger multiple (1024) adds the authors' average pooling to 256. The
 * graphs follow the upstream PyTorch modules op for op (the batch-norms folded as in the tfjs
 * port, which is exact in eval mode): the IR-SE's crop is a Slice and its AdaptiveAvgPool2d(112)
 * two MatMuls with the averaging matrix; the MaxPool(1, 2) shortcut is a MaxPool; the
 * discriminator's learned shortcut is conv1x1 then AveragePool, in upstream's order.
 */
import ort from "onnxruntime-node";
import { GraphBuilder } from "../../onnx/builder.ts";
import { InputError } from "../../util/validate.ts";
import { adaptivePoolMatrix, ID_CROP, ID_INPUT, type IrSeWeights } from "./irse_weights.ts";
import type { ConvWeights, StarGanWeights } from "./stargan_d.ts";

export interface ImageOnnxOptions {
  /** The input images' size: a multiple of 256 (default 256), pooled to 256 in the graph. */
  size?: number;
}

function inputImages(g: GraphBuilder, base: number, size: number): string {
  if (!(Number.isInteger(size) && size >= base && size % base === 0)) {
    throw new InputError(`size: expected a multiple of ${base}, got ${size}`);
  }
  const x = g.input("images", ["B", 3, size, size]);
  const f = size / base;
  return f === 1 ? x : g.op("AveragePool", [x], {
    kernel_shape: { ints: [f, f] },
    strides: { ints: [f, f] },
  });
}

type ConvFn = (
  x: string,
  weight: Float32Array,
  bias: Float32Array | null,
  shape: [number, number, number], // [Cout, Cin, k]
  attrs?: { stride?: number; pad?: number },
) => string;

/** A Conv node factory with fresh initializer names (weights in PyTorch's OIHW layout). */
function convs(g: GraphBuilder): ConvFn {
  let n = 0;
  return (x, weight, bias, [cout, cin, k], attrs = {}) => {
    const id = `conv${n++}`;
    const inputs = [x, g.float(`${id}_w`, weight, [cout, cin, k, k])];
    if (bias) inputs.push(g.float(`${id}_b`, bias, [cout]));
    const p = attrs.pad ?? 0, s = attrs.stride ?? 1;
    return g.op("Conv", inputs, {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [s, s] },
      pads: { ints: [p, p, p, p] },
    });
  };
}

/** The IR-SE backbone behind the authors' preprocessing. */
export function exportIrSeOnnx(w: IrSeWeights, opts: ImageOnnxOptions = {}): Uint8Array {
  const g = new GraphBuilder("ir_se_identity");
  const conv = convs(g);
  let x = inputImages(g, 256, opts.size ?? 256);
  const s = ID_CROP.size;
  x = g.op("Slice", [
    x,
    g.int64("crop_starts", [ID_CROP.top, ID_CROP.left]),
    g.int64("crop_ends", [ID_CROP.top + s, ID_CROP.left + s]),
    g.int64("crop_axes", [2, 3]),
  ]); // [B, 3, 188, 188]
  const a = adaptivePoolMatrix(s, ID_INPUT); // [112, 188]
  const at = new Float32Array(a.length);
  for (let i = 0; i < ID_INPUT; i++) {
    for (let k = 0; k < s; k++) at[k * ID_INPUT + i] = a[i * s + k];
  }
  x = g.op("MatMul", [g.float("pool_rows", a, [ID_INPUT, s]), x]); // rows: [B, 3, 112, 188]
  x = g.op("MatMul", [x, g.float("pool_cols", at, [s, ID_INPUT])]); // columns: [B, 3, 112, 112]

  const slope = (name: string, v: Float32Array) => g.float(name, v, [v.length, 1, 1]);
  const c0 = w.stem.cout;
  x = conv(x, w.stem.weight, w.stem.bias, [c0, 3, 3], { pad: 1 });
  x = g.op("PRelu", [x, slope("stem_prelu", w.stem.prelu)]);
  w.units.forEach((u, i) => {
    const { cin, cout, stride } = u;
    const sc = u.shortcut
      ? conv(x, u.shortcut.weight, u.shortcut.bias, [cout, cin, 1], { stride })
      : stride === 1
      ? x
      : g.op("MaxPool", [x], {
        kernel_shape: { ints: [1, 1] },
        strides: { ints: [stride, stride] },
      });
    let r = g.op("Add", [
      g.op("Mul", [x, g.float(`u${i}_bn_scale`, u.bnScale, [cin, 1, 1])]),
      g.float(`u${i}_bn_shift`, u.bnShift, [cin, 1, 1]),
    ]);
    r = conv(r, u.conv1, null, [cout, cin, 3], { pad: 1 });
    r = g.op("PRelu", [r, slope(`u${i}_prelu`, u.prelu)]);
    r = conv(r, u.conv2, u.conv2Bias, [cout, cout, 3], { pad: 1, stride });
    let e = g.op("GlobalAveragePool", [r]); // [B, Cout, 1, 1]
    e = g.op("Relu", [conv(e, u.se1, null, [u.reduced, cout, 1])]);
    e = g.op("Sigmoid", [conv(e, u.se2, null, [cout, u.reduced, 1])]);
    x = g.op("Add", [g.op("Mul", [r, e]), sc]);
  });
  const { channels: C, spatial: S } = w.head;
  const E = w.embeddingDim;
  const flat = g.op("Flatten", [x], { axis: { i: 1 } }); // [B, C*S*S], NCHW order
  const emb = g.op("Gemm", [
    flat,
    g.float("head_w", w.head.weight, [E, C * S * S]),
    g.float("head_b", w.head.bias, [E]),
  ], { transB: { i: 1 } });
  g.op("LpNormalization", [emb], { axis: { i: 1 }, p: { i: 2 } }, "embedding");
  g.output("embedding", ["B", E]);
  return g.encode();
}

/** The discriminator's trunk and class head `out_cls`. */
export function exportClassifierOnnx(w: StarGanWeights, opts: ImageOnnxOptions = {}): Uint8Array {
  const g = new GraphBuilder("stargan_v2_out_cls");
  const conv = convs(g);
  const c = (x: string, cw: ConvWeights, pad: number) =>
    conv(x, cw.weight, cw.bias, [cw.cout, cw.cin, cw.k], { pad });
  const lrelu = (x: string) => g.op("LeakyRelu", [x], { alpha: { f: 0.2 } });
  const pool2 = (x: string) =>
    g.op("AveragePool", [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  const invSqrt2 = g.float("inv_sqrt2", new Float32Array([Math.SQRT1_2]), []);
  let x = inputImages(g, w.imgSize, opts.size ?? w.imgSize);
  x = c(x, w.stem, 1);
  for (const b of w.blocks) {
    const sc = pool2(b.shortcut ? c(x, b.shortcut, 0) : x);
    const r = c(lrelu(pool2(c(lrelu(x), b.conv1, 1))), b.conv2, 1);
    x = g.op("Mul", [g.op("Add", [sc, r]), invSqrt2]);
  }
  const h = c(lrelu(c(lrelu(x), w.cls4, 0)), w.cls1, 0); // [B, D, 1, 1]
  g.op("Flatten", [h], { axis: { i: 1 } }, "logits");
  g.output("logits", ["B", w.numDomains]);
  return g.encode();
}

/** An exported image network in onnxruntime-node (CPU provider): images NCHW -> [B, outDim]. */
class OrtImageNet {
  protected constructor(
    private readonly session: ort.InferenceSession,
    readonly size: number,
    readonly outDim: number,
    private readonly output: string,
  ) {}

  protected static session(model: Uint8Array, threads: number): Promise<ort.InferenceSession> {
    return ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
  }

  protected async run(images: Float32Array, batch: number): Promise<Float32Array> {
    const want = batch * 3 * this.size * this.size;
    if (images.length !== want) {
      throw new InputError(
        `images: expected ${batch} x 3 x ${this.size} x ${this.size} = ${want} values (NCHW), got ${images.length}`,
      );
    }
    const out = await this.session.run({
      images: new ort.Tensor("float32", images, [batch, 3, this.size, this.size]),
    });
    return out[this.output].data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** `exportIrSeOnnx`'s graph: `embed(images NCHW, batch)` -> B x E unit rows. */
export class OrtIrSe extends OrtImageNet {
  static async create(model: Uint8Array, size = 256, embeddingDim = 512, threads = 2) {
    return new OrtIrSe(await OrtImageNet.session(model, threads), size, embeddingDim, "embedding");
  }

  embed(images: Float32Array, batch: number): Promise<Float32Array> {
    return this.run(images, batch);
  }
}

/** `exportClassifierOnnx`'s graph: `logits(images NCHW, batch)` -> B x D. */
export class OrtClassifier extends OrtImageNet {
  static async create(model: Uint8Array, size = 256, numDomains = 4, threads = 2) {
    return new OrtClassifier(await OrtImageNet.session(model, threads), size, numDomains, "logits");
  }

  logits(images: Float32Array, batch: number): Promise<Float32Array> {
    return this.run(images, batch);
  }
}
