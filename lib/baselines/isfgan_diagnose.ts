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
 */
import * as tf from "@tensorflow/tfjs";
import { type IsfMapping } from "./isfgan_model.ts";
import { Rng } from "../util/rng.ts";

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
