/**
 * Scoring images with the paper's networks, forward only: IR-SE50 embeddings (the authors' crop
 * and pooling), the attribute classifier's four logits, and with reference images the per-pair
 * identity similarity as the authors compute FRS (the dot product of the unit embeddings). Runs
 * in onnxruntime (default; fastest on a CPU) or tfjs, in batches with progress.
 */
import * as tf from "@tensorflow/tfjs";
import { IrSe } from "./irse.ts";
import type { IrSeWeights } from "./irse_weights.ts";
import { StarGanClassifier, type StarGanWeights } from "./stargan_d.ts";
import { exportClassifierOnnx, exportIrSeOnnx, OrtClassifier, OrtIrSe } from "./onnx.ts";
import { Progress } from "../../util/progress.ts";
import { InputError } from "../../util/validate.ts";

export interface ImageBatch {
  /** NCHW float values [n, 3, size, size] in [-1, 1] (PyTorch's layout, the generator's range). */
  data: Float32Array;
  n: number;
  size: number;
}

export interface Scores {
  embeddings: Float32Array; // [n, E]
  logits: Float32Array; // [n, M]
  /** Per pair: dot(e(image_i), e(reference_i)), [n], when references are given. */
  similarity: Float32Array | null;
  embeddingDim: number;
  numLogits: number;
}

export interface ScoreOptions {
  runtime?: "ort" | "tfjs";
  batch?: number;
  threads?: number;
  silent?: boolean;
}

/** Checks an image batch: 256 px or a multiple (pooled to 256 first), finite values. */
export function checkImages(b: ImageBatch, what: string): void {
  if (b.data.length !== b.n * 3 * b.size * b.size) {
    throw new InputError(
      `${what}: ${b.data.length} values do not fill [${b.n}, 3, ${b.size}, ${b.size}]`,
    );
  }
  if (b.size % 256 !== 0) {
    throw new InputError(
      `${what}: expected images at 256 or 1024 px ([N, 3, 256, 256]), got ${b.size} px`,
    );
  }
  const bad = b.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${what}: value ${bad} is ${b.data[bad]}`);
}

/** NCHW [n, 3, s, s] -> NCHW [n, 3, 256, 256] by s/256 x s/256 means (the authors' pooling). */
function poolTo256(b: ImageBatch): Float32Array {
  if (b.size === 256) return b.data;
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(b.data, [b.n, 3, b.size, b.size]), [
      0,
      2,
      3,
      1,
    ]) as tf.Tensor4D;
    const f = b.size / 256;
    return tf.transpose(tf.avgPool(x, f, f, "valid"), [0, 3, 1, 2]).dataSync() as Float32Array;
  });
}

export async function scoreImages(
  images: ImageBatch,
  nets: { identity: IrSeWeights; classifier: StarGanWeights },
  reference: ImageBatch | null = null,
  opts: ScoreOptions = {},
): Promise<Scores> {
  checkImages(images, "images");
  if (reference) {
    checkImages(reference, "reference");
    if (reference.n !== images.n) {
      throw new InputError(
        `reference: expected ${images.n} images (one per image), got ${reference.n}`,
      );
    }
  }
  const E = nets.identity.embeddingDim, M = nets.classifier.numDomains;
  const batch = opts.batch ?? 8, px = 3 * 256 * 256;
  const sets = [poolTo256(images), ...(reference ? [poolTo256(reference)] : [])];
  const total = images.n * sets.length;
  const progress = new Progress(`score (${opts.runtime ?? "ort"})`, total, {
    unit: "images",
    silent: opts.silent,
  });
  const embeddings = sets.map(() => new Float32Array(images.n * E));
  const logits = new Float32Array(images.n * M);
  if ((opts.runtime ?? "ort") === "ort") {
    const id = await OrtIrSe.create(exportIrSeOnnx(nets.identity), 256, E, opts.threads ?? 2);
    const cls = await OrtClassifier.create(
      exportClassifierOnnx(nets.classifier),
      256,
      M,
      opts.threads ?? 2,
    );
    try {
      for (let s = 0; s < sets.length; s++) {
        for (let i = 0; i < images.n; i += batch) {
          const b = Math.min(batch, images.n - i);
          const x = sets[s].subarray(i * px, (i + b) * px);
          embeddings[s].set(await id.embed(x, b), i * E);
          if (s === 0) logits.set(await cls.logits(x, b), i * M);
          progress.tick(b);
        }
      }
    } finally {
      await id.release();
      await cls.release();
    }
  } else {
    const id = new IrSe(nets.identity), cls = new StarGanClassifier(nets.classifier);
    try {
      for (let s = 0; s < sets.length; s++) {
        for (let i = 0; i < images.n; i += batch) {
          const b = Math.min(batch, images.n - i);
          const x = tf.tidy(() =>
            tf.transpose(tf.tensor4d(sets[s].subarray(i * px, (i + b) * px), [b, 3, 256, 256]), [
              0,
              2,
              3,
              1,
            ]) as tf.Tensor4D
          );
          const e = id.embed(x);
          embeddings[s].set(e.dataSync() as Float32Array, i * E);
          if (s === 0) {
            const l = cls.logits(x);
            logits.set(l.dataSync() as Float32Array, i * M);
            l.dispose();
          }
          tf.dispose([x, e]);
          progress.tick(b);
        }
      }
    } finally {
      id.dispose();
      cls.dispose();
    }
  }
  progress.finish();
  let similarity: Float32Array | null = null;
  if (reference) {
    similarity = new Float32Array(images.n);
    for (let i = 0; i < images.n; i++) {
      let d = 0;
      for (let k = 0; k < E; k++) d += embeddings[0][i * E + k] * embeddings[1][i * E + k];
      similarity[i] = d;
    }
  }
  return { embeddings: embeddings[0], logits, similarity, embeddingDim: E, numLogits: M };
}
