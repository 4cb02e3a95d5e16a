/**
 * Timing for benchmarks. These machines share their cores with other tenants, so a time alone
 * says little; every benchmarked figure is measured beside a yardstick (a plain 1024^3 matrix
 * product in the same runtime and thread count) in interleaved repetitions (yardstick, figure,
 * yardstick, figure, ...), and ratios quote the minima of both: the uncontended speed, which a
 * busy neighbour can only slow down, never speed up. `timeIt` (median of back-to-back runs)
 * remains for the evaluation tables. The yardsticks themselves are in `yardsticks.ts`.
 */
export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

type Fn = () => unknown | Promise<unknown>;

export async function timeIt(
  fn: Fn,
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
  return summarise(times);
}

function summarise(times: number[]): Timing {
  const s = [...times].sort((a, b) => a - b);
  return { medianMs: s[Math.floor(s.length / 2)], minMs: s[0], runs: s.length };
}

/** One figure and the yardstick it is set against. */
export interface Pair {
  figure: Fn;
  yardstick: Fn;
  /**
   * Figure calls per round, each timed on its own. Default: as many as took as long as one
   * yardstick call in the last warm-up round (1 without warm-up), so that a figure much shorter
   * than its yardstick still gets many samples, each next to a yardstick call.
   */
  reps?: number;
}

export interface PairTiming {
  figure: Timing;
  yardstick: Timing;
}

export interface InterleavedOptions {
  /** Untimed rounds first (default 1). */
  warmup?: number;
  /** Timed rounds at least (default 3) and at most (default 100). */
  minRounds?: number;
  maxRounds?: number;
  /** No new round once this many ms of timed rounds have passed (default 2000). */
  budgetMs?: number;
  /** Most figure calls per round when balanced (default 1000). */
  maxReps?: number;
  /** The clock in ms (default `performance.now`); tests pass a fake one. */
  now?: () => number;
}

/**
 * Times `pairs` in rounds: per round and pair, one yardstick call, then the pair's figure calls,
 * each call timed alone. Returns, per pair, its figure's and its yardstick's minimum, median and
 * sample count: set a figure's minimum against its own yardstick's minimum.
 */
export async function interleaved(
  pairs: Pair[],
  opts: InterleavedOptions = {},
): Promise<PairTiming[]> {
  const { warmup = 1, minRounds = 3, maxRounds = 100, budgetMs = 2000, maxReps = 1000 } = opts;
  const now = opts.now ?? (() => performance.now());
  const fig: number[][] = pairs.map(() => []), yard: number[][] = pairs.map(() => []);
  const reps = pairs.map((p) => p.reps ?? 1);
  const timedCall = async (fn: Fn) => {
    const t0 = now();
    await fn();
    return now() - t0;
  };
  for (let round = 0; round < warmup; round++) {
    for (let p = 0; p < pairs.length; p++) {
      const y = await timedCall(pairs[p].yardstick);
      if (pairs[p].reps !== undefined) {
        for (let r = 0; r < reps[p]; r++) await pairs[p].figure();
        continue;
      }
      // balanced: figure calls until they have taken as long as the yardstick call
      let n = 0, spent = 0;
      while (n < maxReps && (n === 0 || spent < y)) {
        spent += await timedCall(pairs[p].figure);
        n++;
      }
      reps[p] = n;
    }
  }
  const start = now();
  for (let round = 0; round < maxRounds; round++) {
    if (round >= minRounds && now() - start >= budgetMs) break;
    for (let p = 0; p < pairs.length; p++) {
      yard[p].push(await timedCall(pairs[p].yardstick));
      for (let r = 0; r < reps[p]; r++) fig[p].push(await timedCall(pairs[p].figure));
    }
  }
  return pairs.map((_, p) => ({ figure: summarise(fig[p]), yardstick: summarise(yard[p]) }));
}

/** A figure of `flops` FLOP set against a yardstick's rate: its time over the bound flops/rate. */
export function overBound(ms: number, flops: number, gflops: number): number {
  return ms / boundMs(flops, gflops);
}

/** The time `flops` FLOP take at `gflops` GFLOP/s, in ms. */
export function boundMs(flops: number, gflops: number): number {
  return flops / (gflops * 1e6);
}
