/**
 * A cache of evaluation-protocol results, so that a table whose rows did not change is not
 * recomputed (Table 1 takes 10-20 minutes per method and space on this machine; retraining one
 * editor should cost its own rows only).
 *
 * A result is stored under the SHA-256 of everything it depends on:
 *   - EVAL_PROTOCOL_VERSION (bumped whenever lib/eval/evaluate.ts or a metric changes its numbers),
 *   - the method's name and the SHA-256 of its checkpoint file(s),
 *   - the world's files (calibration and evaluator weights) and the test split's files,
 *   - the space (W or W+) and the number of test latents.
 * Code changes inside an editor that alter its output for the same checkpoint are not seen: bump
 * EVAL_PROTOCOL_VERSION, pass `fresh`, or delete out/cache/eval/. Every cached entry records when
 * and in how many seconds it was computed, and tables show it.
 */
import { createHash } from "node:crypto";
import { writeFileAtomicSync } from "../io/atomic.ts";
import type { EvalSummary } from "./evaluate.ts";
import { artifactPath } from "../paths.ts";

/** Bump when the protocol's numbers change for the same inputs. */
export const EVAL_PROTOCOL_VERSION = 1;

/** Default cache directory: out/cache/eval/ at the repository root. */
export const EVAL_CACHE_DIR = artifactPath("out/cache/eval/");

export interface CachedResult {
  key: string;
  /** What the key was made of (for a reader of the file). */
  inputs: Record<string, string | number>;
  summary: EvalSummary;
  /** ISO date of the computation and its duration. */
  computedAt: string;
  seconds: number;
}

const fileHashes = new Map<string, { mtime: number; size: number; hash: string }>();

/**
 * SHA-256 of a file as hex (synchronous, so that the synchronous table loops can use it), memoised
 * per process while the file's size and modification time are unchanged.
 */
export function sha256FileSync(path: string): string {
  const st = Deno.statSync(path);
  const mtime = st.mtime?.getTime() ?? 0;
  const hit = fileHashes.get(path);
  if (hit && hit.mtime === mtime && hit.size === st.size) return hit.hash;
  const hash = createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
  fileHashes.set(path, { mtime, size: st.size, hash });
  return hash;
}

/** The key of one result: the hash of its inputs, files replaced by their hashes. */
export function resultKey(
  inputs: Record<string, string | number>,
  files: Record<string, string>,
): { key: string; inputs: Record<string, string | number> } {
  const all: Record<string, string | number> = { protocol: EVAL_PROTOCOL_VERSION, ...inputs };
  for (const [name, path] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    all[`sha256 ${name}`] = sha256FileSync(path);
  }
  const text = JSON.stringify(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
  return { key: createHash("sha256").update(text).digest("hex").slice(0, 32), inputs: all };
}

/** The cache entry for `key`, or null (missing, unreadable or from another key). */
export function readCached(dir: string, key: string): CachedResult | null {
  try {
    const r = JSON.parse(Deno.readTextFileSync(`${dir.replace(/\/$/, "")}/${key}.json`));
    return r?.key === key && r.summary ? (r as CachedResult) : null;
  } catch {
    return null;
  }
}

/** Stores a result atomically (a crash leaves the old entry or none). */
export function writeCached(dir: string, result: CachedResult): void {
  const d = dir.replace(/\/$/, "");
  Deno.mkdirSync(d, { recursive: true });
  writeFileAtomicSync(`${d}/${result.key}.json`, JSON.stringify(result, null, 1) + "\n");
}
