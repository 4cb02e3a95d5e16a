/**
 * Edits with a continuous strength per attribute, for the explorer: s in [-2, 2], 0 keeps the
 * attribute, the sign chooses add (+) or remove (-), |s| scales the edit.
 *
 *   ID-Style    delta_m = its edit for attr_m = sign(s_m) (after top-k and intensity, Figure 9's
 *               knobs), scaled by |s_m|; the attributes combined by absmax (eq. 12). The model's
 *               edit is linear in attr_m (its coefficients are attr_m times the layer gates), so
 *               this is the model run with attr_m = s_m (tested).
 *   baselines   one attribute after another (lib/eval/sequential.ts): each step moves its input by
 *               |s_m| times that method's edit of it.
 *
 * Strength 0 on every attribute returns the input exactly, and strength s gives s times the
 * strength-1 edit (for one attribute), by construction; both are tested.
 */
import * as tf from "@tensorflow/tfjs";
import type { IDStyleEditor } from "../model/editor.ts";
import type { AttributeEditor } from "../eval/evaluate.ts";
import { absmax, checkEditOptions, type EditOptions } from "../model/combine.ts";

export const MAX_STRENGTH = 2;

/** An editor the explorer can drive. */
export type ExplorerEditor =
  | { kind: "idstyle"; editor: IDStyleEditor }
  | { kind: "baseline"; editor: AttributeEditor };

/** Checks strengths: one per attribute, finite, within [-MAX_STRENGTH, MAX_STRENGTH]. */
export function checkStrengths(strengths: readonly number[], attributes: readonly string[]): void {
  if (strengths.length !== attributes.length) {
    throw new RangeError(
      `strengths: expected ${attributes.length} values (${
        attributes.join(", ")
      }), got ${strengths.length}`,
    );
  }
  strengths.forEach((s, m) => {
    if (!Number.isFinite(s) || Math.abs(s) > MAX_STRENGTH) {
      throw new RangeError(
        `strength of ${
          attributes[m]
        }: expected a number in [-${MAX_STRENGTH}, ${MAX_STRENGTH}], got ${s}`,
      );
    }
  });
}

/** W+ [B, L, D] edited with `strengths` (one per attribute, the same for the whole batch) -> [B, L, D]. */
export function strengthEdit(
  e: ExplorerEditor,
  wPlus: tf.Tensor3D,
  strengths: readonly number[],
  attributes: readonly string[],
  opts: EditOptions = {},
): tf.Tensor3D {
  checkStrengths(strengths, attributes);
  if (strengths.every((s) => s === 0)) return tf.clone(wPlus);
  const [B, L, D] = wPlus.shape;
  if (e.kind === "idstyle") {
    checkEditOptions(opts, D);
    const codes = strengths.map((s) => Math.sign(s));
    const { perAttribute, combined } = e.editor.edit(wPlus, codes, opts);
    combined.dispose();
    return tf.tidy(() => {
      const M = strengths.length;
      const deltas = tf.sub(perAttribute, tf.reshape(wPlus, [B, 1, L, D])); // [B, M, L, D]
      const scale = tf.tensor4d(strengths.map((s) => Math.abs(s)), [1, M, 1, 1]);
      const out = tf.add(wPlus, absmax(tf.mul(deltas, scale) as tf.Tensor4D)) as tf.Tensor3D;
      perAttribute.dispose();
      return out;
    });
  }
  let cur = wPlus;
  strengths.forEach((s, m) => {
    if (s === 0) return;
    const next = tf.tidy(() => {
      const edited = e.editor.editAttribute(cur, m, new Array(B).fill(Math.sign(s)));
      return tf.add(cur, tf.mul(tf.sub(edited, cur), Math.abs(s))) as tf.Tensor3D;
    });
    if (cur !== wPlus) cur.dispose();
    cur = next;
  });
  return cur;
}
