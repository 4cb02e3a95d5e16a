/**
 * Training benchmarks: one full training step of the `official` preset at 64x64 (render w and the
 * four edits, training classifier, identity network, backward, AdaBelief) at batch 2, beside its
 * FLOP count at tfjs's matMul rate (timed interleaved with it), and the iteration rate of the
 * `default` schedule (measured again only if its batch differs).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import { IDStyleEditor } from "../model/editor.ts";
import { AdaBelief } from "../optim/adabelief.ts";
import { trainStep } from "../train/step.ts";
import { runModelConfig, SCHEDULES, trainConfig } from "../train/config.ts";
import { imageModels } from "../train/train.ts";
import type { BenchRow } from "./report.ts";
import { boundMs, interleaved, overBound } from "./timing.ts";
import { matmulRate, tfjsMatmul } from "./yardsticks.ts";
import { profileFlops } from "./count_flops.ts";
import { Rng } from "../util/rng.ts";

async function timeStep(world: SynthFace, batch: number, budgetMs: number, withFlops: boolean) {
  const cfg = runModelConfig(trainConfig("official", "default"));
  const editor = new IDStyleEditor(cfg.model);
  const opt = new AdaBelief(editor.trainableVariables(), cfg.optim);
  const models = imageModels(world, 64);
  const rng = new Rng(3);
  const M = cfg.model.attributes.length;
  const b = {
    wPlus: tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(batch, 5)))),
    attr: tf.tensor2d(Array.from({ length: batch * M }, () => (rng.uniform() < 0.5 ? -1 : 1)), [
      batch,
      M,
    ]),
    targets: tf.tensor2d(Array.from({ length: batch * M }, () => (rng.uniform() < 0.5 ? 0 : 1)), [
      batch,
      M,
    ]),
  };
  let i = 0;
  const step = () => void trainStep(editor, opt, b, cfg.loss, i++, 1e-4, models);
  const mm = tfjsMatmul();
  const [t] = await interleaved([{ figure: step, yardstick: mm.run }], {
    warmup: 1,
    minRounds: 5,
    budgetMs,
  });
  mm.dispose();
  const flops = withFlops ? (await profileFlops(step)).flops : 0;
  tf.dispose([b.wPlus, b.attr, b.targets]);
  opt.dispose();
  editor.dispose();
  return {
    ms: t.figure.minMs,
    medianMs: t.figure.medianMs,
    runs: t.figure.runs,
    gflops: matmulRate(t.yardstick.minMs),
    flops,
  };
}

export async function benchTraining(world: SynthFace, quick = false): Promise<BenchRow[]> {
  const budget = quick ? 1500 : 6000;
  const b2 = await timeStep(world, 2, budget, true);
  const def = SCHEDULES.default;
  const msDefault = def.batchSize === 2
    ? b2.ms
    : (await timeStep(world, def.batchSize, budget, false)).ms;
  return [
    {
      key: "train_step_ms_b2_64",
      value: b2.ms,
      unit: "ms",
      note: `official preset; ${(b2.flops / 1e9).toFixed(2)} GFLOP; min of ${b2.runs} (median ${
        b2.medianMs.toFixed(0)
      } ms)`,
    },
    {
      key: "train_step_b2_64_over_bound",
      value: overBound(b2.ms, b2.flops, b2.gflops),
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${boundMs(b2.flops, b2.gflops).toFixed(0)} ms`,
    },
    {
      key: "train_iters_per_s_default",
      value: 1000 / msDefault,
      unit: "steps/s",
      note: `default schedule (batch ${def.batchSize}), uncontended: ${def.steps} steps ~ ${
        ((def.steps * msDefault) / 60000).toFixed(0)
      } min`,
    },
    {
      key: "matmul_gflops_tfjs",
      value: b2.gflops,
      unit: "GFLOP/s",
      note: "tfjs 1024^3 matMul, interleaved with the steps",
      yardstick: true,
    },
  ];
}
