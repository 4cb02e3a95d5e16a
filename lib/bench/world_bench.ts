/**
 * World benchmarks: render throughput at 64x64, and one "world step" at batch 16: render 16 W+,
 * run the training classifier and the identity network, and backpropagate a scalar of their
 * outputs to W+ (the image-side work of every editor training step). Both are timed interleaved
 * with tfjs's matMul and set against their profiled FLOP counts at its rate (`*_over_bound`).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { BenchRow } from "./report.ts";
import { boundMs, interleaved, overBound } from "./timing.ts";
import { matmulRate, tfjsMatmul } from "./yardsticks.ts";
import { profileFlops } from "./count_flops.ts";

export async function benchWorld(world: SynthFace, quick = false): Promise<BenchRow[]> {
  const budget = quick ? 1500 : 8000;
  const w64 = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(64, 1))));
  const render = () =>
    tf.tidy(() => {
      world.synthesize(w64).dataSync();
    });
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
  const mm = tfjsMatmul();
  const [r, s] = await interleaved([
    { figure: render, yardstick: mm.run },
    { figure: step, yardstick: mm.run },
  ], { warmup: 1, minRounds: 3, budgetMs: budget });
  mm.dispose();
  const renderFlops = (await profileFlops(render)).flops;
  const stepFlops = (await profileFlops(step)).flops;
  tf.dispose([w64, w16]);
  const rRate = matmulRate(r.yardstick.minMs), sRate = matmulRate(s.yardstick.minMs);
  const minOf = (t: typeof r) =>
    `min of ${t.figure.runs} (median ${t.figure.medianMs.toFixed(0)} ms)`;
  return [
    {
      key: "world_render_per_s_64",
      value: 64 / (r.figure.minMs / 1000),
      unit: "images/s",
      note: `forward, batch 64; ${(renderFlops / 1e9).toFixed(2)} GFLOP; ${minOf(r)}`,
    },
    {
      key: "world_render_64_over_bound",
      value: overBound(r.figure.minMs, renderFlops, rRate),
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${boundMs(renderFlops, rRate).toFixed(0)} ms`,
    },
    {
      key: "world_step_ms_b16_64",
      value: s.figure.minMs,
      unit: "ms",
      note: `render + classifier + identity, backward to W+; ${
        (stepFlops / 1e9).toFixed(2)
      } GFLOP; ${minOf(s)}; target < 1000 ms`,
    },
    {
      key: "world_step_over_flop_bound",
      value: overBound(s.figure.minMs, stepFlops, sRate),
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${
        boundMs(stepFlops, sRate).toFixed(0)
      } ms; target <= 3`,
    },
    {
      key: "matmul_gflops_tfjs",
      value: Math.max(rRate, sRate),
      unit: "GFLOP/s",
      note: "tfjs 1024^3 matMul, interleaved with the figures",
      yardstick: true,
    },
  ];
}
