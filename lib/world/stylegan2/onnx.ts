/**
 * The StyleGAN2 synthesis network as an ONNX graph (opset 17), for fast forward work (rendering,
 * scoring) in onnxruntime-node, and its runner:
 *
 *   input   wplus [B, L, D]
 *   output  image [B, 3, S, S]   NCHW, PyTorch's layout; S = the generator's size or `size`
 *
 * Each modulated convolution is written in the non-fused form (input times style, one shared
 * Conv / ConvTranspose, output times the demodulation coefficients), like the tfjs port; the
 * stored noise buffers times their weights and the activation biases are folded into constants;
 * the blur after each up-sampling conv is a depthwise Conv and ToRGB's skip up-sampling a
 * depthwise ConvTranspose (stride 2, pads 1), which equals upfirdn2d(up=2, pad=(2, 1)).
 */
import ort from "onnxruntime-node";
import { GraphBuilder } from "../../onnx/builder.ts";
import type {
  ModConvWeights,
  StyledConvWeights,
  StyleGAN2Weights,
  ToRgbWeights,
} from "./weights.ts";
import { InputError } from "../../util/validate.ts";

export interface GeneratorOnnxOptions {
  /** Average-pool the output to this power of two (default: the full size). */
  size?: number;
  /** Noise: the stored buffers (default) or none. */
  noise?: "stored" | "none";
}

export function exportGeneratorOnnx(
  w: StyleGAN2Weights,
  opts: GeneratorOnnxOptions = {},
): Uint8Array {
  const { numLatents: L, styleDim: D } = w;
  const size = opts.size ?? w.size;
  if (!(Number.isInteger(Math.log2(size)) && size <= w.size)) {
    throw new InputError(`size: expected a power of two up to ${w.size}, got ${size}`);
  }
  const g = new GraphBuilder("stylegan2_synthesis");
  const wplus = g.input("wplus", ["B", L, D]);
  const axes23 = g.int64("axes_2_3", [2, 3]);
  const eps = g.float("eps", new Float32Array([1e-8]), []);
  const sqrt2 = g.float("sqrt2", new Float32Array([Math.SQRT2]), []);
  const axis1 = g.int64("axes_1", [1]);
  const rows = Array.from({ length: L }, (_, i) =>
    g.op("Squeeze", [
      g.op("Gather", [wplus, g.int64(`row_${i}`, [i])], { axis: { i: 1 } }), // [B, 1, D]
      axis1,
    ])); // [B, D]
  const row = (i: number) => rows[i];

  let layer = 0;
  const modConv = (m: ModConvWeights, x: string, wi: number, kind: "plain" | "up" | "rgb") => {
    const id = `l${layer++}`;
    const { cin, cout, k } = m;
    const aScale = 1 / Math.sqrt(D);
    const affine = new Float32Array(D * cin);
    for (let i = 0; i < cin; i++) {
      for (let d = 0; d < D; d++) affine[d * cin + i] = m.modWeight[i * D + d] * aScale;
    }
    const style = g.op("Add", [
      g.op("MatMul", [row(wi), g.float(`${id}_affine`, affine, [D, cin])]),
      g.float(`${id}_affine_b`, m.modBias, [cin]),
    ]); // [B, Cin]
    const xs = g.op("Mul", [x, g.op("Unsqueeze", [style, axes23])]);
    const scale = 1 / Math.sqrt(cin * k * k);
    const n = k * k;
    let y: string;
    if (kind === "up") {
      const wt = new Float32Array(m.weight.length); // [Cin, Cout, k, k]
      for (let o = 0; o < cout; o++) {
        for (let i = 0; i < cin; i++) {
          for (let t = 0; t < n; t++) {
            wt[(i * cout + o) * n + t] = m.weight[(o * cin + i) * n + t] * scale;
          }
        }
      }
      y = g.op("ConvTranspose", [xs, g.float(`${id}_w`, wt, [cin, cout, k, k])], {
        strides: { ints: [2, 2] },
      });
      const blur = new Float32Array(cout * 16);
      for (let c = 0; c < cout; c++) {
        for (let t = 0; t < 16; t++) blur[c * 16 + t] = w.blurKernel[15 - t];
      }
      y = g.op("Conv", [y, g.float(`${id}_blur`, blur, [cout, 1, 4, 4])], {
        group: { i: cout },
        pads: { ints: [1, 1, 1, 1] },
      });
    } else {
      const ws = m.weight.map((v) => v * scale);
      const p = Math.floor(k / 2);
      y = g.op("Conv", [xs, g.float(`${id}_w`, ws, [cout, cin, k, k])], {
        pads: { ints: [p, p, p, p] },
      });
    }
    if (kind !== "rgb") {
      const sq = new Float32Array(cin * cout);
      for (let o = 0; o < cout; o++) {
        for (let i = 0; i < cin; i++) {
          let s = 0;
          for (let t = 0; t < n; t++) s += (m.weight[(o * cin + i) * n + t] * scale) ** 2;
          sq[i * cout + o] = s;
        }
      }
      const d = g.op("Reciprocal", [
        g.op("Sqrt", [
          g.op("Add", [
            g.op("MatMul", [g.op("Mul", [style, style]), g.float(`${id}_wsq`, sq, [cin, cout])]),
            eps,
          ]),
        ]),
      ]);
      y = g.op("Mul", [y, g.op("Unsqueeze", [d, axes23])]);
    }
    return { y, id };
  };
  const styled = (s: StyledConvWeights, x: string, wi: number, noiseIndex: number) => {
    const { y, id } = modConv(s, x, wi, s.upsample ? "up" : "plain");
    let h = y;
    const nz = w.noises[noiseIndex];
    if ((opts.noise ?? "stored") === "stored" && nz && s.noiseWeight !== 0) {
      h = g.op("Add", [
        h,
        g.float(`${id}_noise`, nz.data.map((v) => v * s.noiseWeight), [1, 1, nz.size, nz.size]),
      ]);
    }
    h = g.op("Add", [h, g.float(`${id}_bias`, s.activateBias, [1, s.cout, 1, 1])]);
    return g.op("Mul", [g.op("LeakyRelu", [h], { alpha: { f: 0.2 } }), sqrt2]);
  };
  const rgbUpW = new Float32Array(3 * 16);
  for (let c = 0; c < 3; c++) for (let t = 0; t < 16; t++) rgbUpW[c * 16 + t] = w.skipKernel[t];
  const rgbUp = g.float("skip_up_w", rgbUpW, [3, 1, 4, 4]);
  const toRgb = (t: ToRgbWeights, x: string, wi: number, skip: string | null) => {
    const { y, id } = modConv(t, x, wi, "rgb");
    let out = g.op("Add", [y, g.float(`${id}_bias`, t.bias, [1, 3, 1, 1])]);
    if (skip) {
      const up = g.op("ConvTranspose", [skip, rgbUp], {
        strides: { ints: [2, 2] },
        group: { i: 3 },
        pads: { ints: [1, 1, 1, 1] },
      });
      out = g.op("Add", [out, up]);
    }
    return out;
  };

  // The constant input, broadcast to the batch by conv1's style multiplication.
  let x = g.float("const_input", w.input, [1, w.channels[4], 4, 4]);
  x = styled(w.conv1, x, 0, 0);
  let skip = toRgb(w.toRgb1, x, 1, null);
  for (let k = 0; k < w.toRgbs.length; k++) {
    x = styled(w.convs[2 * k], x, 2 * k + 1, 2 * k + 1);
    x = styled(w.convs[2 * k + 1], x, 2 * k + 2, 2 * k + 2);
    skip = toRgb(w.toRgbs[k], x, 2 * k + 3, skip);
  }
  if (size !== w.size) {
    const f = w.size / size;
    skip = g.op("AveragePool", [skip], {
      kernel_shape: { ints: [f, f] },
      strides: { ints: [f, f] },
    });
  }
  g.op("Identity", [skip], {}, "image");
  g.output("image", ["B", 3, size, size]);
  return g.encode();
}

/** An exported generator in onnxruntime-node (CPU provider). */
export class OrtGenerator {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly numLatents: number,
    readonly styleDim: number,
    readonly size: number,
  ) {}

  static async create(
    model: Uint8Array,
    shape: { numLatents: number; styleDim: number; size: number },
    threads = 2,
  ): Promise<OrtGenerator> {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    return new OrtGenerator(session, shape.numLatents, shape.styleDim, shape.size);
  }

  /** wplus: B x L x D values -> images B x 3 x S x S (NCHW). */
  async render(wplus: Float32Array, batch: number): Promise<Float32Array> {
    const out = await this.session.run({
      wplus: new ort.Tensor("float32", wplus, [batch, this.numLatents, this.styleDim]),
    });
    return out.image.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
