/**
 * FLOP counts of the editor as implemented, for comparing measured times with the machine's
 * matMul rate. Matrix products count 2 m n k; element-wise operations count one per element and
 * operation (a reduction counts one per input element).
 */
import type { EditorConfig } from "../model/config.ts";

/** Element-wise ops of one AdaBelief update, per parameter. */
const ADABELIEF_OPS = 16;

function layers(cfg: EditorConfig, batch: number) {
  const { numLayers: L, latentDim: D, hiddenDim: H } = cfg;
  const din = cfg.inputEncoding ? 2 * D : D;
  const rows = batch * L;
  return {
    rows,
    din,
    fc1: 2 * rows * din * H,
    cfc: cfg.mixer ? 2 * batch * H * L * L : 0,
    fc2: 2 * rows * H * D,
    // LayerNorm: mean, centring, variance, scale, gain, bias (about 8 passes over the input).
    ln: cfg.inputLayerNorm ? 8 * rows * din : 0,
    // Bias adds and ReLUs.
    pointwise: 2 * rows * (H + (cfg.mixer ? H : 0) + D),
  };
}

/** Inference: IAIP, the [B, M, L, D] edits and their absmax combination. */
export function inferenceFlops(cfg: EditorConfig, batch: number): number {
  const f = layers(cfg, batch);
  const edits = batch * cfg.attributes.length * cfg.numLayers * cfg.latentDim;
  return f.fc1 + f.cfc + f.fc2 + f.ln + f.pointwise + 6 * edits;
}

/**
 * Inference as exported to ONNX (`lib/onnx/export.ts`), what the onnxruntime figures run: the
 * layer encoding's half of RFC1 is folded into a per-row constant (RFC1 is [B L, D] x [D, H]),
 * and the LayerNorm becomes two row sums over D and a division of RFC1's output.
 */
export function onnxInferenceFlops(cfg: EditorConfig, batch: number): number {
  const f = layers(cfg, batch);
  const { latentDim: D, hiddenDim: H } = cfg;
  const fc1 = 2 * f.rows * D * H;
  const ln = cfg.inputLayerNorm ? 2 * f.rows * D + 2 * f.rows * H : 0;
  const edits = batch * cfg.attributes.length * cfg.numLayers * D;
  return fc1 + f.cfc + f.fc2 + ln + f.pointwise + 6 * edits;
}

/**
 * One training step with the latent losses (direction, nb, sparsity) as implemented: factored
 * losses (three [B L, D] x [D, M] products), backward through every layer (the input gradient of
 * RFC1 only when a LayerNorm with parameters sits before it), and the AdaBelief update.
 */
export function latentTrainStepFlops(cfg: EditorConfig, batch: number, numParams: number): number {
  const f = layers(cfg, batch);
  const M = cfg.attributes.length;
  const lossMatMuls = 3 * 2 * f.rows * cfg.latentDim * M;
  const lossPointwise = 6 * f.rows * cfg.latentDim;
  const forward = f.fc1 + f.cfc + f.fc2 + f.ln + f.pointwise + lossMatMuls + lossPointwise;
  const backward = f.fc1 * (cfg.inputLayerNorm ? 2 : 1) + 2 * f.cfc + 2 * f.fc2 + 2 * f.ln +
    2 * f.pointwise +
    2 * lossMatMuls + 2 * lossPointwise;
  return forward + backward + ADABELIEF_OPS * numParams;
}
