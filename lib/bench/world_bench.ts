/**
 * World benchmarks: render throughput at 64x64, and one "world step" at batch 16: render 16 W+,
 * run the training classifier and the identity network, and backpropagate a scalar of their
 * outputs to W+ (the image-side work of every editor training step), against its FLOP count.
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { BenchRow } from "./report.ts";
import { timeIt } from "./timing.ts";
import { profileFlops } from "./count_flops.ts";

export async function benchWorld(
  world: SynthFace,
  gflops: number,
  quick = false,
): Promise<BenchRow[]> {
  const budget = quick ? 500 : 3000;
  const w64 = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(64, 1))));
  const render = await timeIt(() =>
    tf.tidy(() => {
      world.synthesize(w64).dataSync();
    }), { budgetMs: budget, minRuns: 3 });
  const w16 = tf.variable(tf.slice(w64, [0, 0, 0], [16, 18, 512]));
  const step = () => {
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const img = world.synthesize(w16 as tf.Variable<tf.Rank.R3>);
        return tf.add(tf.sum(world.classifier(img)), tf.sum(world.identity(img))) as tf.Scalar;
      }), [w16]);
    grads[w16.name].dataSync();
    tf.dispose([value, grads]);
  };
  const t = await timeIt(step, { budgetMs: budget * 2, minRuns: 3 });
  const { flops } = await profileFlops(step);
  const bound = flops / (gflops * 1e6);
  tf.dispose([w64, w16]);
  return [
    {
      key: "world_render_per_s_64",
      value: 64 / (render.medianMs / 1000),
      unit: "images/s",
      note: "forward, batch 64",
    },
    {
      key: "world_step_ms_b16_64",
      value: t.medianMs,
      unit: "ms",
      note: `render + classifier + identity, backward to W+; ${
        (flops / 1e9).toFixed(2)
      } GFLOP; target < 1000 ms`,
    },
    {
      key: "world_step_over_flop_bound",
      value: t.medianMs / bound,
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${bound.toFixed(0)} ms; target <= 3`,
    },
  ];
}
