/**
 * The evaluation protocol (paper section 4): every test latent, every attribute, both directions
 * (+1 add, -1 remove): 8 edited images per latent. An edit counts as correct when the evaluation
 * classifier's label for the attribute equals the target (1 for +1, 0 for -1), so a target the
 * source already meets counts when it is kept. Per edit: SSIM, FRS (identity-network cosine),
 * the perceptual feature distance, the evaluation classifier's and the oracle's labels, the oracle
 * identity similarity, and whether the other attributes kept their (oracle) labels; over the set,
 * the Frechet distance between the edited images' evaluation features and their sources' (each
 * source counted once per edit made from it, so an editor that changes nothing scores 0).
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { applyEditOptions, checkEditOptions, type EditOptions } from "../model/combine.ts";
import { ssim } from "../metrics/ssim.ts";
import { featureDistance } from "../metrics/perceptual.ts";
import { featureStats, frechetDistance } from "../metrics/frechet.ts";
import { Progress } from "../util/progress.ts";

/** Anything that edits one attribute of W+ latents: the ID-Style editor or a baseline. */
export interface AttributeEditor {
  readonly name: string;
  /** W+ [B, L, D], attribute index m, one direction per latent (+1 / -1) -> edited W+ [B, L, D]. */
  editAttribute(wPlus: tf.Tensor3D, m: number, directions: number[]): tf.Tensor3D;
}

/**
 * The ID-Style editor as an AttributeEditor (one attribute at a time, attr_m = direction).
 * `edit.topK` keeps the k largest |entries| of each row of the edit and `edit.intensity` scales it
 * (paper Figure 9), as IDStyleEditor.edit does.
 */
export function idStyleAttributeEditor(
  editor: IDStyleEditor,
  name = "ID-Style",
  edit: EditOptions = {},
): AttributeEditor {
  const D = editor.config.latentDim;
  checkEditOptions(edit, D);
  return {
    name,
    editAttribute(wPlus, m, directions) {
      const [B, L] = wPlus.shape;
      const M = editor.attributes.length;
      return tf.tidy(() => {
        const attr = tf.tensor2d(
          directions.flatMap((d) => Array.from({ length: M }, (_, j) => (j === m ? d : 0))),
          [B, M],
        );
        const delta = tf.reshape(
          tf.slice(editor.forward(wPlus, attr).deltas, [0, m, 0, 0], [B, 1, L, D]),
          [B, L, D],
        ) as tf.Tensor3D; // [B, L, D]
        return tf.add(wPlus, applyEditOptions(delta, edit)) as tf.Tensor3D;
      });
    },
  };
}

/** The identity edit (changes nothing): the protocol's reference point. */
export const IDENTITY_EDITOR: AttributeEditor = {
  name: "identity (no edit)",
  editAttribute: (w) => tf.clone(w),
};

export interface EditRecord {
  sample: number;
  attribute: string;
  direction: number;
  target: number;
  /** Evaluation classifier's label after the edit. */
  predicted: number;
  /** Oracle label after the edit (null where the world has no oracle). */
  oracle: number | null;
  ssim: number;
  frs: number;
  perceptual: number;
  oracleIdentity: number | null;
  /** Fraction of the other attributes whose oracle label was kept. */
  othersKept: number | null;
}

export interface EvalSummary {
  method: string;
  edits: number;
  ssim: number;
  frs: number;
  frechet: number;
  perceptual: number;
  /** Mean accuracy over attributes (evaluation classifier), and per attribute. */
  mAcc: number;
  accuracy: Record<string, number>;
  oracleMAcc: number | null;
  oracleAccuracy: Record<string, number> | null;
  oracleIdentity: number | null;
  othersKept: number | null;
  seconds: number;
}

export interface EvalOptions {
  /** Latents per batch (each gives 2 M edits). */
  batch?: number;
  silent?: boolean;
  /** Label for the progress bar. */
  label?: string;
}

/** Runs the protocol on `latents` W+ [N, L, D] (given in batches by `getBatch`). */
export function evaluate(
  method: AttributeEditor,
  world: World,
  n: number,
  getBatch: (rows: number[]) => tf.Tensor3D,
  opts: EvalOptions = {},
): { summary: EvalSummary; records: EditRecord[] } {
  const t0 = performance.now();
  const M = world.attributes.length;
  const batch = opts.batch ?? 25;
  const records: EditRecord[] = [];
  const origFeatures: number[] = [], editFeatures: number[] = [];
  let featDim = 0;
  const progress = new Progress(opts.label ?? `evaluate ${method.name}`, n * 2 * M, {
    unit: "edits",
    silent: opts.silent,
  });
  for (let start = 0; start < n; start += batch) {
    const rows = Array.from({ length: Math.min(batch, n - start) }, (_, k) => start + k);
    const B = rows.length;
    const w = getBatch(rows);
    const orig = tf.tidy(() => {
      const img = world.synthesize(w);
      const feats = world.evalFeatures(img);
      return {
        img,
        id: world.identity(img),
        maps: feats.maps,
        pooled: feats.pooled,
        oracleId: world.oracle?.identity(w),
        oracleLab: world.oracle?.labels(w),
      };
    });
    featDim = orig.pooled.shape[1];
    const origPooled = orig.pooled.dataSync();
    const oracleLab0 = orig.oracleLab?.dataSync();
    for (let m = 0; m < M; m++) {
      for (const dir of [1, -1]) {
        const out = tf.tidy(() => {
          const e = method.editAttribute(w, m, new Array(B).fill(dir));
          const img = world.synthesize(e);
          const feats = world.evalFeatures(img);
          const logits = world.evalClassifier(img);
          return {
            pred: tf.greater(tf.slice(logits, [0, m], [B, 1]), 0).dataSync(),
            frs: tf.sum(tf.mul(orig.id, world.identity(img)), 1).dataSync(),
            ssim: ssim(orig.img, img).dataSync(),
            perceptual: featureDistance(orig.maps, feats.maps).dataSync(),
            pooled: feats.pooled.dataSync(),
            oracleLab: world.oracle?.labels(e).dataSync(),
            oracleId: world.oracle && orig.oracleId
              ? world.oracle.identitySimilarity(orig.oracleId, world.oracle.identity(e)).dataSync()
              : undefined,
          };
        });
        editFeatures.push(...out.pooled);
        origFeatures.push(...origPooled); // each edit against its own source: both sets 2Mn rows
        for (let b = 0; b < B; b++) {
          let kept: number | null = null;
          if (out.oracleLab && oracleLab0) {
            let k = 0;
            for (let j = 0; j < M; j++) {
              if (j !== m && out.oracleLab[b * M + j] === oracleLab0[b * M + j]) k++;
            }
            kept = M > 1 ? k / (M - 1) : 1;
          }
          records.push({
            sample: rows[b],
            attribute: world.attributes[m],
            direction: dir,
            target: dir > 0 ? 1 : 0,
            predicted: out.pred[b] ? 1 : 0,
            oracle: out.oracleLab ? out.oracleLab[b * M + m] : null,
            ssim: out.ssim[b],
            frs: out.frs[b],
            perceptual: out.perceptual[b],
            oracleIdentity: out.oracleId ? out.oracleId[b] : null,
            othersKept: kept,
          });
        }
        progress.tick(B);
      }
    }
    tf.dispose([
      w,
      orig.img,
      orig.id,
      orig.pooled,
      ...orig.maps,
      orig.oracleId ?? [],
      orig.oracleLab ?? [],
    ]);
  }
  progress.finish();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const accuracy = Object.fromEntries(
    world.attributes.map((a) => [
      a,
      mean(records.filter((r) => r.attribute === a).map((r) => (r.predicted === r.target ? 1 : 0))),
    ]),
  );
  const hasOracle = records.length > 0 && records[0].oracle !== null;
  const oracleAccuracy = hasOracle
    ? Object.fromEntries(
      world.attributes.map((a) => [
        a,
        mean(records.filter((r) => r.attribute === a).map((r) => (r.oracle === r.target ? 1 : 0))),
      ]),
    )
    : null;
  const summary: EvalSummary = {
    method: method.name,
    edits: records.length,
    ssim: mean(records.map((r) => r.ssim)),
    frs: mean(records.map((r) => r.frs)),
    frechet: n >= 2
      ? frechetDistance(featureStats(editFeatures, featDim), featureStats(origFeatures, featDim))
      : NaN,
    perceptual: mean(records.map((r) => r.perceptual)),
    mAcc: mean(Object.values(accuracy)),
    accuracy,
    oracleMAcc: oracleAccuracy ? mean(Object.values(oracleAccuracy)) : null,
    oracleAccuracy,
    oracleIdentity: hasOracle ? mean(records.map((r) => r.oracleIdentity!)) : null,
    othersKept: hasOracle ? mean(records.map((r) => r.othersKept!)) : null,
    seconds: (performance.now() - t0) / 1000,
  };
  return { summary, records };
}
