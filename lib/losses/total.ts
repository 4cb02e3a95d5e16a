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

/** Which edited outputs an image-loss step renders, and which of them the identity loss scores. */
export interface ImagePlan {
  /** Attribute indices whose edited outputs are rendered (all M for the class loss). */
  rendered: number[];
  /** Attribute indices the identity loss scores (a subset of `rendered`). */
  idSet: number[];
}

export function imagePlan(cfg: LossConfig, M: number, step: number): ImagePlan {
  const idSet = cfg.weights.id > 0 ? identityAttributes(cfg, M, step) : [];
  return { rendered: cfg.weights.class > 0 ? [...Array(M).keys()] : idSet, idSet };
}

/** The rendered edited latents, attribute-major: [K B, L, D] from edited [B, M, L, D]. */
export function renderedLatents(edited: tf.Tensor4D, plan: ImagePlan): tf.Tensor3D {
  const [B, , L, D] = edited.shape;
  return tf.tidy(() => {
    const sel = tf.stack(
      plan.rendered.map((m) => tf.squeeze(tf.slice(edited, [0, m, 0, 0], [B, 1, L, D]), [1])),
    ); // [K, B, L, D]
    return tf.reshape(sel, [plan.rendered.length * B, L, D]) as tf.Tensor3D;
  });
}

/**
 * The image terms from the networks' outputs: `logits` [K B, M] of the rendered edits (class
 * loss), `source` [B, E] and `editedEmb` [K B, E] embeddings (identity loss; rows of attributes
 * outside idSet are ignored).
 */
export function featureTerms(
  plan: ImagePlan,
  batch: LossBatch,
  cfg: LossConfig,
  feats: { logits: tf.Tensor2D | null; source: tf.Tensor2D | null; editedEmb: tf.Tensor2D | null },
): Partial<Record<LossName, tf.Scalar>> {
  const [B, M] = batch.attr.shape;
  const terms: Partial<Record<LossName, tf.Scalar>> = {};
  if (cfg.weights.class > 0 && feats.logits) {
    const perEdit = tf.transpose(tf.reshape(feats.logits, [M, B, M]), [1, 0, 2]) as tf.Tensor3D; // [B, M, M]
    const mask = tf.cast(tf.notEqual(batch.attr, 0), "float32") as tf.Tensor2D;
    terms.class = classLoss(perEdit, batch.targets, mask, cfg.attributeReduction);
  }
  if (plan.idSet.length && feats.source && feats.editedEmb) {
    const E = feats.source.shape[1];
    const scored = plan.idSet.map((m) =>
      tf.slice(feats.editedEmb!, [plan.rendered.indexOf(m) * B, 0], [B, E])
    );
    const ed = tf.transpose(tf.stack(scored), [1, 0, 2]) as tf.Tensor3D; // [B, |idSet|, E]
    terms.id = identityLoss(feats.source, ed, cfg.attributeReduction);
  }
  return terms;
}

function imageTerms(
  edited: tf.Tensor4D, // [B, M, L, D]
  batch: LossBatch,
  cfg: LossConfig,
  step: number,
  models: ImageModels,
): Partial<Record<LossName, tf.Scalar>> {
  const B = edited.shape[0];
  const plan = imagePlan(cfg, edited.shape[1], step);
  const K = plan.rendered.length;
  const withSource = plan.idSet.length > 0;
  const latents = renderedLatents(edited, plan);
  const all = withSource ? tf.concat([latents, batch.wPlus], 0) : latents; // [(K + 1) B, L, D]
  const images = models.generator(all as tf.Tensor3D); // [(K (+1)) B, H, W, 3]
  const [, H, W, C] = images.shape;
  const editedImages = tf.slice(images, [0, 0, 0, 0], [K * B, H, W, C]) as tf.Tensor4D;
  let source: tf.Tensor2D | null = null, editedEmb: tf.Tensor2D | null = null;
  if (withSource) {
    // The identity network sees the source and only the edits it scores.
    const sourceImages = tf.slice(images, [K * B, 0, 0, 0], [B, H, W, C]) as tf.Tensor4D;
    const scored = plan.idSet.map((m) =>
      tf.slice(editedImages, [plan.rendered.indexOf(m) * B, 0, 0, 0], [B, H, W, C])
    );
    const emb = models.identity(tf.concat([sourceImages, ...scored], 0) as tf.Tensor4D); // [(1 + |idSet|) B, E]
    const E = emb.shape[1];
    source = tf.slice(emb, [0, 0], [B, E]) as tf.Tensor2D;
    // Back into the rendered layout (rows of unscored attributes are never read).
    const rows = plan.rendered.map((m) => {
      const j = plan.idSet.indexOf(m);
      return j >= 0 ? tf.slice(emb, [(1 + j) * B, 0], [B, E]) : tf.zeros([B, E]);
    });
    editedEmb = tf.concat(rows, 0) as tf.Tensor2D;
  }
  const logits = cfg.weights.class > 0 ? models.classifier(editedImages) : null; // [M B, M]
  return featureTerms(plan, batch, cfg, { logits, source, editedEmb });
}
