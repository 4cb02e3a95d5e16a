/**
 * StyleGAN2 benchmarks: one 1024 px render at batch 1 of a full-width FFHQ config-f generator
 * (random weights in the real shapes, built in memory: about 30.4M parameters, 18 W+ rows), in
 * onnxruntime-node (2 intra-op threads) and in tfjs, each set against its own runtime's 1024^3
 * matrix product (onnxruntime at the same 2 threads) measured in interleaved repetitions.
 *
 * The bound is the generator's FLOP count (`generatorFlops`: the modulated and ToRGB
 * convolutions and the style affines) at the yardstick's rate: what the render would take if
 * every FLOP ran as fast as one large matrix product.
 */
import * as tf from "@tensorflow/tfjs";
import { randomGeneratorWeights, rosinalityChannels } from "../world/stylegan2/random.ts";
import { generatorFlops } from "../world/stylegan2/flops.ts";
import { countGeneratorParameters } from "../world/stylegan2/weights.ts";
import { StyleGAN2 } from "../world/stylegan2/generator.ts";
import { exportGeneratorOnnx, OrtGenerator } from "../world/stylegan2/onnx.ts";
import { Rng } from "../util/rng.ts";
import type { BenchRow } from "./report.ts";
import { interleaved, overBound } from "./timing.ts";
import { matmulRate, ortMatmul, tfjsMatmul } from "./yardsticks.ts";

const SIZE = 1024;
const THREADS = 2;
export const STYLEGAN2_ORT_TARGET = 2.5;
export const STYLEGAN2_TFJS_TARGET = 3;

export async function benchStyleGAN2(quick = false, seed = 1): Promise<BenchRow[]> {
  const w = randomGeneratorWeights({ size: SIZE, channels: rosinalityChannels(2) }, seed);
  const flops = generatorFlops(w);
  const gflop = flops / 1e9;
  const params = countGeneratorParameters(w);
  const { numLatents: L, styleDim: D } = w;
  const wplus = new Rng(seed + 1).normals(L * D);

  // onnxruntime: a render is ~3 s at 2 threads here, its yardstick ~40 ms.
  const ortGen = await OrtGenerator.create(
    exportGeneratorOnnx(w),
    { numLatents: L, styleDim: D, size: SIZE },
    THREADS,
  );
  const ortMm = await ortMatmul(THREADS);
  const [o] = await interleaved([{ figure: () => ortGen.render(wplus, 1), yardstick: ortMm.run }], {
    warmup: 1,
    minRounds: quick ? 2 : 5,
    maxRounds: quick ? 2 : 8,
    budgetMs: quick ? 0 : 30000,
  });
  await ortGen.release();
  await ortMm.release();
  const ortGflops = matmulRate(o.yardstick.minMs);

  // tfjs: a render is ~20 s on wasm (one thread), so few rounds; warm-up only in full mode.
  const gen = new StyleGAN2(w);
  const x = tf.tensor3d(wplus, [1, L, D]);
  const tfMm = tfjsMatmul();
  const [t] = await interleaved([{
    figure: () => tf.tidy(() => void gen.synthesize(x).dataSync()),
    yardstick: tfMm.run,
  }], {
    warmup: quick ? 0 : 1,
    minRounds: quick ? 1 : 3,
    maxRounds: quick ? 1 : 3,
    budgetMs: 0,
  });
  tfMm.dispose();
  x.dispose();
  gen.dispose();
  const tfGflops = matmulRate(t.yardstick.minMs);

  const ortRatio = overBound(o.figure.minMs, flops, ortGflops);
  const tfRatio = overBound(t.figure.minMs, flops, tfGflops);
  return [
    {
      key: "stylegan2_gflop_1024",
      value: gflop,
      unit: "GFLOP",
      note: `one render, FFHQ config-f shapes (${
        (params / 1e6).toFixed(1)
      }M parameters, ${L} rows)`,
    },
    {
      key: "ort_matmul_gflops",
      value: ortGflops,
      unit: "GFLOP/s",
      note: `onnxruntime 1024^3 MatMul, ${THREADS} threads, interleaved with the renders`,
      yardstick: true,
    },
    {
      key: "stylegan2_render_ms_1024_ort",
      value: o.figure.minMs,
      unit: "ms",
      note: `batch 1, ${THREADS} threads; min of ${o.figure.runs} (median ${
        o.figure.medianMs.toFixed(0)
      })`,
    },
    {
      key: "stylegan2_render_1024_ort_over_bound",
      value: ortRatio,
      unit: "x",
      note: `of GFLOP / ort_matmul_gflops = ${(1000 * gflop / ortGflops).toFixed(0)} ms; ` +
        `target <= ${STYLEGAN2_ORT_TARGET}`,
    },
    {
      key: "matmul_gflops_tfjs",
      value: tfGflops,
      unit: "GFLOP/s",
      note: "tfjs 1024^3 matMul, interleaved with the renders",
      yardstick: true,
    },
    {
      key: "stylegan2_render_ms_1024_tfjs",
      value: t.figure.minMs,
      unit: "ms",
      note: `batch 1; min of ${t.figure.runs} (median ${t.figure.medianMs.toFixed(0)})`,
    },
    {
      key: "stylegan2_render_1024_tfjs_over_bound",
      value: tfRatio,
      unit: "x",
      note: `of GFLOP / matmul_gflops_tfjs = ${(1000 * gflop / tfGflops).toFixed(0)} ms; ` +
        `target <= ${STYLEGAN2_TFJS_TARGET}`,
    },
  ];
}
