/**
 * Timing for benchmarks: warm-up runs, then repeated runs until a time budget or a run count is
 * reached; the median is reported (these machines are shared and noisy).
 */
import * as tf from "@tensorflow/tfjs";

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

export async function timeIt(
  fn: () => unknown | Promise<unknown>,
  opts: { warmup?: number; minRuns?: number; maxRuns?: number; budgetMs?: number } = {},
): Promise<Timing> {
  const { warmup = 2, minRuns = 5, maxRuns = 200, budgetMs = 2000 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < maxRuns && (times.length < minRuns || performance.now() - start < budgetMs)
  ) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], minMs: times[0], runs: times.length };
}

/** GFLOP/s of a plain n x n x n matMul on the current backend: the machine's own yardstick. */
export async function matmulGflops(n = 1024): Promise<number> {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  // Not inside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
  const t = await timeIt(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  }, { warmup: 2, minRuns: 5, budgetMs: 3000 });
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / (t.medianMs * 1e6);
}
