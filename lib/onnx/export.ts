/**
 * The editor as an ONNX graph (opset 17), for onnxruntime and other runtimes:
 *
 *   inputs   wplus [B, L, D], attr [B, M]
 *   outputs  edited [B, M, L, D]  (each attribute alone)
 *            combined [B, L, D]   (all requested edits by element-wise absmax, eq. 12)
 *
 * Trained values are baked in (directions L1-normalised, layer gates through their sigmoid or
 * ReLU), and constants are folded so that batch-1 inference is two matMuls and few small kernels
 * (each costs 5-10 us in onnxruntime, comparable to the matMuls themselves):
 *
 * - the layer encoding's half of RFC1 becomes a per-row constant (also through the LayerNorm,
 *   see `firstLayer`), halving that layer's work;
 * - the graph runs in rank 4 ([B, 1, L, .]) from the start, so nothing is unsqueezed later;
 * - the "+ P_m" of eq. 3 is folded into RFC2: relu(z) + 1 = max(z + 1, 1);
 * - the CFC is a left matMul by Wc^T (no transposes); absmax is a variadic Max / Min over a
 *   Split (reductions over a middle axis are several times slower in onnxruntime).
 */
import type { EditorConfig } from "../model/config.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { sinusoidalValues } from "../model/encoding.ts";
import { GraphBuilder } from "./builder.ts";

type Values = (name: string) => Float32Array;

export function exportEditorOnnx(editor: IDStyleEditor): Uint8Array {
  const cfg = editor.config;
  const { numLayers: L, latentDim: D } = cfg;
  const M = cfg.attributes.length;
  const g = new GraphBuilder("idstyle_editor");
  const params = new Map(editor.params().map((p) => [p.name, p.variable]));
  const val: Values = (name) => params.get(name)!.dataSync() as Float32Array;

  const wplus = g.input("wplus", ["B", L, D]);
  const attr = g.input("attr", ["B", M]);
  const axis1 = g.int64("axes_1", [1]);
  const w4 = g.op("Unsqueeze", [wplus, axis1]); // [B, 1, L, D]

  let h = firstLayer(g, cfg, val, w4); // [B, 1, L, H]
  if (cfg.mixer) {
    // out[b, j, c] = sum_i Wc[i, j] h[b, i, c] = (Wc^T h_b)[j, c]; ours is Wc [L_in, L_out].
    const wc = val("iaip.l18.weight");
    const wcT = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) wcT[j * L + i] = wc[i * L + j];
    const mixed = g.op("MatMul", [g.float("cfc_wT", wcT, [L, L]), h]);
    h = g.op("Relu", [g.op("Add", [mixed, g.float("cfc_b", val("iaip.l18.bias"), [L, 1])])]);
  }
  // 1 + l_ft = max(h W2 + b2 + 1, 1)
  const H = cfg.hiddenDim;
  const b2p1 = val("iaip.l1024.0.bias").map((v) => v + 1);
  const z = g.op("Add", [
    g.op("MatMul", [h, g.float("rfc2_w", val("iaip.l1024.0.weight"), [H, D])]),
    g.float("rfc2_b_plus_1", b2p1, [D]),
  ]);
  const lftPlus1 = g.op("Max", [z, g.float("one", new Float32Array([1]), [])]); // [B, 1, L, D]

  const directions = editor.lgd.normalized();
  const gates = editor.eda.gates();
  const dirs = g.float("directions", directions.dataSync() as Float32Array, [1, M, 1, D]);
  const gate = g.float("layer_gates", gates.dataSync() as Float32Array, [1, M, L, 1]);
  directions.dispose();
  gates.dispose();

  const coef = g.op("Mul", [
    g.op("Reshape", [attr, g.int64("attr_shape", [0, M, 1, 1])]),
    gate,
  ]); // [B, M, L, 1]
  const deltas = g.op("Mul", [g.op("Mul", [lftPlus1, dirs]), coef]); // [B, M, L, D]
  g.op("Add", [w4, deltas], {}, "edited");
  let pick: string;
  if (M === 1) {
    pick = deltas;
  } else {
    const parts = g.opMulti("Split", [deltas], M, { axis: { i: 1 } });
    const hi = g.op("Max", parts);
    const lo = g.op("Min", parts);
    // absmax = hi where hi >= -lo, i.e. hi + lo >= 0; else lo.
    const zero = g.float("zero", new Float32Array([0]), []);
    pick = g.op("Where", [g.op("GreaterOrEqual", [g.op("Add", [hi, lo]), zero]), hi, lo]);
  }
  g.op("Squeeze", [g.op("Add", [w4, pick]), axis1], {}, "combined");
  g.output("edited", ["B", M, L, D]);
  g.output("combined", ["B", L, D]);
  return g.encode();
}

/**
 * RFC1 on [w || pe] for x = w4 [B, 1, L, D], with the constant pe folded in.
 *
 * Without LayerNorm:  [w || pe] W1 + b1 = w W1_top + (pe W1_bot + b1).
 *
 * With LayerNorm over the 2D-wide row x = [w || pe] (gain g, bias beta, mean mu, std sigma):
 *   LN(x) W1 + b1 = ((x - mu) (g * W1)) / sigma + (beta W1 + b1)
 * and, with G = g * W1 (rows scaled) and gsum = 1^T G,
 *   (x - mu) G = w (G_top - gsum / 2D) + (pe G_bot - peMean gsum),
 * because mu = (sum w + sum pe) / 2D: the centring becomes a rank-1 change of the weights and a
 * per-row constant. Only sigma needs per-sample row statistics (sum w and sum w^2).
 */
function firstLayer(g: GraphBuilder, cfg: EditorConfig, val: Values, w4: string): string {
  const { numLayers: L, latentDim: D, hiddenDim: H } = cfg;
  const W1 = val("iaip.fc.1.weight"); // ours [Din, H]
  const b1 = val("iaip.fc.1.bias");
  const din = cfg.inputEncoding ? 2 * D : D;
  const gain = cfg.inputLayerNorm ? val("iaip.fc.0.weight") : new Float32Array(din).fill(1);
  const beta = cfg.inputLayerNorm ? val("iaip.fc.0.bias") : new Float32Array(din);
  const pe = cfg.inputEncoding ? sinusoidalValues(L, D) : new Float32Array(L * D);
  const ln = cfg.inputLayerNorm;

  const gsum = new Float32Array(H); // 1^T (g * W1)
  const shift = Float32Array.from(b1); // beta W1 + b1
  for (let k = 0; k < din; k++) {
    for (let j = 0; j < H; j++) {
      gsum[j] += gain[k] * W1[k * H + j];
      shift[j] += beta[k] * W1[k * H + j];
    }
  }
  const top = new Float32Array(D * H); // g_top * W1_top, minus gsum / din under LayerNorm
  for (let k = 0; k < D; k++) {
    for (let j = 0; j < H; j++) top[k * H + j] = gain[k] * W1[k * H + j] - (ln ? gsum[j] / din : 0);
  }
  const peSum = new Float32Array(L), peSq = new Float32Array(L);
  const rowConst = new Float32Array(L * H); // pe (g_bot * W1_bot) (- peMean gsum) (+ shift w/o LN)
  for (let i = 0; i < L; i++) {
    if (cfg.inputEncoding) {
      for (let k = 0; k < D; k++) {
        const p = pe[i * D + k];
        peSum[i] += p;
        peSq[i] += p * p;
        const c = p * gain[D + k];
        for (let j = 0; j < H; j++) rowConst[i * H + j] += c * W1[(D + k) * H + j];
      }
    }
    for (let j = 0; j < H; j++) {
      rowConst[i * H + j] += ln ? -(peSum[i] / din) * gsum[j] : shift[j];
    }
  }
  const core = g.op("Add", [
    g.op("MatMul", [w4, g.float("rfc1_top", top, [D, H])]),
    g.float("rfc1_row_const", rowConst, [L, H]),
  ]);
  if (!ln) return g.op("Relu", [core]);
  // sigma^2 = (sum w^2 + sum pe^2) / din - mu^2 + eps, mu = (sum w + sum pe) / din.
  const axes = g.int64("axes_last", [-1]);
  const inv = g.float("inv_din", new Float32Array([1 / din]), []);
  const sumW = g.op("ReduceSum", [w4, axes], { keepdims: { i: 1 } }); // [B, 1, L, 1]
  const sumSq = g.op("ReduceSumSquare", [w4], { axes: { ints: [-1] }, keepdims: { i: 1 } });
  const mu = g.op("Add", [
    g.op("Mul", [sumW, inv]),
    g.float("pe_mean", peSum.map((v) => v / din), [L, 1]),
  ]);
  const ex2 = g.op("Add", [
    g.op("Mul", [sumSq, inv]),
    g.float("pe_sq_mean_eps", peSq.map((v) => v / din + 1e-5), [L, 1]),
  ]);
  const sigma = g.op("Sqrt", [g.op("Sub", [ex2, g.op("Mul", [mu, mu])])]);
  return g.op("Relu", [
    g.op("Add", [g.op("Div", [core, sigma]), g.float("rfc1_shift", shift, [H])]),
  ]);
}
