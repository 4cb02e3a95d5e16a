/**
 * Several attributes edited at once (paper Figure 6): combinations of growing size (gender;
 * gender + glasses; + age; all four), each attribute of the combination flipped from the source's
 * label (added where absent, removed where present). Two rules:
 *
 *   absmax       ID-Style's multi-attribute edit (eq. 12): one forward with attr_m = +-1 on every
 *                attribute of the combination, the per-attribute edits combined element-wise
 *   sequential   single-attribute edits chained in the combination's order (each starts from the
 *                previous output): what a method without a multi-attribute rule does, and ID-Style
 *                used that way
 *
 * Measured per (method, rule, combination) on test latents: the evaluation classifier's accuracy
 * over the combination's attributes and the rate at which all of them are right, the oracle's
 * accuracy, FRS and oracle identity against the source, and the other attributes kept (oracle).
 * The paper claims absmax keeps identity better than chaining single edits; this checks it.
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import type { AttributeEditor } from "./evaluate.ts";
import { sequentialEdit } from "./sequential.ts";
import { Progress } from "../util/progress.ts";

/** Figure 6's combinations, by attribute name. */
export const FIGURE6_COMBINATIONS: readonly (readonly string[])[] = [
  ["gender"],
  ["gender", "glasses"],
  ["gender", "glasses", "age"],
  ["gender", "glasses", "age", "smile"],
];

/** A multi-attribute editor: W+ [B, L, D] and attr [B, M] (entries +-1 or 0) -> W+ [B, L, D]. */
export interface MultiEditor {
  name: string;
  rule: "absmax" | "sequential";
  edit(wPlus: tf.Tensor3D, attr: number[][]): tf.Tensor3D;
}

/** ID-Style's own rule: one forward, absmax of the per-attribute edits. */
export function absmaxEditor(editor: IDStyleEditor, name: string): MultiEditor {
  return {
    name,
    rule: "absmax",
    edit: (w, attr) => {
      const r = editor.edit(w, tf.tensor2d(attr), {});
      r.perAttribute.dispose();
      return r.combined;
    },
  };
}

/** Single-attribute edits chained in the order of `order` (attribute indices). */
export function sequentialEditor(
  editor: AttributeEditor,
  name: string,
  order: readonly number[],
): MultiEditor {
  return {
    name,
    rule: "sequential",
    edit: (w, attr) =>
      sequentialEdit(
        editor,
        w,
        order.map((m) => ({ attribute: m, directions: attr.map((a) => a[m]) })),
      ),
  };
}

export interface CombinationResult {
  method: string;
  rule: "absmax" | "sequential";
  combination: string;
  size: number;
  /** Mean over the combination's attributes of the evaluation classifier's accuracy. */
  accuracy: number;
  /** Latents whose every edited attribute is right (evaluation classifier). */
  allCorrect: number;
  oracleAccuracy: number | null;
  frs: number;
  oracleIdentity: number | null;
  /** Attributes outside the combination that keep their oracle label. */
  othersKept: number | null;
  latents: number;
}

/**
 * Every editor on every combination, over `n` test latents given in batches by `getBatch`, whose
 * source labels (evaluation classifier's, [n * M]) decide each flip's direction.
 */
export function evaluateCombinations(
  world: World,
  editors: readonly MultiEditor[],
  n: number,
  getBatch: (rows: number[]) => tf.Tensor3D,
  sourceLabels: ArrayLike<number>,
  opts: { combinations?: readonly (readonly string[])[]; batch?: number; silent?: boolean } = {},
): CombinationResult[] {
  const A = world.attributes, M = A.length;
  const combos = opts.combinations ?? FIGURE6_COMBINATIONS;
  const idx = combos.map((c) =>
    c.map((a) => {
      const m = A.indexOf(a);
      if (m < 0) {
        throw new Error(`combinations: unknown attribute "${a}"; expected ${A.join(", ")}`);
      }
      return m;
    })
  );
  const batch = opts.batch ?? 25;
  type Acc = {
    acc: number;
    all: number;
    oacc: number;
    frs: number;
    oid: number;
    kept: number;
    k: number;
  };
  const acc: Acc[][] = editors.map(() =>
    combos.map(() => ({ acc: 0, all: 0, oacc: 0, frs: 0, oid: 0, kept: 0, k: 0 }))
  );
  const progress = new Progress("combinations", n * editors.length * combos.length, {
    unit: "edits",
    silent: opts.silent,
  });
  const oracle = world.oracle;
  for (let start = 0; start < n; start += batch) {
    const rows = Array.from({ length: Math.min(batch, n - start) }, (_, k) => start + k);
    const B = rows.length;
    const w = getBatch(rows);
    const src = tf.tidy(() => {
      const img = world.synthesize(w);
      return {
        id: world.identity(img),
        oid: oracle?.identity(w),
        olab: oracle?.labels(w).dataSync(),
      };
    });
    combos.forEach((_, c) => {
      const attr = rows.map((r) => {
        const v = new Array(M).fill(0);
        for (const m of idx[c]) v[m] = sourceLabels[r * M + m] > 0.5 ? -1 : 1;
        return v;
      });
      editors.forEach((ed, e) => {
        const out = tf.tidy(() => {
          const x = ed.edit(w, attr);
          const img = world.synthesize(x);
          return {
            pred: tf.greater(world.evalClassifier(img), 0).dataSync(),
            frs: tf.sum(tf.mul(src.id, world.identity(img)), 1).dataSync(),
            olab: oracle?.labels(x).dataSync(),
            oid: oracle && src.oid
              ? oracle.identitySimilarity(src.oid, oracle.identity(x)).dataSync()
              : undefined,
          };
        });
        const a = acc[e][c];
        for (let b = 0; b < B; b++) {
          let right = 0, oright = 0, kept = 0;
          for (const m of idx[c]) {
            const target = attr[b][m] > 0 ? 1 : 0;
            if ((out.pred[b * M + m] ? 1 : 0) === target) right++;
            if (out.olab && out.olab[b * M + m] === target) oright++;
          }
          const others = A.map((_, m) => m).filter((m) => !idx[c].includes(m));
          for (const m of others) {
            if (out.olab && src.olab && out.olab[b * M + m] === src.olab[b * M + m]) kept++;
          }
          a.acc += right / idx[c].length;
          a.all += right === idx[c].length ? 1 : 0;
          a.oacc += oright / idx[c].length;
          a.frs += out.frs[b];
          a.oid += out.oid ? out.oid[b] : 0;
          a.kept += others.length ? kept / others.length : 1;
          a.k++;
        }
        progress.tick(B);
      });
    });
    tf.dispose([w, src.id, src.oid ?? []]);
  }
  progress.finish();
  const results: CombinationResult[] = [];
  editors.forEach((ed, e) =>
    combos.forEach((combo, c) => {
      const a = acc[e][c];
      results.push({
        method: ed.name,
        rule: ed.rule,
        combination: combo.join(" + "),
        size: combo.length,
        accuracy: a.acc / a.k,
        allCorrect: a.all / a.k,
        oracleAccuracy: oracle ? a.oacc / a.k : null,
        frs: a.frs / a.k,
        oracleIdentity: oracle ? a.oid / a.k : null,
        othersKept: oracle ? a.kept / a.k : null,
        latents: a.k,
      });
    })
  );
  return results;
}
