/**
 * What the method needs from a world: a generator with StyleGAN2's latent interface, an
 * attribute classifier to train against, an independent one to score with, an identity network,
 * and, where the world has one, an oracle that knows the truth.
 *
 * The editor, training and evaluation see only this interface, so the embedded synthetic world
 * (synthface) and the real StyleGAN2 weights plug in the same way.
 */
import type * as tf from "@tensorflow/tfjs";

export interface World {
  readonly name: string;
  /** Rows of W+ (18). */
  readonly numLayers: number;
  /** Width of z and w (512). */
  readonly latentDim: number;
  /** Attribute names, in the order of every classifier's logits. */
  readonly attributes: readonly string[];
  /** Default render size (square). */
  readonly resolution: number;

  /** z [n, D] ~ N(0, I) from a seed. */
  sampleZ(n: number, seed: number): tf.Tensor2D;
  /** The mapping network: z [N, D] -> w [N, D]. */
  mapping(z: tf.Tensor2D): tf.Tensor2D;
  /** Mean of w over many samples, [D]. */
  readonly wAvg: tf.Tensor1D;
  /** w_avg + psi (w - w_avg), [N, D]. */
  truncate(w: tf.Tensor2D, psi: number): tf.Tensor2D;
  /** W mode: w [N, D] repeated on every row, [N, L, D]. */
  toWPlus(w: tf.Tensor2D): tf.Tensor3D;
  /** The generator: W+ [N, L, D] -> images [N, H, W, 3] in [-1, 1], differentiable. */
  synthesize(wPlus: tf.Tensor3D, opts?: { resolution?: number }): tf.Tensor4D;

  /** Training attribute classifier D (the paper's L_class): images -> logits [N, M]. */
  classifier(images: tf.Tensor4D): tf.Tensor2D;
  /** Independent evaluation classifier, used only for metrics: images -> logits [N, M]. */
  evalClassifier(images: tf.Tensor4D): tf.Tensor2D;
  /** Identity network psi (the ArcFace stand-in): images -> unit embeddings [N, E]. */
  identity(images: tf.Tensor4D): tf.Tensor2D;
  /** Feature maps of the evaluation network, for the perceptual and Frechet distances. */
  evalFeatures(images: tf.Tensor4D): { maps: tf.Tensor4D[]; pooled: tf.Tensor2D };

  /** Ground truth, where the world knows it. */
  readonly oracle?: Oracle;

  /** What the world's learned parts are (file hashes, recorded metrics), for training runs to record. */
  provenance?(): Promise<Record<string, string>>;
}

export interface Oracle {
  /** Attribute scores in (0, 1), [N, M]; the label is score > 0.5. */
  attributeScores(wPlus: tf.Tensor3D): tf.Tensor2D;
  /** Attribute labels in {0, 1}, [N, M]. */
  labels(wPlus: tf.Tensor3D): tf.Tensor2D;
  /** The identity-factor vector, [N, K]. */
  identity(wPlus: tf.Tensor3D): tf.Tensor2D;
  /** Identity similarity in [-1, 1] between rows of two identity vectors, [N]. */
  identitySimilarity(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D;
}
