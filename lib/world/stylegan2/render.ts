/**
 * Rendering many latents with a real generator, in batches with progress, on either runtime:
 * tfjs (the differentiable port; any backend) or onnxruntime-node (the exported graph; fastest
 * on a CPU). Output is NCHW float32 (PyTorch's layout, the generator's raw values).
 */
import * as tf from "@tensorflow/tfjs";
import { Progress } from "../../util/progress.ts";
import { StyleGAN2 } from "./generator.ts";
import { exportGeneratorOnnx, OrtGenerator } from "./onnx.ts";
import type { StyleGAN2Weights } from "./weights.ts";

export type Runtime = "ort" | "tfjs";

export interface RenderOptions {
  runtime?: Runtime;
  /** Output size (power of two up to the generator's); default the full size. */
  size?: number;
  /** Images per call (default 1 at 1024, more for smaller generators). */
  batch?: number;
  /** onnxruntime intra-op threads (default 2). */
  threads?: number;
  noise?: "stored" | "none";
  silent?: boolean;
}

/** W+ values [N, L, D] -> images [N, 3, S, S] (NCHW). */
export async function renderLatents(
  weights: StyleGAN2Weights,
  wplus: Float32Array,
  n: number,
  opts: RenderOptions = {},
): Promise<{ images: Float32Array; size: number }> {
  const size = opts.size ?? weights.size;
  const { numLatents: L, styleDim: D } = weights;
  const batch = opts.batch ?? Math.max(1, Math.floor((1024 / weights.size) ** 2));
  const per = 3 * size * size;
  const images = new Float32Array(n * per);
  const progress = new Progress(`render (${opts.runtime ?? "ort"})`, n, {
    unit: "images",
    silent: opts.silent,
  });
  if ((opts.runtime ?? "ort") === "ort") {
    const model = exportGeneratorOnnx(weights, { size, noise: opts.noise });
    const gen = await OrtGenerator.create(
      model,
      { numLatents: L, styleDim: D, size },
      opts.threads ?? 2,
    );
    try {
      for (let i = 0; i < n; i += batch) {
        const b = Math.min(batch, n - i);
        images.set(await gen.render(wplus.subarray(i * L * D, (i + b) * L * D), b), i * per);
        progress.tick(b);
      }
    } finally {
      await gen.release();
    }
  } else {
    const gen = new StyleGAN2(weights);
    try {
      for (let i = 0; i < n; i += batch) {
        const b = Math.min(batch, n - i);
        const nchw = tf.tidy(() => {
          const w = tf.tensor3d(wplus.subarray(i * L * D, (i + b) * L * D), [b, L, D]);
          return tf.transpose(gen.synthesize(w, { size, noise: opts.noise }), [0, 3, 1, 2]);
        });
        images.set(nchw.dataSync() as Float32Array, i * per);
        nchw.dispose();
        progress.tick(b);
      }
    } finally {
      gen.dispose();
    }
  }
  progress.finish();
  return { images, size };
}
