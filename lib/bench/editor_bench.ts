/**
 * Editor benchmarks: inference in tfjs and onnxruntime at batch 1 and 256, and one training step
 * with the latent-space losses, each beside the machine's matMul rate measured in the same run.
 */
import * as tf from "@tensorflow/tfjs";
import { makeConfig, type PresetName } from "../model/config.ts";
import { IDStyleEditor } from "../model/editor.ts";
import { exportEditorOnnx } from "../onnx/export.ts";
import { OrtEditor } from "../onnx/ort.ts";
import { AdaBelief } from "../optim/adabelief.ts";
import { trainStep } from "../train/step.ts";
import { Rng } from "../util/rng.ts";
import { inferenceFlops, latentTrainStepFlops } from "./flops.ts";
import type { BenchRow } from "./report.ts";
import { timeIt } from "./timing.ts";

export async function benchEditor(
  gflops: number,
  preset: PresetName = "official",
  quick = false,
): Promise<BenchRow[]> {
  const cfg = makeConfig(preset);
  const editor = new IDStyleEditor(cfg.model);
  const { numLayers: L, latentDim: D } = cfg.model;
  const M = cfg.model.attributes.length;
  const rng = new Rng(1);
  const budget = quick ? 300 : 2000;
  const rows: BenchRow[] = [];

  // Inference: all attributes edited (+1 / -1 alternating), per-attribute and combined outputs.
  const inputs = (B: number) => ({
    w: tf.tensor3d(rng.normals(B * L * D), [B, L, D]),
    attr: tf.tensor2d(Array.from({ length: B * M }, (_, i) => (i % 2 ? -1 : 1)), [B, M]),
  });
  const tfjsInfer = async (B: number) => {
    const { w, attr } = inputs(B);
    const t = await timeIt(() =>
      tf.tidy(() => {
        const out = editor.forward(w, attr);
        out.edited.dataSync();
      }), { budgetMs: budget });
    tf.dispose([w, attr]);
    return t.medianMs;
  };
  const onnx = exportEditorOnnx(editor);
  const ortInfer = async (B: number, threads: number) => {
    const session = await OrtEditor.create(onnx, M, threads);
    const { w, attr } = inputs(B);
    const wv = w.dataSync() as Float32Array, av = attr.dataSync() as Float32Array;
    tf.dispose([w, attr]);
    const t = await timeIt(() => session.run(wv, av, B), {
      warmup: 20,
      minRuns: 20,
      maxRuns: 5000,
      budgetMs: budget,
    });
    await session.release();
    return t.medianMs;
  };
  const b1tfjs = await tfjsInfer(1);
  const b1ort = await ortInfer(1, 1);
  const b1ort2 = await ortInfer(1, 2);
  const b256tfjs = await tfjsInfer(256);
  const b256ort = await ortInfer(256, 1);
  const fwd1 = inferenceFlops(cfg.model, 1);
  rows.push(
    {
      key: "editor_infer_ms_b1_tfjs",
      value: b1tfjs,
      unit: "ms",
      note: `${(fwd1 / 1e6).toFixed(0)} MFLOP; matMul-rate bound ${
        (fwd1 / gflops / 1e6).toFixed(2)
      } ms`,
    },
    {
      key: "editor_infer_ms_b1_ort",
      value: b1ort,
      unit: "ms",
      note: "onnxruntime-node, 1 thread; target < 0.3 ms (paper: ~2 ms on a GPU)",
    },
    {
      key: "editor_infer_ms_b1_ort_2threads",
      value: b1ort2,
      unit: "ms",
      note: "onnxruntime-node, 2 threads",
    },
    { key: "editor_latents_per_s_b256_tfjs", value: 256 / (b256tfjs / 1000), unit: "latents/s" },
    {
      key: "editor_latents_per_s_b256_ort",
      value: 256 / (b256ort / 1000),
      unit: "latents/s",
      note: "1 thread",
    },
  );

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
  const step = await timeIt(
    () => trainStep(editor, opt, batch, loss, i, 1e-4 * (i++ % 2 ? 1 : -1)),
    { budgetMs: budget * 2 },
  );
  const flops = latentTrainStepFlops(cfg.model, B, editor.countParameters().trainable);
  const bound = flops / (gflops * 1e6);
  rows.push(
    {
      key: "editor_train_step_ms_b8",
      value: step.medianMs,
      unit: "ms",
      note: `${(flops / 1e9).toFixed(2)} GFLOP`,
    },
    {
      key: "editor_train_step_over_flop_bound",
      value: step.medianMs / bound,
      unit: "x",
      note: `of FLOPs / matmul_gflops_tfjs = ${bound.toFixed(1)} ms; target <= 2`,
    },
  );
  tf.dispose(batch);
  opt.dispose();
  editor.dispose();
  return rows;
}
