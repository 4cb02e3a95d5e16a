/**
 * The synthface dataset (paper section 4, with ISF-GAN's mixing): 10,000 training and 1,000 test
 * latents w from fixed seeds, each training latent kept and mixed 7 times (80,000 samples), each
 * test latent mixed once (1,000 samples). Labels of every sample come from the training classifier
 * (thresholded), as the paper's come from its classifiers; the oracle's labels and factors are
 * stored beside them.
 *
 *   data/synthface/train_w.npy, test_w.npy         w [N, 512] float32 (numpy reads them)
 *   data/synthface/train_latents.parquet, test_...  per latent: oracle factors and labels (W mode)
 *   data/synthface/train_mix.parquet, test_mix...   per sample: source, reference, start, end,
 *                                                   classifier labels and probabilities, oracle labels
 *   data/synthface/README.md                        counts, base rates, checksums, world properties (report.ts)
 *
 * Mixed W+ latents are never stored: `MixedLatents.batch(rows)` materialises them from the recipes.
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { makeMixRecipes, materializeMixes, type MixRecipes } from "./mixing.ts";
import { readNpy, writeNpy } from "../io/npy.ts";
import { writeParquetAtomic } from "../io/parquet.ts";
import { mapSamples } from "../world/synthface/calibration.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { ATTRIBUTES, FACTORS } from "../world/synthface/spec.ts";
import { Progress } from "../util/progress.ts";
import { artifactPath } from "../paths.ts";

export interface DatasetConfig {
  numTrain: number;
  numTest: number;
  /** Seeds of the training and test latents (z streams). */
  trainSeed: number;
  testSeed: number;
  /** Mixes per training latent (besides the original) and per test latent. */
  trainMixes: number;
  testMixes: number;
  mixSeed: number;
  testMixSeed: number;
}

export const DATASET: DatasetConfig = {
  numTrain: 10_000,
  numTest: 1_000,
  trainSeed: 1001,
  testSeed: 2002,
  trainMixes: 7,
  testMixes: 1,
  mixSeed: 3003,
  testMixSeed: 4004,
};

/** A small dataset for quick runs (notebook smoke tests): same procedure, fewer latents. */
export const QUICK_DATASET: DatasetConfig = { ...DATASET, numTrain: 512, numTest: 128 };

export const DATASET_DIR = artifactPath("data/synthface/");

/** W latents plus mixing recipes: W+ batches on demand. */
export class MixedLatents {
  constructor(
    readonly w: Float32Array,
    readonly recipes: MixRecipes,
    readonly D = 512,
    readonly L = 18,
  ) {}

  get size(): number {
    return this.recipes.source.length;
  }

  /** W+ [rows.length, L, D]. */
  batch(rows: ArrayLike<number>): tf.Tensor3D {
    return tf.tensor3d(materializeMixes(this.w, this.D, this.recipes, rows, this.L), [
      rows.length,
      this.L,
      this.D,
    ]);
  }
}

export interface Split {
  w: Float32Array;
  latents: MixedLatents;
  /** Training classifier labels of each sample, [size, M] (0/1). */
  labels: Float32Array;
  /** Oracle labels of each sample, [size, M]. */
  oracleLabels: Float32Array;
}

export interface Dataset {
  train: Split;
  test: Split;
  attributes: readonly string[];
  /** The directory it was read from (absent for a dataset built in memory). */
  dir?: string;
}

function recipeFrame(
  r: MixRecipes,
  labels: Float32Array,
  probs: Float32Array,
  oracle: Float32Array,
): pl.DataFrame {
  const M = ATTRIBUTES.length, n = r.source.length;
  const cols: Record<string, Int32Array | Float32Array> = {
    sample: Int32Array.from({ length: n }, (_, i) => i),
    source: r.source,
    reference: r.reference,
    start: r.start,
    end: r.end,
  };
  ATTRIBUTES.forEach((a, m) => {
    cols[`label_${a}`] = Float32Array.from({ length: n }, (_, i) => labels[i * M + m]);
    cols[`prob_${a}`] = Float32Array.from({ length: n }, (_, i) => probs[i * M + m]);
    cols[`oracle_${a}`] = Float32Array.from({ length: n }, (_, i) => oracle[i * M + m]);
  });
  return pl.DataFrame(cols);
}

/** Oracle factors of W latents, [N, F]. */
function oracleFactors(world: SynthFace, w: Float32Array, n: number): Float32Array {
  const F = FACTORS.length, D = world.latentDim;
  const out = new Float32Array(n * F);
  for (let i = 0; i < n; i += 1000) {
    const m = Math.min(1000, n - i);
    const v = tf.tidy(() =>
      world.factors(world.toWPlus(tf.tensor2d(w.subarray(i * D, (i + m) * D), [m, D])))
    );
    out.set(v.dataSync(), i * F);
    v.dispose();
  }
  return out;
}

/** Classifier probabilities and oracle labels of every sample of `latents`. */
function labelSamples(
  world: SynthFace,
  latents: MixedLatents,
  progress: Progress,
  chunk = 256,
): { probs: Float32Array; oracle: Float32Array } {
  const M = ATTRIBUTES.length, n = latents.size;
  const probs = new Float32Array(n * M), oracle = new Float32Array(n * M);
  for (let i = 0; i < n; i += chunk) {
    const rows = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => i + k);
    const [p, o] = tf.tidy(() => {
      const wp = latents.batch(rows);
      return [tf.sigmoid(world.classifier(world.synthesize(wp))), world.oracle.labels(wp)];
    });
    probs.set(p.dataSync(), i * M);
    oracle.set(o.dataSync(), i * M);
    tf.dispose([p, o]);
    progress.tick(rows.length);
  }
  return { probs, oracle };
}

export interface BuildSummary {
  counts: Record<string, number>;
  baseRates: Record<string, Record<string, number>>;
  classifierAgreement: Record<string, number>;
  seconds: number;
}

/** Writes the dataset of `cfg` into `dir` (atomic files); returns counts and base rates. */
export async function buildDataset(
  world: SynthFace,
  dir: string,
  cfg: DatasetConfig = DATASET,
  opts: { silent?: boolean } = {},
): Promise<BuildSummary> {
  const t0 = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const D = world.latentDim, M = ATTRIBUTES.length, F = FACTORS.length;
  const splits = [
    {
      name: "train",
      n: cfg.numTrain,
      seed: cfg.trainSeed,
      mixes: cfg.trainMixes,
      keep: true,
      mixSeed: cfg.mixSeed,
    },
    {
      name: "test",
      n: cfg.numTest,
      seed: cfg.testSeed,
      mixes: cfg.testMixes,
      keep: false,
      mixSeed: cfg.testMixSeed,
    },
  ];
  const total = splits.reduce((s, x) => s + x.n * (x.mixes + (x.keep ? 1 : 0)), 0);
  const progress = new Progress("label samples", total, { unit: "samples", silent: opts.silent });
  const summary: BuildSummary = { counts: {}, baseRates: {}, classifierAgreement: {}, seconds: 0 };
  for (const s of splits) {
    const w = mapSamples(world.mappingNet, s.n, s.seed);
    await writeNpy(`${dir}/${s.name}_w.npy`, { dtype: "float32", shape: [s.n, D], data: w });
    const factors = oracleFactors(world, w, s.n);
    const latCols: Record<string, Int32Array | Float32Array> = {
      latent: Int32Array.from({ length: s.n }, (_, i) => i),
    };
    FACTORS.forEach((
      f,
      j,
    ) => (latCols[`factor_${f.name}`] = Float32Array.from(
      { length: s.n },
      (_, i) => factors[i * F + j],
    )));
    ATTRIBUTES.forEach((a) => {
      const j = FACTORS.findIndex((f) => f.name === a);
      latCols[`oracle_${a}`] = Float32Array.from(
        { length: s.n },
        (_, i) => (factors[i * F + j] > 0.5 ? 1 : 0),
      );
    });
    await writeParquetAtomic(`${dir}/${s.name}_latents.parquet`, pl.DataFrame(latCols));
    const recipes = makeMixRecipes(s.n, {
      mixesPerLatent: s.mixes,
      keepOriginal: s.keep,
      seed: s.mixSeed,
    });
    const { probs, oracle } = labelSamples(world, new MixedLatents(w, recipes, D), progress);
    const labels = probs.map((p) => (p > 0.5 ? 1 : 0));
    await writeParquetAtomic(
      `${dir}/${s.name}_mix.parquet`,
      recipeFrame(recipes, labels, probs, oracle),
    );
    const n = recipes.source.length;
    summary.counts[`${s.name} latents`] = s.n;
    summary.counts[`${s.name} samples`] = n;
    summary.baseRates[`${s.name} samples (classifier)`] = Object.fromEntries(
      ATTRIBUTES.map((a, m) => [
        a,
        labels.filter((_, i) => i % M === m).reduce((x, y) => x + y, 0) / n,
      ]),
    );
    summary.baseRates[`${s.name} samples (oracle)`] = Object.fromEntries(
      ATTRIBUTES.map((a, m) => [
        a,
        oracle.filter((_, i) => i % M === m).reduce((x, y) => x + y, 0) / n,
      ]),
    );
    summary.classifierAgreement[s.name] = labels.reduce((c, v, i) =>
      c + (v === oracle[i] ? 1 : 0), 0) / labels.length;
  }
  progress.finish();
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}

export const DATASET_FILES = [
  "train_w.npy",
  "test_w.npy",
  "train_latents.parquet",
  "test_latents.parquet",
  "train_mix.parquet",
  "test_mix.parquet",
];

function readSplit(dir: string, name: string, w: Float32Array): Split {
  const df = pl.readParquet(`${dir}/${name}_mix.parquet`);
  const i32 = (c: string) => Int32Array.from(df.getColumn(c).toArray() as number[]);
  const recipes: MixRecipes = {
    source: i32("source"),
    reference: i32("reference"),
    start: i32("start"),
    end: i32("end"),
  };
  const n = recipes.source.length, M = ATTRIBUTES.length;
  const labels = new Float32Array(n * M), oracleLabels = new Float32Array(n * M);
  ATTRIBUTES.forEach((a, m) => {
    const l = df.getColumn(`label_${a}`).toArray() as number[],
      o = df.getColumn(`oracle_${a}`).toArray() as number[];
    for (let i = 0; i < n; i++) {
      labels[i * M + m] = l[i];
      oracleLabels[i * M + m] = o[i];
    }
  });
  return { w, latents: new MixedLatents(w, recipes), labels, oracleLabels };
}

/** Reads a dataset written by buildDataset. */
export async function loadDataset(dir = DATASET_DIR): Promise<Dataset> {
  for (const f of DATASET_FILES) {
    try {
      await Deno.stat(`${dir}/${f}`);
    } catch {
      throw new Error(`${dir}/${f} is missing; run deno task data`);
    }
  }
  const trainW = (await readNpy(`${dir}/train_w.npy`)).data as Float32Array;
  const testW = (await readNpy(`${dir}/test_w.npy`)).data as Float32Array;
  return {
    train: readSplit(dir, "train", trainW),
    test: readSplit(dir, "test", testW),
    attributes: ATTRIBUTES,
    dir,
  };
}
