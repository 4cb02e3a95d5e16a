/**
 * Benchmark results: a printed table and `out/bench/bench.json`, where each section merges its
 * keys into what earlier sections or runs wrote.
 */
import { writeFileAtomic } from "../io/atomic.ts";

export interface BenchRow {
  key: string;
  value: number;
  unit: string;
  note?: string;
  /** A yardstick rate (higher is better) that several sections may measure; `mergeRows` keeps
   * the highest. */
  yardstick?: boolean;
}

/** Rows of several sections in order; a key measured twice keeps its last value, a yardstick
 * its highest (the least contended measurement of the run). */
export function mergeRows(rows: BenchRow[]): BenchRow[] {
  const out = new Map<string, BenchRow>();
  for (const r of rows) {
    const prev = out.get(r.key);
    out.set(r.key, prev?.yardstick && r.yardstick && prev.value > r.value ? prev : r);
  }
  return [...out.values()];
}

export async function writeBench(
  rows: BenchRow[],
  meta: Record<string, unknown>,
  path = "out/bench/bench.json",
): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  let prev: Record<string, unknown> = {};
  try {
    prev = JSON.parse(await Deno.readTextFile(path));
  } catch { /* first run */ }
  const merged = {
    ...prev,
    ...Object.fromEntries(rows.map((r) => [r.key, r.value])),
    meta: { ...(prev.meta as object), ...meta },
  };
  await writeFileAtomic(path, JSON.stringify(merged, null, 2) + "\n");
}

export function printBench(title: string, rows: BenchRow[]): void {
  const w = Math.max(...rows.map((r) => r.key.length));
  console.log(`\n${title}`);
  for (const r of rows) {
    const v = Math.abs(r.value) >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
    console.log(`  ${r.key.padEnd(w)}  ${v.padStart(9)} ${r.unit.padEnd(10)} ${r.note ?? ""}`);
  }
}
