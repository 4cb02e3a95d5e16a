/**
 * One optimisation step of the editor: losses, gradients of the trainable parameters, AdaBelief
 * update. Returns the loss terms as numbers (one device read for all of them).
 */
import * as tf from "@tensorflow/tfjs";
import { LOSS_NAMES, type LossConfig, type LossName } from "../model/config.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { editorLosses, type ImageModels, type LossBatch } from "../losses/total.ts";
import type { AdaBelief } from "../optim/adabelief.ts";

export type StepLosses = Partial<Record<LossName, number>> & { total: number };

export function trainStep(
  editor: IDStyleEditor,
  optimizer: AdaBelief,
  batch: LossBatch,
  loss: LossConfig,
  step: number,
  lr: number,
  models?: ImageModels,
): StepLosses {
  const vars = editor.trainableVariables();
  let terms: Partial<Record<LossName, tf.Scalar>> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = editorLosses(editor, batch, loss, step, models);
    terms = Object.fromEntries(Object.entries(r.terms).map(([k, v]) => [k, tf.keep(v)]));
    return r.total;
  }, vars);
  optimizer.apply(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), lr);
  const names = LOSS_NAMES.filter((k) => terms[k]);
  const packed = tf.tidy(() => tf.stack([value, ...names.map((k) => terms[k]!)]));
  const nums = packed.dataSync();
  tf.dispose([packed, value, grads, ...Object.values(terms)]);
  const out: StepLosses = { total: nums[0] };
  names.forEach((k, i) => (out[k] = nums[i + 1]));
  return out;
}
