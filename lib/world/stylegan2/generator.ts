/**
 * rosinality's StyleGAN2 generator natively in tfjs, differentiable with respect to W+:
 *
 *   z [N, D] -> PixelNorm -> 8 x EqualLinear (lr_mul 0.01, fused leaky ReLU)   = w [N, D]
 *   W+ [N, L, D] (L = 2 log2(size) - 2):
 *     const [1, 4, 4, C4] -> conv1 (row 0) -> to_rgb1 (row 1)
 *     per resolution r = 8 .. size, k = 0, 1, ...:
 *       convs.2k (up-sampling, row 2k + 1) -> convs.2k+1 (row 2k + 2) -> to_rgbs.k (row 2k + 3)
 *   -> image [N, size, size, 3] (the raw output; about [-1, 1])
 *
 * Noise: the stored `noises.noise_i` buffers (the authors' `randomize_noise=False`, the default
 * here), fresh N(0, 1) noise from a seed, or none. The output is the full image or average-pooled
 * to a smaller power of two (the authors pool 1024 to 256 before their classifier and ArcFace).
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../../util/validate.ts";
import { Rng } from "../../util/rng.ts";
import { MappingNetwork } from "./mapping.ts";
import {
  Blur,
  disposeModConv,
  prepareStyledConv,
  prepareToRgb,
  SkipUpsample,
  type StyledConv,
  styledConv,
  type ToRgb,
  toRgb,
} from "./ops.ts";
import { countGeneratorParameters, type StyleGAN2Weights } from "./weights.ts";

export type NoiseMode = "stored" | "random" | "none";

export interface SynthesisOptions {
  /** Noise inputs: the stored buffers (default), fresh noise from `noiseSeed`, or none. */
  noise?: NoiseMode;
  /** Seed of the fresh noise (noise "random"); default 0. */
  noiseSeed?: number;
  /** Output size: the generator's (default) or a smaller power of two, by average pooling. */
  size?: number;
}

export class StyleGAN2 {
  readonly size: number;
  readonly styleDim: number;
  readonly numLatents: number;
  readonly channels: Readonly<Record<number, number>>;
  readonly parameterCount: number;
  /** The mapping network z -> w and truncation. */
  readonly mappingNetwork: MappingNetwork;
  private readonly constInput: tf.Tensor4D;
  private readonly conv1: StyledConv;
  private readonly toRgb1: ToRgb;
  private readonly convs: StyledConv[];
  private readonly toRgbs: ToRgb[];
  private readonly storedNoise: (tf.Tensor4D | null)[];
  private readonly blur: Blur;
  private readonly skipUp: SkipUpsample;

  constructor(w: StyleGAN2Weights) {
    this.size = w.size;
    this.styleDim = w.styleDim;
    this.numLatents = w.numLatents;
    this.channels = { ...w.channels };
    this.parameterCount = countGeneratorParameters(w);
    const D = w.styleDim;
    this.mappingNetwork = new MappingNetwork(w);
    const c4 = w.channels[4];
    const nchwToNhwc = (data: Float32Array, c: number, h: number) => {
      const out = new Float32Array(data.length);
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < h * h; p++) out[p * c + ch] = data[ch * h * h + p];
      }
      return out;
    };
    this.constInput = tf.tensor4d(nchwToNhwc(w.input, c4, 4), [1, 4, 4, c4]);
    this.conv1 = prepareStyledConv(w.conv1, D);
    this.toRgb1 = prepareToRgb(w.toRgb1, D);
    this.convs = w.convs.map((c) => prepareStyledConv(c, D));
    this.toRgbs = w.toRgbs.map((t) => prepareToRgb(t, D));
    this.storedNoise = w.noises.map((n) => n ? tf.tensor4d(n.data, [1, n.size, n.size, 1]) : null);
    this.blur = new Blur(w.blurKernel);
    this.skipUp = new SkipUpsample(w.skipKernel);
  }

  /** The file's `latent_avg` [D], or null. */
  get latentAvg(): tf.Tensor1D | null {
    return this.mappingNetwork.latentAvg;
  }

  /** Number of noise inputs (2 log2(size) - 3). */
  get numNoises(): number {
    return this.convs.length + 1;
  }

  /** The mapping network: z [N, D] -> w [N, D]. */
  mapping(z: tf.Tensor2D): tf.Tensor2D {
    return this.mappingNetwork.map(z);
  }

  /** latent_avg + psi (w - latent_avg), for w [N, D] or W+ [N, L, D]. */
  truncate<T extends tf.Tensor2D | tf.Tensor3D>(w: T, psi: number, avg = this.latentAvg): T {
    return this.mappingNetwork.truncate(w, psi, avg);
  }

  /** W mode: w [N, D] repeated on every row, [N, L, D]. */
  toWPlus(w: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => tf.tile(tf.expandDims(w, 1), [1, this.numLatents, 1]) as tf.Tensor3D);
  }

  /** The generator: W+ [N, L, D] -> images [N, H, W, 3] (H = opts.size or the full size). */
  synthesize(wPlus: tf.Tensor3D, opts: SynthesisOptions = {}): tf.Tensor4D {
    const [N, L, D] = wPlus.shape;
    if (wPlus.rank !== 3 || L !== this.numLatents || D !== this.styleDim) {
      throw new InputError(
        `wPlus: expected [N, ${this.numLatents}, ${this.styleDim}] for this ${this.size} px generator, got [${
          wPlus.shape.join(", ")
        }]`,
      );
    }
    const out = opts.size ?? this.size;
    if (!(Number.isInteger(Math.log2(out)) && out <= this.size && out >= 1)) {
      throw new InputError(
        `size: expected a power of two up to ${this.size}, got ${opts.size}`,
      );
    }
    const noise = this.noiseInputs(N, opts);
    try {
      return tf.tidy(() => {
        const row = (i: number) =>
          tf.reshape(tf.slice(wPlus, [0, i, 0], [N, 1, D]), [N, D]) as tf.Tensor2D;
        let x = tf.tile(this.constInput, [N, 1, 1, 1]) as tf.Tensor4D;
        x = styledConv(this.conv1, x, row(0), noise[0], this.blur);
        let skip = toRgb(this.toRgb1, x, row(1), null, this.skipUp);
        for (let k = 0; k < this.toRgbs.length; k++) {
          const next = tf.tidy(() => {
            let h = styledConv(this.convs[2 * k], x, row(2 * k + 1), noise[2 * k + 1], this.blur);
            h = styledConv(this.convs[2 * k + 1], h, row(2 * k + 2), noise[2 * k + 2], this.blur);
            return [h, toRgb(this.toRgbs[k], h, row(2 * k + 3), skip, this.skipUp)];
          });
          if (!tf.engine().state.gradientDepth) {
            // forward only: free each resolution's tensors as soon as the next one exists
            x.dispose();
            skip.dispose();
          }
          [x, skip] = next;
        }
        if (out === this.size) return skip;
        const f = this.size / out;
        return tf.avgPool(skip, f, f, "valid") as tf.Tensor4D;
      });
    } finally {
      for (let i = 0; i < noise.length; i++) {
        if (noise[i] && noise[i] !== this.storedNoise[i]) noise[i]!.dispose();
      }
    }
  }

  private noiseInputs(n: number, opts: SynthesisOptions): (tf.Tensor4D | null)[] {
    const mode = opts.noise ?? "stored";
    if (mode === "none") return this.storedNoise.map(() => null);
    if (mode === "stored") {
      const missing = this.storedNoise.findIndex((t) => !t);
      if (missing >= 0) {
        throw new InputError(
          `noise: the generator file has no noises.noise_${missing} buffer; use noise "random" or "none"`,
        );
      }
      return this.storedNoise;
    }
    if (mode !== "random") {
      throw new InputError(`noise: expected "stored", "random" or "none", got "${mode}"`);
    }
    const rng = new Rng(opts.noiseSeed ?? 0);
    return Array.from({ length: this.numNoises }, (_, i) => {
      const r = 2 ** Math.floor((i + 5) / 2);
      return tf.tensor4d(rng.normals(n * r * r), [n, r, r, 1]);
    });
  }

  dispose(): void {
    this.mappingNetwork.dispose();
    this.constInput.dispose();
    for (const c of [this.conv1, ...this.convs]) {
      disposeModConv(c.conv);
      c.bias.dispose();
    }
    for (const t of [this.toRgb1, ...this.toRgbs]) {
      disposeModConv(t.conv);
      t.bias.dispose();
    }
    for (const n of this.storedNoise) n?.dispose();
    this.blur.dispose();
    this.skipUp.dispose();
  }
}
