/**
 * The paper's Tables 1 and 2 in the synthface world.
 *
 * Table 1: every method on the 1,000 test latents, each attribute edited both ways (8,000 edits
 * per block), in two blocks: W (the unmixed test latents, w on every row) and W+ (the style-mixed
 * test latents). Metrics from evaluate.ts. Each (method, space) result is cached under the hash of
 * its inputs (lib/eval/table_cache.ts), so only rows whose checkpoint changed are recomputed.
 *
 * Table 2: parameters and measured inference time per latent of every method, at batch 1 and
 * batched (tfjs; onnxruntime too for ID-Style), measured in the same run.
 */
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import type { Dataset } from "../data/dataset.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import {
  type AttributeEditor,
  type EvalSummary,
  evaluate,
  idStyleAttributeEditor,
} from "./evaluate.ts";
import { loadEditor } from "../io/checkpoint.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";
import { BASELINE_LABELS, type BaselineName, BASELINES, loadBaseline } from "../baselines/load.ts";
import { DATASET_DIR } from "../data/dataset.ts";
import { EVALUATOR_FILES, SYNTHFACE_DIR } from "../world/synthface/world.ts";
import {
  type CachedResult,
  EVAL_CACHE_DIR,
  readCached,
  resultKey,
  writeCached,
} from "./table_cache.ts";
import { exportEditorOnnx } from "../onnx/export.ts";
import { OrtEditor } from "../onnx/ort.ts";
import { timeIt } from "../bench/timing.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writeParquetAtomic } from "../io/parquet.ts";

export interface Method {
  name: string;
  editor: AttributeEditor | null;
  parameters: number | null;
  /** The ID-Style editor itself, for ONNX timing. */
  idstyle?: IDStyleEditor;
  note?: string;
  /** The files its edits depend on (the cache key of its results hashes them). */
  files?: Record<string, string>;
}

/** What Table 1 says of each baseline. */
const BASELINE_NOTES: Readonly<Record<BaselineName, string>> = {
  interfacegan: "linear SVM normals (+-3 n on all rows)",
  isfgan: "reimplemented; see its metrics file for the changes",
  styleflow: "conditional CNF, RK4 8 steps, conditioned on the training classifier",
};

/**
 * The note of a baseline's row; for ISF-GAN it says which run the checkpoint is, from its metrics
 * file: the faithful one (StarGAN-v2's discriminator, its config has `disc`) or the earlier
 * cut-down one.
 */
async function baselineNote(b: BaselineName, path: string): Promise<string> {
  if (b !== "isfgan") return BASELINE_NOTES[b];
  const metrics = await Deno.readTextFile(path.replace(/\.safetensors$/, ".metrics.json"))
    .then((t) => JSON.parse(t) as { config?: { disc?: unknown; steps?: number } })
    .catch(() => null);
  if (!metrics?.config) return BASELINE_NOTES[b];
  return metrics.config.disc
    ? "faithful run (StarGAN-v2 discriminator, LPIPS form); remaining changes in ISFGAN_CHANGES"
    : `the earlier cut-down run (4-layer discriminator, classifier-feature perceptual terms, ${
      metrics.config.steps ?? "?"
    } steps)`;
}

/** The names of Table 1's methods, in its order. */
export const TABLE1_METHODS = [
  "InterFaceGAN",
  "ISF-GAN",
  "StyleFlow",
  "ID-Style (official)",
  "ID-Style (paper)",
] as const;

/**
 * The methods of Table 1 with their shipped checkpoints (missing ones are reported, not hidden).
 * `only`: a subset of TABLE1_METHODS.
 */
export async function loadMethods(
  world: SynthFace,
  opts: { only?: readonly string[] } = {},
): Promise<Method[]> {
  for (const name of opts.only ?? []) {
    if (!(TABLE1_METHODS as readonly string[]).includes(name)) {
      throw new Error(`only: unknown method "${name}"; expected ${TABLE1_METHODS.join(", ")}`);
    }
  }
  const methods: Method[] = [];
  const tryLoad = async (name: string, fn: () => Promise<Method>) => {
    if (opts.only && !opts.only.includes(name)) return;
    try {
      methods.push(await fn());
    } catch (err) {
      methods.push({
        name,
        editor: null,
        parameters: null,
        note: `missing: ${(err as Error).message.split("\n")[0]}`,
      });
    }
  };
  for (const b of BASELINES) {
    const name = BASELINE_LABELS[b];
    await tryLoad(name, async () => {
      const { editor, path } = await loadBaseline(b, world);
      return {
        name,
        editor,
        parameters: editor.countParameters(),
        note: await baselineNote(b, path),
        files: { checkpoint: path },
      };
    });
  }
  for (const preset of ["official", "paper"] as const) {
    const name = `ID-Style (${preset})`;
    await tryLoad(name, async () => {
      const path = SHIPPED_CHECKPOINTS[preset];
      const { editor } = await loadEditor(path);
      return {
        name,
        editor: idStyleAttributeEditor(editor, name),
        parameters: editor.countParameters().total,
        idstyle: editor,
        files: { checkpoint: path },
      };
    });
  }
  return methods;
}

export interface Table1Row {
  space: "W" | "W+";
  method: string;
  summary: EvalSummary | null;
  note?: string;
  /** Where the numbers came from: computed now, or the cache entry (with its date and duration). */
  provenance?: { cached: boolean; computedAt: string; seconds: number };
}

export interface Table1Options {
  /** Test latents to use (default all 1,000). */
  limit?: number;
  spaces?: ("W" | "W+")[];
  silent?: boolean;
  /** Cache directory of results (default EVAL_CACHE_DIR); null: no cache. */
  cacheDir?: string | null;
  /** Recompute even where the cache has the result (and overwrite it). */
  fresh?: boolean;
}

/** The files every Table 1 result depends on besides the method's own: the world and the test split. */
export function protocolFiles(): Record<string, string> {
  const files: Record<string, string> = { world: `${SYNTHFACE_DIR}world.safetensors` };
  for (const [name, file] of Object.entries(EVALUATOR_FILES)) files[name] = SYNTHFACE_DIR + file;
  for (const f of ["test_w.npy", "test_latents.parquet", "test_mix.parquet"]) {
    files[f] = DATASET_DIR + f;
  }
  return files;
}

/**
 * Table 1's rows. Results come from the cache where their inputs are unchanged (only for the
 * shipped dataset: a dataset from elsewhere is always computed).
 */
export function table1(
  world: SynthFace,
  dataset: Dataset,
  methods: Method[],
  opts: Table1Options = {},
): Table1Row[] {
  const n = Math.min(opts.limit ?? dataset.test.latents.size, dataset.test.latents.size);
  const D = world.latentDim;
  const batches = {
    "W": (rows: number[]) =>
      tf.tidy(() =>
        world.toWPlus(
          tf.tensor2d(
            rows.flatMap((r) => Array.from(dataset.test.w.subarray(r * D, (r + 1) * D))),
            [rows.length, D],
          ),
        )
      ),
    "W+": (rows: number[]) => dataset.test.latents.batch(rows),
  };
  const cacheDir = opts.cacheDir === undefined ? EVAL_CACHE_DIR : opts.cacheDir;
  // the key hashes the shipped split's files: a dataset from elsewhere is always computed
  const shipped = dataset.dir?.replace(/\/$/, "") === DATASET_DIR.replace(/\/$/, "");
  const useCache = cacheDir !== null && shipped;
  const rows: Table1Row[] = [];
  for (const space of opts.spaces ?? ["W", "W+"] as const) {
    for (const m of methods) {
      if (!m.editor) {
        rows.push({ space, method: m.name, summary: null, note: m.note });
        continue;
      }
      const key = useCache && m.files
        ? resultKey(
          { method: m.name, space, n, seed: world.seed },
          { ...protocolFiles(), ...m.files },
        )
        : null;
      const hit = key && !opts.fresh ? readCached(cacheDir!, key.key) : null;
      if (hit) {
        const provenance = { cached: true, computedAt: hit.computedAt, seconds: hit.seconds };
        rows.push({ space, method: m.name, summary: hit.summary, note: m.note, provenance });
        continue;
      }
      const t0 = performance.now();
      const { summary } = evaluate(m.editor, world, n, batches[space], {
        silent: opts.silent,
        label: `${space} ${m.name}`,
      });
      const entry: CachedResult = {
        key: key?.key ?? "",
        inputs: key?.inputs ?? {},
        summary,
        computedAt: new Date().toISOString(),
        seconds: (performance.now() - t0) / 1000,
      };
      if (key) writeCached(cacheDir!, entry);
      const provenance = { cached: false, computedAt: entry.computedAt, seconds: entry.seconds };
      rows.push({ space, method: m.name, summary, note: m.note, provenance });
    }
  }
  return rows;
}

const r3 = (
  x: number | null | undefined,
) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 1000) / 1000);
const pct = (
  x: number | null | undefined,
) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);

export function table1Frame(rows: Table1Row[], attributes: readonly string[]): pl.DataFrame {
  const s = (r: Table1Row) => r.summary;
  return pl.DataFrame({
    space: rows.map((r) => r.space),
    method: rows.map((r) => r.method),
    SSIM: rows.map((r) => r3(s(r)?.ssim)),
    FRS: rows.map((r) => r3(s(r)?.frs)),
    "FD (eval features)": rows.map((r) => r3(s(r)?.frechet)),
    "PD (perceptual)": rows.map((r) => r3(s(r)?.perceptual)),
    "mACC %": rows.map((r) => pct(s(r)?.mAcc)),
    ...Object.fromEntries(
      attributes.map((a) => [`${a} %`, rows.map((r) => pct(s(r)?.accuracy[a]))]),
    ),
    "oracle mACC %": rows.map((r) => pct(s(r)?.oracleMAcc)),
    "oracle identity": rows.map((r) => r3(s(r)?.oracleIdentity)),
    "others kept %": rows.map((r) => pct(s(r)?.othersKept)),
    edits: rows.map((r) => s(r)?.edits ?? 0),
    "eval min": rows.map((r) => (r.provenance ? Math.round(r.provenance.seconds / 6) / 10 : null)),
    evaluated: rows.map((r) =>
      r.provenance
        ? `${r.provenance.cached ? "cached, " : ""}${r.provenance.computedAt.slice(0, 16)}`
        : ""
    ),
    note: rows.map((r) => r.note ?? ""),
  });
}

export interface Table2Row {
  method: string;
  parameters: number | null;
  msBatch1: number | null;
  msPerLatentBatched: number | null;
  /** The batch of the batched measurement. */
  batch: number;
  runtime: string;
}

/** Inference time per latent: one attribute edited (the paper's "manipulate a latent code"). */
export async function table2(
  world: SynthFace,
  methods: Method[],
  opts: { batch?: number; budgetMs?: number } = {},
): Promise<Table2Row[]> {
  const big = opts.batch ?? 256, budget = opts.budgetMs ?? 1500;
  const rows: Table2Row[] = [];
  const latents = (b: number) => tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(b, 3))));
  for (const m of methods) {
    if (!m.editor) {
      rows.push({
        method: m.name,
        parameters: m.parameters,
        msBatch1: null,
        msPerLatentBatched: null,
        batch: big,
        runtime: m.note ?? "",
      });
      continue;
    }
    const per = async (b: number) => {
      const w = latents(b);
      const t = await timeIt(
        () => tf.tidy(() => void m.editor!.editAttribute(w, 0, new Array(b).fill(1)).dataSync()),
        { budgetMs: budget, minRuns: 3 },
      );
      w.dispose();
      return t.medianMs / b;
    };
    rows.push({
      method: m.name,
      parameters: m.parameters,
      msBatch1: await per(1),
      msPerLatentBatched: await per(big),
      batch: big,
      runtime: "tfjs",
    });
    if (m.idstyle) {
      const M = m.idstyle.attributes.length;
      const ort = await OrtEditor.create(exportEditorOnnx(m.idstyle), M);
      const perOrt = async (b: number) => {
        const w = latents(b);
        const wv = w.dataSync() as Float32Array;
        w.dispose();
        const attr = Float32Array.from({ length: b * M }, (_, k) => (k % M === 0 ? 1 : 0));
        const t = await timeIt(() => ort.run(wv, attr, b), {
          budgetMs: budget,
          minRuns: 5,
          warmup: 10,
        });
        return t.medianMs / b;
      };
      rows.push({
        method: m.name,
        parameters: m.parameters,
        msBatch1: await perOrt(1),
        msPerLatentBatched: await perOrt(big),
        batch: big,
        runtime: "onnxruntime (1 thread)",
      });
      await ort.release();
    }
  }
  return rows;
}

export function table2Frame(rows: Table2Row[]): pl.DataFrame {
  return pl.DataFrame({
    method: rows.map((r) => r.method),
    runtime: rows.map((r) => r.runtime),
    parameters: rows.map((r) => r.parameters),
    "ms per latent, batch 1": rows.map((
      r,
    ) => (r.msBatch1 === null ? null : Math.round(r.msBatch1 * 1000) / 1000)),
    [`ms per latent, batch ${rows[0]?.batch ?? 256}`]: rows.map((
      r,
    ) => (r.msPerLatentBatched === null ? null : Math.round(r.msPerLatentBatched * 1000) / 1000)),
  });
}

/** Writes a frame as parquet and CSV (atomically). */
export async function saveFrame(df: pl.DataFrame, base: string): Promise<void> {
  await Deno.mkdir(base.slice(0, base.lastIndexOf("/")), { recursive: true });
  await writeParquetAtomic(`${base}.parquet`, df);
  await writeFileAtomic(`${base}.csv`, df.writeCSV().toString());
}
