/**
 * Figure 7's measurements: how well an inversion reproduces its image, and how well editing the
 * inversion works compared with editing the latent the image came from (when there is one).
 *
 *   reconstruction   re-render SSIM against the image, oracle identity of the inversion against
 *                    the image's true identity factors, oracle labels that agree with the true ones
 *   editing          each attribute toggled (flipped from its true label): the evaluation
 *                    classifier's accuracy, and the oracle identity of the edit against the true
 *                    identity
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { ssim } from "../metrics/ssim.ts";

export interface Truth {
  images: tf.Tensor4D;
  /** True identity factors [N, K] and attribute labels [N, M]. */
  identity: tf.Tensor2D;
  labels: tf.Tensor2D;
}

export interface ReconstructionScore {
  ssim: number;
  oracleIdentity: number;
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
