/**
 * Editor benchmarks: inference in tfjs and onnxruntime at batch 1 and 256, and one training step
 * with the latent-space losses. Each figure is timed interleaved with its runtime's yardstick
 * (tfjs's matMul; onnxruntime's MatMul at the figure's thread count) and set against its FLOP
 * count at the yardstick's rate (`*_over_bound`).
 */
import * as tf from "@tensorflow/tfjs";
import { makeConfig, type PresetName } from "../model/config.ts";
import { IDStyleEditor } from "../model/editor.ts";
import { exportEditorOnnx } from "../onnx/export.ts";
import { OrtEditor } from "../onnx/ort.ts";
import { AdaBelief } from "../optim/adabelief.ts";
import { trainStep } from "../train/step.ts";
import { Rng } from "../util/rng.ts";
import { inferenceFlops, latentTrainStepFlops, onnxInferenceFlops } from "./flops.ts";
import type { BenchRow } from "./report.ts";
import { boundMs, interleaved, overBound } from "./timing.ts";
import { matmulRate, ortMatmul, tfjsMatmul } from "./yardsticks.ts";

export async function benchEditor(
  preset: PresetName = "official",
  quick = false,
): Promise<BenchRow[]> {
  const cfg = makeConfig(preset);
  const editor = new IDStyleEditor(cfg.model);
  const { numLayers: L, latentDim: D } = cfg.model;
  const M = cfg.model.attributes.length;
  const rng = new Rng(1);
  const budget = quick ? 1500 : 8000;

  // Inference: all attributes edited (+1 / -1 alternating), per-attribute and combined outputs.
  const inputs = (B: number) => ({
    w: tf.tensor3d(rng.normals(B * L * D), [B, L, D]),
    attr: tf.tensor2d(Array.from({ length: B * M }, (_, i) => (i % 2 ? -1 : 1)), [B, M]),
  });
  const tfjsInfer = (B: number) => {
    const { w, attr } = inputs(B);
    return {
      run: () =>
        tf.tidy(() => {
          editor.forward(w, attr).edited.dataSync();
        }),
      dispose: () => tf.dispose([w, attr]),
    };
  };
  const onnx = exportEditorOnnx(editor);
  const ortInfer = async (B: number, threads: number) => {
    const session = await OrtEditor.create(onnx, M, threads);
    const { w, attr } = inputs(B);
    const wv = w.dataSync() as Float32Array, av = attr.dataSync() as Float32Array;
    tf.dispose([w, attr]);
    return { run: () => session.run(wv, av, B), dispose: () => session.release() };
  };
  const tfMm = tfjsMatmul();
  const ortMm1 = await ortMatmul(1), ortMm2 = await ortMatmul(2);
  const figures = {
    b1tfjs: { fig: tfjsInfer(1), mm: tfMm },
    b256tfjs: { fig: tfjsInfer(256), mm: tfMm },
    b1ort: { fig: await ortInfer(1, 1), mm: ortMm1 },
    b1ort2: { fig: await ortInfer(1, 2), mm: ortMm2 },
    b256ort: { fig: await ortInfer(256, 1), mm: ortMm1 },
  };
  const res = await interleaved(
    Object.values(figures).map((f) => ({ figure: f.fig.run, yardstick: f.mm.run })),
    { warmup: 2, minRounds: 3, budgetMs: budget },
  );
  const t = Object.fromEntries(Object.keys(figures).map((k, i) => [k, res[i]])) as Record<
    keyof typeof figures,
    (typeof res)[number]
  >;
  for (const f of Object.values(figures)) await f.fig.dispose();
  const rate = (k: keyof typeof figures) => matmulRate(t[k].yardstick.minMs);
  // tfjs runs the model as written, onnxruntime the exported graph with its folded constants
  const fwd1 = inferenceFlops(cfg.model, 1), fwd256 = inferenceFlops(cfg.model, 256);
  const ort1 = onnxInferenceFlops(cfg.model, 1), ort256 = onnxInferenceFlops(cfg.model, 256);
  const ms = (k: keyof typeof figures) => t[k].figure.minMs;
  const med = (k: keyof typeof figures) =>
    `min of ${t[k].figure.runs} (median ${t[k].figure.medianMs.toPrecision(3)} ms)`;
  const ratio = (k: keyof typeof figures, flops: number, yard: string) => ({
    value: overBound(ms(k), flops, rate(k)),
    unit: "x",
    note: `of FLOPs / ${yard} = ${boundMs(flops, rate(k)).toPrecision(3)} ms`,
  });
  const rows: BenchRow[] = [
    {
      key: "editor_infer_ms_b1_tfjs",
      value: ms("b1tfjs"),
      unit: "ms",
      note: `${(fwd1 / 1e6).toFixed(0)} MFLOP; ${med("b1tfjs")}`,
    },
    { key: "editor_infer_b1_tfjs_over_bound", ...ratio("b1tfjs", fwd1, "matmul_gflops_tfjs") },
    {
      key: "editor_infer_ms_b1_ort",
      value: ms("b1ort"),
      unit: "ms",
      note: `${(ort1 / 1e6).toFixed(0)} MFLOP as exported; 1 thread; ${
        med("b1ort")
      }; target < 0.3 ms (paper: ~2 ms on a GPU)`,
    },
    {
      key: "editor_infer_b1_ort_over_bound",
      ...ratio("b1ort", ort1, "ort_matmul_gflops_1thread"),
    },
    {
      key: "editor_infer_ms_b1_ort_2threads",
      value: ms("b1ort2"),
      unit: "ms",
      note: `onnxruntime-node, 2 threads; ${med("b1ort2")}`,
    },
    {
      key: "editor_infer_b1_ort_2threads_over_bound",
      ...ratio("b1ort2", ort1, "ort_matmul_gflops"),
    },
    {
      key: "editor_latents_per_s_b256_tfjs",
      value: 256 / (ms("b256tfjs") / 1000),
      unit: "latents/s",
      note: med("b256tfjs"),
    },
    {
      key: "editor_infer_b256_tfjs_over_bound",
      ...ratio("b256tfjs", fwd256, "matmul_gflops_tfjs"),
    },
    {
      key: "editor_latents_per_s_b256_ort",
      value: 256 / (ms("b256ort") / 1000),
      unit: "latents/s",
      note: `1 thread; ${med("b256ort")}`,
    },
    {
      key: "editor_infer_b256_ort_over_bound",
      ...ratio("b256ort", ort256, "ort_matmul_gflops_1thread"),
    },
  ];

  // One training step, batch 8, latent-space losses (nb, direction, sparsity).
  const B = 8;
  const loss = { ...cfg.loss, weights: { ...cfg.loss.weights, class: 0, id: 0 } };
  const opt = new AdaBelief(editor.trainableVariables(), cfg.optim);
  const batch = {
    wPlus: tf.tensor3d(rng.normals(B * L * D), [B, L, D]),
    attr: tf.tensor2d(Array.from({ length: B * M }, (_, i) => (i % 2 ? -1 : 1)), [B, M]),
    targets: tf.tensor2d(Array.from({ length: B * M }, (_, i) => i % 2), [B, M]),
  };
  let i = 0;
  const [step] = await interleaved([{
    figure: () => trainStep(editor, opt, batch, loss, i, 1e-4 * (i++ % 2 ? 1 : -1)),
    yardstick: tfMm.run,
  }], { warmup: 2, minRounds: 5, budgetMs: budget });
  const flops = latentTrainStepFlops(cfg.model, B, editor.countParameters().trainable);
  const stepRate = matmulRate(step.yardstick.minMs);
  rows.push(
    {
      key: "editor_train_step_ms_b8",
      value: step.figure.minMs,
      unit: "ms",
      note: `${(flops / 1e9).toFixed(2)} GFLOP; min of ${step.figure.runs} (median ${
        step.figure.medianMs.toPrecision(3)
      } ms)`,
    },
    {
      key: "editor_train_step_over_flop_bound",
      value: overBound(step.figure.minMs, flops, stepRate),
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${
        boundMs(flops, stepRate).toFixed(1)
      } ms; target <= 2`,
    },
    {
      key: "matmul_gflops_tfjs",
      value: Math.max(rate("b1tfjs"), rate("b256tfjs"), stepRate),
      unit: "GFLOP/s",
      note: "tfjs 1024^3 matMul, interleaved with the figures",
      yardstick: true,
    },
    {
      key: "ort_matmul_gflops_1thread",
      value: Math.max(rate("b1ort"), rate("b256ort")),
      unit: "GFLOP/s",
      note: "onnxruntime 1024^3 MatMul, 1 thread, interleaved",
      yardstick: true,
    },
    {
      key: "ort_matmul_gflops",
      value: rate("b1ort2"),
      unit: "GFLOP/s",
      note: "onnxruntime 1024^3 MatMul, 2 threads, interleaved",
      yardstick: true,
    },
  );
  tf.dispose(batch);
  opt.dispose();
  tfMm.dispose();
  await ortMm1.release();
  await ortMm2.release();
  editor.dispose();
  return rows;
}
