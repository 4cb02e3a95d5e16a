/**
 * The full objective (paper eq. 11): L = sum_k lambda_k L_k over nb, direction, sparsity, class
 * and id. Every term is returned unweighted beside the weighted total, and a term whose weight is
 * 0 is not computed (with class and id both 0, nothing is rendered).
 */
import * as tf from "@tensorflow/tfjs";
import { LOSS_NAMES, type LossConfig, type LossName } from "../model/config.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { directionLoss, neighbourhoodLoss, sparsityLoss } from "./latent.ts";
import { classLoss, identityLoss } from "./image.ts";
import { assertShape } from "../util/validate.ts";

/** The networks of a world that the image losses need, as plain functions. */
export interface ImageModels {
  /** G: W+ [N, L, D] -> images [N, H, W, 3] in [-1, 1]. */
  generator(wPlus: tf.Tensor3D): tf.Tensor4D;
  /** D: images -> attribute logits [N, M], in the editor's attribute order. */
  classifier(images: tf.Tensor4D): tf.Tensor2D;
  /** psi: images -> identity embeddings [N, E]. */
  identity(images: tf.Tensor4D): tf.Tensor2D;
}

export interface LossBatch {
  /** Source latents, [B, L, D]. */
  wPlus: tf.Tensor3D;
  /** Edit codes, [B, M] in {-1, 0, 1}. */
  attr: tf.Tensor2D;
  /** Label the output edited for attribute m must show for m, [B, M] in {0, 1}. */
  targets: tf.Tensor2D;
}

export interface LossResult {
  /** sum_k weight_k * term_k. */
  total: tf.Scalar;
  /** Unweighted terms; only those with a non-zero weight. */
  terms: Partial<Record<LossName, tf.Scalar>>;
}

/** The attributes whose edited outputs the identity loss scores at `step`. */
export function identityAttributes(cfg: LossConfig, numAttributes: number, step: number): number[] {
  return cfg.identity === "cycle" ? [step % numAttributes] : [...Array(numAttributes).keys()];
}

export function editorLosses(
  editor: IDStyleEditor,
  batch: LossBatch,
  cfg: LossConfig,
  step: number,
  models?: ImageModels,
): LossResult {
  const M = editor.attributes.length;
  const dims: Record<string, number> = {};
  assertShape("batch.targets", batch.targets, [batch.wPlus.shape[0], M], dims);
  const w = cfg.weights;
  const needImages = w.class > 0 || w.id > 0;
  if (needImages && !models) {
    throw new Error(
      "models: the class and id losses need a generator, a classifier and an identity network",
    );
  }
  return tf.tidy(() => {
    // The [B, M, L, D] edited latents are built only when an image loss renders them.
    const full = needImages ? editor.forward(batch.wPlus, batch.attr) : null;
    const out = full ?? editor.forwardCore(batch.wPlus, batch.attr);
    const terms: Partial<Record<LossName, tf.Scalar>> = {};
    if (w.sparsity > 0) terms.sparsity = sparsityLoss(editor.lgd.raw(), cfg.attributeReduction);
    if (w.direction > 0) terms.direction = directionLoss(out.lft, out.directions, cfg.direction);
    if (w.nb > 0) {
      terms.nb = neighbourhoodLoss(out.lft, out.directions, out.coef, cfg.attributeReduction);
    }
    if (full && models) {
      Object.assign(terms, imageTerms(full.edited, batch, cfg, step, models));
    }
    let total = tf.scalar(0);
    for (const k of LOSS_NAMES) {
      const t = terms[k];
      if (t) total = tf.add(total, tf.mul(t, w[k]));
    }
    return { total, terms };
  });
}

function imageTerms(
  edited: tf.Tensor4D, // [B, M, L, D]
  batch: LossBatch,
  cfg: LossConfig,
  step: number,
  models: ImageModels,
): Partial<Record<LossName, tf.Scalar>> {
  const [B, M, L, D] = edited.shape;
  const idSet = cfg.weights.id > 0 ? identityAttributes(cfg, M, step) : [];
  // Edited outputs to render: all M for the class loss, else only those the id loss scores.
  const rendered = cfg.weights.class > 0 ? [...Array(M).keys()] : idSet;
  const K = rendered.length;
  const withSource = idSet.length > 0;
  const editedSel = tf.stack(
    rendered.map((m) => tf.squeeze(tf.slice(edited, [0, m, 0, 0], [B, 1, L, D]), [1])),
  ); // [K, B, L, D]
  const latents = tf.reshape(editedSel, [K * B, L, D]);
  const all = withSource ? tf.concat([latents, batch.wPlus], 0) : latents; // [(K + 1) B, L, D]
  const images = models.generator(all as tf.Tensor3D); // [(K (+1)) B, H, W, 3]
  const [, H, W, C] = images.shape;
  const editedImages = tf.slice(images, [0, 0, 0, 0], [K * B, H, W, C]) as tf.Tensor4D;
  const terms: Partial<Record<LossName, tf.Scalar>> = {};
  if (cfg.weights.class > 0) {
    const logits = models.classifier(editedImages); // [M B, M]
    const perEdit = tf.transpose(tf.reshape(logits, [M, B, M]), [1, 0, 2]) as tf.Tensor3D; // [B, M, M]
    const mask = tf.cast(tf.notEqual(batch.attr, 0), "float32") as tf.Tensor2D;
    terms.class = classLoss(perEdit, batch.targets, mask, cfg.attributeReduction);
  }
  if (withSource) {
    const source = tf.slice(images, [K * B, 0, 0, 0], [B, H, W, C]) as tf.Tensor4D;
    const scored = idSet.map((m) =>
      tf.slice(editedImages, [rendered.indexOf(m) * B, 0, 0, 0], [B, H, W, C])
    );
    const emb = models.identity(tf.concat([source, ...scored], 0) as tf.Tensor4D); // [(1 + |idSet|) B, E]
    const E = emb.shape[1];
    const src = tf.slice(emb, [0, 0], [B, E]) as tf.Tensor2D;
    const ed = tf.transpose(
      tf.reshape(tf.slice(emb, [B, 0], [idSet.length * B, E]), [idSet.length, B, E]),
      [1, 0, 2],
    );
    terms.id = identityLoss(src, ed as tf.Tensor3D, cfg.attributeReduction);
  }
  return terms;
}
