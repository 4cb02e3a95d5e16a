/**
 * Measurements of ISF-GAN's edits. `flipCosts`: what a real attribute flip costs ISF-GAN's mapper in its perceptual terms, against what it earns
 * in its class term: for an editor (InterFaceGAN's boundaries, whose edits do flip the attribute),
 * on W+ latents, per attribute and over both directions,
 *
 *   cost    lambda_lpips P(G(w'), G(w))  (the LPIPS-form distance of isfgan_perceptual.ts)
 *   reward  lambda_cls / M [BCE_pw(l(G(w)), t) - BCE_pw(l(G(w')), t)] over the edits whose source
 *           is not yet at the target t (the ones that must flip), with l a class head's logit: the
 *           world's training classifier (a confident head, what ISF-GAN's class head is trained to
 *           imitate; the largest reward there is) or any other head passed in, and the same with
 *           every logit set to +-1 by its sign (a right but modestly confident head);
 *
 * and, for comparison, the cut-down run's perceptual distance (the training classifier's conv
 * maps, lib/metrics/perceptual.ts). `editAccuracy`: how often a mapping's edits reach their target
 * by the training classifier (the training run's monitoring; never a loss).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { AttributeEditor } from "../eval/evaluate.ts";
import { featureDistance } from "../metrics/perceptual.ts";
import type { RandomLpips } from "./isfgan_perceptual.ts";
import type { Dataset } from "../data/dataset.ts";
import type { IsfGanConfig } from "./isfgan_config.ts";
import { ISF_DEFAULT, type IsfMapping } from "./isfgan_model.ts";
import { STYLEFLOW_LAYER_ROWS } from "../model/config.ts";
import { deriveSeed, Rng } from "../util/rng.ts";

export interface FlipCost {
  attribute: string;
  /** Mean lambda_lpips P over all edits (both directions). */
  cost: number;
  /** Mean unscaled distance. */
  raw: number;
  /** Mean class reward over the edits that had to flip, and their count. */
  reward: number;
  /**
   * The same reward for a head that has the sign of `head`'s logit but |logit| = 1 (right, and
   * only 73% sure): what a modestly confident class head pays for a flip.
   */
  rewardAtUnitLogits: number;
  flips: number;
  /** Fraction of those the head sees flipped. */
  flipped: number;
  /** The cut-down run's distance (training classifier's features) of the same edits. */
  classifierFeatureCost: number;
}

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

export function flipCosts(
  world: SynthFace,
  wPlus: tf.Tensor3D,
  editor: AttributeEditor,
  lpips: RandomLpips,
  opts: {
    posWeights: number[];
    lambdaCls?: number;
    lambdaLpips?: number;
    head?: (images: tf.Tensor4D) => tf.Tensor2D;
  },
): FlipCost[] {
  const M = world.attributes.length, B = wPlus.shape[0];
  const lc = opts.lambdaCls ?? 2, ll = opts.lambdaLpips ?? 1;
  const head = opts.head ?? ((x: tf.Tensor4D) => world.classifier(x));
  const bce = (l: number, t: number, m: number) =>
    t ? opts.posWeights[m] * softplus(-l) : softplus(l);
  const x = world.synthesize(wPlus);
  const l0 = tf.tidy(() => head(x).dataSync());
  const cmaps = world.net("classifier").forward(x).maps;
  const out = world.attributes.map((attribute, m) => {
    let raw = 0, cf = 0, reward = 0, unit = 0, flips = 0, flipped = 0;
    for (const dir of [1, -1]) {
      tf.tidy(() => {
        const xe = world.synthesize(editor.editAttribute(wPlus, m, new Array(B).fill(dir)));
        const d = lpips.distance(x, xe, { raw: true }).dataSync();
        const c = featureDistance(world.net("classifier").forward(xe).maps, cmaps).dataSync();
        const l1 = head(xe).dataSync();
        const t = dir > 0 ? 1 : 0;
        for (let b = 0; b < B; b++) {
          raw += d[b];
          cf += c[b];
          if ((l0[b * M + m] > 0 ? 1 : 0) === t) continue;
          flips++;
          if ((l1[b * M + m] > 0 ? 1 : 0) === t) flipped++;
          reward += (lc / M) * (bce(l0[b * M + m], t, m) - bce(l1[b * M + m], t, m));
          const s0 = Math.sign(l0[b * M + m]), s1 = Math.sign(l1[b * M + m]);
          unit += (lc / M) * (bce(s0, t, m) - bce(s1, t, m));
        }
      });
    }
    raw /= 2 * B;
    return {
      attribute,
      cost: ll * raw * lpips.cfg.scale,
      raw,
      reward: reward / Math.max(flips, 1),
      rewardAtUnitLogits: unit / Math.max(flips, 1),
      flips,
      flipped: flipped / Math.max(flips, 1),
      classifierFeatureCost: cf / (2 * B),
    };
  });
  tf.dispose([x, ...cmaps]);
  return out;
}

/**
 * Fraction of the EMA mapping's edits of the first `editCheckLatents` test samples, each
 * attribute both ways (target: the source's labels with that attribute set; the authors' row
 * post-processing as the editor does), that the training classifier labels as the target.
 */
export function editAccuracy(
  world: SynthFace,
  mapping: IsfMapping,
  dataset: Dataset,
  cfg: IsfGanConfig,
): Record<string, number> {
  const M = world.attributes.length;
  const rows = Array.from({ length: cfg.editCheckLatents }, (_, i) => i);
  const B = rows.length, L = world.numLayers;
  const rng = new Rng(deriveSeed(cfg.seed, "edit-check"));
  const z = rng.normals(B * ISF_DEFAULT.noiseDim);
  return Object.fromEntries(world.attributes.map((a, m) => {
    let hits = 0;
    for (const dir of [1, 0]) {
      hits += tf.tidy(() => {
        const w = dataset.test.latents.batch(rows);
        const src = dataset.test.labels;
        const y = tf.tensor2d(
          Array.from({ length: B * M }, (_, k) => (k % M === m ? dir : src[k])),
          [B, M],
        );
        const e = mapping.forward(w, tf.tensor2d(z, [B, ISF_DEFAULT.noiseDim]), y);
        const keep = STYLEFLOW_LAYER_ROWS[a] ?? [...Array(L).keys()];
        const mask = tf.tensor3d(Array.from({ length: L }, (_, r) => keep.includes(r) ? 1 : 0), [
          1,
          L,
          1,
        ]);
        const edited = tf.add(tf.mul(e, mask), tf.mul(w, tf.sub(1, mask))) as tf.Tensor3D;
        const l = tf.slice(world.classifier(world.synthesize(edited)), [0, m], [B, 1]).dataSync();
        return Array.from(l).filter((v) => (v > 0 ? 1 : 0) === dir).length;
      });
    }
    return [a, hits / (2 * B)];
  }));
}
