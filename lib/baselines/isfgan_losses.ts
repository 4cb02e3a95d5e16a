/**
 * ISF-GAN's loss terms (their `core/solver.py`): the positive-weighted multi-label BCE of the class
 * heads, the real/fake BCE, and the mapping step's weighted terms for one batch,
 *
 *   with w1 = M(w, z1, y_trg), x1 = G(w1), wc = M(w1, z2, y_src), xc = G(wc):
 *   cls      lambda_cls BCE_pw(D_cls(x1), y_trg)        adv      BCE(D_src(x1), 1)
 *   nb       lambda_nb mean_b ||w - w1||_F               latCyc   lambda_lat_cyc |wc - w|
 *   srcCyc   lambda_src_cyc |xc - x|                     lpipsCyc lambda_lpips_cyc P(xc, x)
 *   lpips    lambda_lpips P(x1, x)                       ds       lambda_ds |x1 - G(M(w, z3, y_trg))|
 *
 * (the loss is their sum minus ds), used by the training (isfgan_train.ts) and by the diagnosis
 * of each term's gradient (isfgan_diagnose.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { IsfGanConfig } from "./isfgan_config.ts";
import type { IsfMapping } from "./isfgan_model.ts";
import type { IsfDiscriminator } from "./isfgan_discriminator.ts";
import type { RandomLpips } from "./isfgan_perceptual.ts";

/** Mean BCE with logits and positive weights posWeight [M] on targets [B, M]. */
export function weightedBce(
  logits: tf.Tensor,
  targets: tf.Tensor,
  posWeight: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() =>
    tf.mean(
      tf.add(
        tf.mul(tf.mul(posWeight, targets), tf.softplus(tf.neg(logits))),
        tf.mul(tf.sub(1, targets), tf.softplus(logits)),
      ),
    )
  );
}

/** Mean BCE with logits against a constant target. */
export const bce = (logits: tf.Tensor, target: 0 | 1) =>
  tf.tidy(() => tf.mean(target ? tf.softplus(tf.neg(logits)) : tf.softplus(logits)));

/** What the mapping step's terms read: the world, the config and the networks. */
export interface IsfNets {
  world: SynthFace;
  cfg: IsfGanConfig;
  mapping: IsfMapping;
  disc: IsfDiscriminator;
  lpips: RandomLpips;
  /** Positive weights [M] of the class terms. */
  posWeight: tf.Tensor1D;
}

/** One batch of the mapping step: w [B, L, D], its renders x, y_src and y_trg [B, M], z0..z3 [B, R]. */
export interface IsfBatch {
  w: tf.Tensor3D;
  x: tf.Tensor4D;
  ySrc: tf.Tensor2D;
  yTrg: tf.Tensor2D;
  z: tf.Tensor2D[];
}

/**
 * The mapping step's weighted terms for one batch (the module comment's G step), each a scalar;
 * `ds` is positive here and subtracted by the loss. Used by the training and by the diagnosis of
 * each term's gradient (isfgan_diagnose.ts).
 */
export function mappingTerms(nets: IsfNets, b: IsfBatch): Record<string, tf.Scalar> {
  const { world, cfg, mapping, disc, lpips, posWeight } = nets;
  const { w, x, ySrc, yTrg, z } = b;
  const render = (v: tf.Tensor3D) => world.synthesize(v, { resolution: cfg.resolution });
  const w1 = mapping.forward(w, z[1], yTrg);
  const x1 = render(w1);
  const out1 = disc.forward(x1);
  const wc = mapping.forward(w1, z[2], ySrc);
  const xc = render(wc);
  const fx = lpips.features(x);
  const terms: Record<string, tf.Tensor> = {
    cls: tf.mul(weightedBce(out1.cls, yTrg, posWeight), cfg.lambda.cls),
    adv: bce(out1.src, 1),
    nb: tf.mul(
      tf.mean(tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(w, w1)), [1, 2]), 1e-12))),
      cfg.lambda.nb,
    ),
    latCyc: tf.mul(tf.mean(tf.abs(tf.sub(wc, w))), cfg.lambda.latCyc),
    srcCyc: tf.mul(tf.mean(tf.abs(tf.sub(xc, x))), cfg.lambda.srcCyc),
    lpipsCyc: tf.mul(
      tf.mean(lpips.distanceFromFeatures(lpips.features(xc), fx)),
      cfg.lambda.lpipsCyc,
    ),
    lpips: tf.mul(tf.mean(lpips.distanceFromFeatures(lpips.features(x1), fx)), cfg.lambda.lpips),
    ds: tf.mul(
      tf.mean(tf.abs(tf.sub(x1, render(mapping.forward(w, z[3], yTrg))))),
      cfg.lambda.ds,
    ),
  };
  if (cfg.lambda.pretrainedCls > 0) {
    terms.pretrainedCls = tf.mul(
      weightedBce(world.classifier(x1), yTrg, posWeight),
      cfg.lambda.pretrainedCls,
    );
  }
  return terms as Record<string, tf.Scalar>;
}
