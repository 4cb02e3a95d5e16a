/**
 * Several attributes edited by chaining single-attribute edits (what a method without a
 * multi-attribute rule does: each edit starts from the previous one's output), in the order given.
 * ID-Style's own rule for several attributes is the element-wise absmax of its edits (eq. 12,
 * lib/model/combine.ts); Figure 6 compares the two.
 */
import * as tf from "@tensorflow/tfjs";
import type { AttributeEditor } from "./evaluate.ts";

/** One step of a chain: attribute index and direction (+1 add, -1 remove) per latent. */
export interface ChainStep {
  attribute: number;
  directions: number[];
}

/** W+ [B, L, D] edited by each step in turn -> W+ [B, L, D] (a step with all directions 0 is skipped). */
export function sequentialEdit(
  editor: AttributeEditor,
  wPlus: tf.Tensor3D,
  steps: readonly ChainStep[],
): tf.Tensor3D {
  const B = wPlus.shape[0];
  let cur = tf.clone(wPlus);
  for (const s of steps) {
    if (s.directions.length !== B) {
      cur.dispose();
      throw new Error(
        `sequentialEdit: step for attribute ${s.attribute} has ${s.directions.length} directions, expected ${B}`,
      );
    }
    if (s.directions.every((d) => d === 0)) continue;
    const next = editWhereNonZero(editor, cur, s);
    cur.dispose();
    cur = next;
  }
  return cur;
}

/** Edits the rows whose direction is non-zero; the others are copied. */
function editWhereNonZero(editor: AttributeEditor, w: tf.Tensor3D, s: ChainStep): tf.Tensor3D {
  return tf.tidy(() => {
    const dirs = s.directions.map((d) => (d === 0 ? 1 : Math.sign(d)));
    const edited = editor.editAttribute(w, s.attribute, dirs);
    if (s.directions.every((d) => d !== 0)) return edited;
    const keep = tf.tensor3d(s.directions.map((d) => (d === 0 ? 1 : 0)), [dirs.length, 1, 1]);
    return tf.add(tf.mul(keep, w), tf.mul(tf.sub(1, keep), edited)) as tf.Tensor3D;
  });
}
