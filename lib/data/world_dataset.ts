/**
 * A dataset for any world (the real one above all), by the paper's procedure (DESIGN.md section
 * 3): training latents kept and mixed 7 times, test latents mixed once, every sample labelled by
 * the world's training classifier (thresholded at logit 0). The latents are the user's (StyleFlow's
 * `latents.npy`, W+ [N, 1, 18, 512]: the first `numTrain` train, the next `numTest` test) or, without
 * them, w sampled from the mapping network with a seed.
 *
 * Labelling renders every sample (88,000 at full size: hours on a CPU, minutes on a GPU), so labels
 * are written chunk by chunk to `cacheDir` (atomic) and a rerun resumes where it stopped. A world
 * without an oracle gets NaN oracle labels.
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import { makeMixRecipes, type MixRecipes } from "./mixing.ts";
import { type Dataset, MixedLatents, type Split } from "./dataset.ts";
import { readNpy, writeNpy } from "../io/npy.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { Progress } from "../util/progress.ts";
import { Rng } from "../util/rng.ts";
import { InputError } from "../util/validate.ts";

export interface WorldDatasetConfig {
  numTrain: number;
  numTest: number;
  trainMixes: number;
  testMixes: number;
  /** Seed of the sampled z (without user latents) and of the mixing recipes. */
  seed: number;
  /** Samples rendered and classified per call. */
  chunk: number;
}

/** The paper's sizes (StyleFlow's 10K + 1K). */
export const WORLD_DATASET: WorldDatasetConfig = {
  numTrain: 10_000,
  numTest: 1_000,
  trainMixes: 7,
  testMixes: 1,
  seed: 5005,
  chunk: 8,
};

/** W+ latents per source (rows may differ) plus mixing recipes: rows copied row by row. */
export class MixedWPlusLatents extends MixedLatents {
  constructor(readonly wplus: Float32Array, recipes: MixRecipes, D = 512, L = 18) {
    super(new Float32Array(0), recipes, D, L);
  }

  override batch(rows: ArrayLike<number>): tf.Tensor3D {
    const { D, L, recipes } = this;
    const out = new Float32Array(rows.length * L * D);
    for (let b = 0; b < rows.length; b++) {
      const r = rows[b], src = recipes.source[r], ref = recipes.reference[r];
      for (let l = 0; l < L; l++) {
        const from = ref >= 0 && l >= recipes.start[r] && l < recipes.end[r] ? ref : src;
        out.set(this.wplus.subarray((from * L + l) * D, (from * L + l + 1) * D), (b * L + l) * D);
      }
    }
    return tf.tensor3d(out, [rows.length, L, D]);
  }
}

export interface WorldDatasetOptions {
  /** User latents W+ [N, L, D] (flat); else sampled. */
  latents?: { data: Float32Array; n: number };
  /** Where labels are cached (resumable); none: in memory only. */
  cacheDir?: string;
  silent?: boolean;
  /** Label only the test split (evaluation); the training split is left empty. */
  testOnly?: boolean;
}

export async function buildWorldDataset(
  world: World,
  cfg: WorldDatasetConfig = WORLD_DATASET,
  opts: WorldDatasetOptions = {},
): Promise<Dataset> {
  const { numLayers: L, latentDim: D } = world;
  let sources: { train: Float32Array; test: Float32Array };
  if (opts.latents) {
    const need = cfg.numTrain + cfg.numTest;
    if (opts.latents.n < need) {
      throw new InputError(
        `latents: ${opts.latents.n} latents, but ${cfg.numTrain} training + ${cfg.numTest} test are asked for`,
      );
    }
    const slice = (a: number, n: number) => opts.latents!.data.subarray(a * L * D, (a + n) * L * D);
    sources = { train: slice(0, cfg.numTrain), test: slice(cfg.numTrain, cfg.numTest) };
  } else {
    const sample = (n: number, seed: number) =>
      tf.tidy(() => world.mapping(world.sampleZ(n, seed)).dataSync() as Float32Array);
    sources = { train: sample(cfg.numTrain, cfg.seed), test: sample(cfg.numTest, cfg.seed + 1) };
  }
  const split = async (name: "train" | "test"): Promise<Split> => {
    const n = name === "train" ? cfg.numTrain : cfg.numTest;
    const recipes = makeMixRecipes(n, {
      mixesPerLatent: name === "train" ? cfg.trainMixes : cfg.testMixes,
      keepOriginal: name === "train",
      seed: new Rng(cfg.seed).int(0, 1e9) + (name === "train" ? 0 : 1),
      numLayers: L,
    });
    const latents = opts.latents
      ? new MixedWPlusLatents(sources[name], recipes, D, L)
      : new MixedLatents(sources[name], recipes, D, L);
    const labels = await labelWithCache(world, latents, name, cfg, opts);
    const w = opts.latents ? new Float32Array(0) : sources[name];
    return { w, latents, labels, oracleLabels: new Float32Array(labels.length).fill(NaN) };
  };
  if (opts.cacheDir) await checkCache(world, cfg, opts);
  const test = await split("test");
  const train: Split = opts.testOnly
    ? {
      w: new Float32Array(0),
      latents: new MixedLatents(
        new Float32Array(0),
        {
          source: new Int32Array(0),
          reference: new Int32Array(0),
          start: new Int32Array(0),
          end: new Int32Array(0),
        },
        D,
        L,
      ),
      labels: new Float32Array(0),
      oracleLabels: new Float32Array(0),
    }
    : await split("train");
  return { train, test, attributes: world.attributes };
}

/**
 * The cache holds labels of one world and one configuration: a `dataset.json` records both, and
 * labels made with anything else are dropped (relabelled), never reused.
 */
async function checkCache(
  world: World,
  cfg: WorldDatasetConfig,
  opts: WorldDatasetOptions,
): Promise<void> {
  const key = JSON.stringify({
    world: world.name,
    provenance: world.provenance ? await world.provenance() : null,
    cfg: { ...cfg, chunk: undefined },
    latents: opts.latents
      ? { n: opts.latents.n, first: Array.from(opts.latents.data.subarray(0, 8)) }
      : null,
  });
  const file = `${opts.cacheDir}/dataset.json`;
  const prev = await Deno.readTextFile(file).catch(() => null);
  if (prev !== key) {
    await Deno.mkdir(opts.cacheDir!, { recursive: true });
    for (const f of ["train_logits.npy", "test_logits.npy"]) {
      await Deno.remove(`${opts.cacheDir}/${f}`).catch(() => {});
    }
    await writeFileAtomic(file, key);
  }
}

async function labelWithCache(
  world: World,
  latents: MixedLatents,
  name: string,
  cfg: WorldDatasetConfig,
  opts: WorldDatasetOptions,
): Promise<Float32Array> {
  const logits = await classifierLogits(world, latents, {
    chunk: cfg.chunk,
    cachePath: opts.cacheDir ? `${opts.cacheDir}/${name}_logits.npy` : undefined,
    label: `label ${name} samples (${world.name})`,
    silent: opts.silent,
  });
  return logits.map((v) => (v > 0 ? 1 : 0));
}

/**
 * The world's training-classifier logits of every sample of `latents`, [size, M], rendered and
 * classified `chunk` at a time with progress; with `cachePath` written every 512 samples (atomic)
 * and resumed from there. The caller keys the cache (see checkCache).
 */
export async function classifierLogits(
  world: World,
  latents: MixedLatents,
  opts: { chunk?: number; cachePath?: string; label?: string; silent?: boolean } = {},
): Promise<Float32Array> {
  const M = world.attributes.length, n = latents.size, chunk = opts.chunk ?? 8;
  const path = opts.cachePath ?? null;
  const logits = new Float32Array(n * M).fill(NaN);
  if (path) {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const prev = await readNpy(path).catch(() => null);
    if (prev && prev.shape[0] === n && prev.shape[1] === M) logits.set(prev.data as Float32Array);
  }
  let done = 0;
  while (done < n && !Number.isNaN(logits[done * M])) done++;
  const progress = new Progress(opts.label ?? `classify (${world.name})`, n, {
    unit: "samples",
    silent: opts.silent,
  });
  progress.resume(done);
  let sinceSave = 0;
  for (let i = done; i < n; i += chunk) {
    const rows = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => i + k);
    const l = tf.tidy(() => world.classifier(world.synthesize(latents.batch(rows))));
    logits.set(l.dataSync() as Float32Array, i * M);
    l.dispose();
    progress.tick(rows.length);
    sinceSave += rows.length;
    if (path && (sinceSave >= 512 || i + chunk >= n)) {
      await writeNpy(path, { dtype: "float32", shape: [n, M], data: logits });
      sinceSave = 0;
    }
  }
  progress.finish();
  return logits;
}

/** n latents sampled from the world's mapping network (W mode), as MixedLatents without mixes. */
export function sampledLatents(world: World, n: number, seed: number): MixedLatents {
  const w = tf.tidy(() => world.mapping(world.sampleZ(n, seed)).dataSync() as Float32Array);
  const recipes = {
    source: Int32Array.from({ length: n }, (_, i) => i),
    reference: new Int32Array(n).fill(-1),
    start: new Int32Array(n),
    end: new Int32Array(n),
  };
  return new MixedLatents(w, recipes, world.latentDim, world.numLayers);
}
