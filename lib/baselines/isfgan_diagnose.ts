/**
 * Does an ISF-GAN mapping listen to its target code? For latents w [B, L, D] with source labels
 * y_src [B, M] and one noise draw z [B, R]:
 *
 *   displacement     mean |M(w, z, y_src) - w|               how far it moves w when asked for nothing
 *   sensitivity_m    mean |M(w, z, y_src ^ e_m) - M(w, z, y_src)|   what flipping attribute m adds
 *
 * (means over every entry of W+). A mapping that edits has sensitivity of the order of its
 * displacement or larger; the run in this world reached 0.006-0.016 against a displacement of
 * 0.43 (README, Table 1's ISF-GAN paragraph), so its edits were decided by the noise and the
 * source, not by the target. Logged with every accuracy check of the training (isfgan_train.ts).
 *
 * termGradientNorms says why: each mapping term's gradient norm over all the mapping's weights,
 * over its output layer, and over the trunk's weights for y (the only way in for the code).
 */
import * as tf from "@tensorflow/tfjs";
import { type IsfMapping } from "./isfgan_model.ts";
import { Rng } from "../util/rng.ts";
import { type IsfBatch, type IsfNets, mappingTerms } from "./isfgan_losses.ts";

export interface TargetSensitivity {
  displacement: number;
  /** Per attribute (in the order given), the mean change from flipping that attribute of y_src. */
  sensitivity: number[];
}

/** `labels`: y_src [B * M] (0/1), row-major; `seed`: the noise draw's seed. */
export function targetSensitivity(
  mapping: IsfMapping,
  w: tf.Tensor3D,
  labels: ArrayLike<number>,
  seed = 3,
): TargetSensitivity {
  const B = w.shape[0], M = mapping.cfg.domains, R = mapping.cfg.noiseDim;
  if (labels.length !== B * M) {
    throw new RangeError(`labels: expected ${B} x ${M} = ${B * M} values, got ${labels.length}`);
  }
  return tf.tidy(() => {
    const z = tf.tensor2d(new Rng(seed).normals(B * R), [B, R]);
    const src = tf.tensor2d(Array.from(labels), [B, M]);
    const base = mapping.forward(w, z, src);
    const displacement = tf.mean(tf.abs(tf.sub(base, w))).dataSync()[0];
    const sensitivity = Array.from({ length: M }, (_, m) => {
      const flipped = Array.from(labels, (v, k) => (k % M === m ? 1 - v : v));
      const out = mapping.forward(w, z, tf.tensor2d(flipped, [B, M]));
      return tf.mean(tf.abs(tf.sub(out, base))).dataSync()[0];
    });
    return { displacement, sensitivity };
  });
}

export interface TermGradient {
  /** Global L2 norm of the term's gradient over every weight of the mapping. */
  total: number;
  /** Over the last layer (weight and bias). */
  output: number;
  /** Over the trunk's first-layer rows for y (IsfMapping.codeInput). */
  code: number;
  /** That gradient itself, [K, H] row-major (which attribute's rows it reaches). */
  codeGradient: Float32Array;
}

/** Each mapping term's gradient norms for one batch (isfgan_train.ts's mappingTerms). */
export function termGradientNorms(nets: IsfNets, batch: IsfBatch): Record<string, TermGradient> {
  const names = tf.tidy(() => Object.keys(mappingTerms(nets, batch)));
  const vars = nets.mapping.variables;
  const { weight, firstRow } = nets.mapping.codeInput;
  const K = nets.mapping.cfg.domains;
  const norm = (ts: tf.Tensor[]) =>
    Math.sqrt(ts.reduce((s, t) => s + tf.tidy(() => tf.sum(tf.square(t)).dataSync()[0]), 0));
  return Object.fromEntries(names.map((name) => {
    const g = tf.variableGrads(() => tf.tidy(() => mappingTerms(nets, batch)[name]), vars);
    const grads = vars.map((v) => g.grads[v.name]);
    const code = tf.slice(g.grads[weight.name], [firstRow, 0], [K, -1]);
    const out: TermGradient = {
      total: norm(grads),
      output: norm(grads.slice(-2)),
      code: norm([code]),
      codeGradient: code.dataSync() as Float32Array,
    };
    code.dispose();
    tf.dispose([g.value, ...grads]);
    return [name, out];
  }));
}
