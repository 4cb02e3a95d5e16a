/**
 * Figure 7's measurements: how well an inversion reproduces its image, and how well editing the
 * inversion works compared with editing the latent the image came from (when there is one).
 *
 *   reconstruction   re-render SSIM against the image, oracle identity of the inversion against
 *                    the image's true identity factors, oracle labels that agree with the true ones
 *   editing          each attribute toggled (flipped from its true label): the evaluation
 *                    classifier's accuracy, and the oracle identity of the edit against the true
 *                    identity
 *   visibility       how much each identity factor moves the image (identityVisibility) beside how
 *                    far the inversion lands from it (factorErrors): what an image does not show,
 *                    no inversion from the image alone can recover
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { ssim } from "../metrics/ssim.ts";
import { FACTOR_NAMES, IDENTITY_FACTORS } from "../world/synthface/spec.ts";

export interface Truth {
  images: tf.Tensor4D;
  /** True identity factors [N, K] and attribute labels [N, M]. */
  identity: tf.Tensor2D;
  labels: tf.Tensor2D;
}

export interface ReconstructionScore {
  ssim: number;
  oracleIdentity: number;
  /** Identity-network cosine between the image and the inversion's render (the paper's FRS). */
  frs: number;
  labelsAgree: number;
}

export interface EditScore {
  /** Evaluation-classifier accuracy of the toggles, mean over attributes. */
  accuracy: number;
  /** Oracle identity of the toggled latents against the true identity. */
  oracleIdentity: number;
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

export function scoreReconstruction(
  world: SynthFace,
  wPlus: tf.Tensor3D,
  truth: Truth,
): ReconstructionScore {
  return tf.tidy(() => {
    const x = world.synthesize(wPlus);
    const lab = world.oracle.labels(wPlus).dataSync(), tl = truth.labels.dataSync();
    let agree = 0;
    for (let i = 0; i < lab.length; i++) agree += lab[i] === tl[i] ? 1 : 0;
    return {
      ssim: mean(ssim(truth.images, x).dataSync()),
      frs: mean(tf.sum(tf.mul(world.identity(truth.images), world.identity(x)), 1).dataSync()),
      oracleIdentity: mean(
        world.oracle.identitySimilarity(truth.identity, world.oracle.identity(wPlus)).dataSync(),
      ),
      labelsAgree: agree / lab.length,
    };
  });
}

/** Each attribute of `wPlus` [N, L, D] toggled from the true labels, by the editor. */
export function scoreToggles(
  world: SynthFace,
  editor: IDStyleEditor,
  wPlus: tf.Tensor3D,
  truth: Truth,
): EditScore {
  const A = world.attributes, M = A.length, N = wPlus.shape[0];
  const tl = truth.labels.dataSync();
  let right = 0, idSum = 0;
  for (let m = 0; m < M; m++) {
    const attr = Array.from(
      { length: N },
      (_, i) => A.map((_, j) => (j === m ? (tl[i * M + m] > 0.5 ? -1 : 1) : 0)),
    );
    const out = tf.tidy(() => {
      const r = editor.edit(wPlus, tf.tensor2d(attr), {});
      const e = r.combined;
      const pred = tf.greater(world.evalClassifier(world.synthesize(e)), 0).dataSync();
      const oid = world.oracle.identitySimilarity(truth.identity, world.oracle.identity(e))
        .dataSync();
      return { pred, oid };
    });
    for (let i = 0; i < N; i++) {
      const target = tl[i * M + m] > 0.5 ? 0 : 1;
      right += (out.pred[i * M + m] ? 1 : 0) === target ? 1 : 0;
      idSum += out.oid[i];
    }
  }
  return { accuracy: right / (N * M), oracleIdentity: idSum / (N * M) };
}

/**
 * How visible each identity factor is in each face: the mean absolute change of the render (image
 * units of [-1, 1], all pixels and channels) when the factor alone moves by one population standard
 * deviation (the oracle's calibration), the others held at the face's values. [N][K], K in the
 * order of IDENTITY_FACTORS. Factors are clipped to [0, 1] after the step.
 */
export function identityVisibility(
  world: SynthFace,
  wPlus: tf.Tensor3D,
  resolution = world.resolution,
): number[][] {
  const N = wPlus.shape[0], F = FACTOR_NAMES.length;
  const sd = world.calibration.identityStd;
  const out = Array.from({ length: N }, () => new Array<number>(IDENTITY_FACTORS.length));
  const v = world.factors(wPlus);
  const base = world.renderFactors(v, resolution);
  IDENTITY_FACTORS.forEach((name, k) => {
    const j = FACTOR_NAMES.indexOf(name);
    const change = tf.tidy(() => {
      const step = tf.mul(tf.oneHot(tf.tensor1d([j], "int32"), F), sd[k]);
      const moved = tf.clipByValue(tf.add(v, step), 0, 1) as tf.Tensor2D;
      return tf.mean(tf.abs(tf.sub(world.renderFactors(moved, resolution), base)), [1, 2, 3])
        .dataSync();
    });
    for (let i = 0; i < N; i++) out[i][k] = change[i];
  });
  v.dispose();
  base.dispose();
  return out;
}

/**
 * How far an inversion's identity factors land from the true ones, per face and factor, in
 * population standard deviations: |id_inv - id_true| / sd, [N][K] in the order of IDENTITY_FACTORS.
 */
export function factorErrors(world: SynthFace, wPlus: tf.Tensor3D, truth: Truth): number[][] {
  const sd = world.calibration.identityStd, K = IDENTITY_FACTORS.length;
  const got = tf.tidy(() => world.oracle.identity(wPlus).dataSync());
  const want = truth.identity.dataSync();
  return Array.from(
    { length: wPlus.shape[0] },
    (_, i) =>
      Array.from({ length: K }, (_, k) => Math.abs(got[i * K + k] - want[i * K + k]) / sd[k]),
  );
}

/** One face and identity factor: how visible the factor is there and how far the inversion missed it. */
export interface FactorRecovery {
  face: number;
  factor: string;
  /** Mean |change of the render| for a one-sd step of the factor (identityVisibility). */
  visibility: number;
  /** |inverted - true| in population sds (factorErrors). */
  error: number;
}

/**
 * Visibility beside error for every face and identity factor, long format (for a scatter): the
 * visibility is measured on `source`, the latents the images were rendered from (or, for
 * photographs, the test latents they started from).
 */
export function identityRecovery(
  world: SynthFace,
  inverted: tf.Tensor3D,
  source: tf.Tensor3D,
  truth: Truth,
): FactorRecovery[] {
  const vis = identityVisibility(world, source);
  const err = factorErrors(world, inverted, truth);
  return vis.flatMap((row, face) =>
    row.map((visibility, k) => ({
      face,
      factor: IDENTITY_FACTORS[k],
      visibility,
      error: err[face][k],
    }))
  );
}
