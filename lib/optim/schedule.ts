/**
 * Learning-rate schedules. `cosine-warmup` is cosine annealing with linear warm-up and restarts
 * (cycle multiplier 1, gamma 1), as the official code's CosineAnnealingWarmupRestarts: the lr of
 * the update at 0-based step t, with t' = t mod cycle, is
 *   minLr + (lr - minLr) t' / warmup                                 for t' < warmup
 *   minLr + (lr - minLr) (1 + cos(pi (t' - warmup) / (cycle - warmup))) / 2   otherwise.
 */
import type { OptimConfig } from "../model/config.ts";

export function lrAt(
  step: number,
  optim: Pick<OptimConfig, "lr" | "schedule">,
  totalSteps: number,
): number {
  const s = optim.schedule;
  if (s.kind === "constant") return optim.lr;
  const cycle = s.cycleSteps ?? totalSteps;
  if (!(cycle > s.warmupSteps)) {
    throw new RangeError(
      `schedule: the cycle (${cycle} steps) must be longer than the warm-up (${s.warmupSteps} steps)`,
    );
  }
  const t = step % cycle;
  if (t < s.warmupSteps) return s.minLr + ((optim.lr - s.minLr) * t) / s.warmupSteps;
  const progress = (t - s.warmupSteps) / (cycle - s.warmupSteps);
  return s.minLr + ((optim.lr - s.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
}
