/**
 * The perceptual distance of ISF-GAN's two LPIPS terms, attribute-agnostic as theirs is.
 *
 * Theirs (their `metrics/lpips.py`, StarGAN-v2's LPIPS): images normalised by ImageNet's mean and
 * std for [-1, 1] inputs, AlexNet's five ReLU maps, each unit-normalised over channels at every
 * position, squared differences weighted per channel by LPIPS's learned non-negative 1x1 "lin"
 * weights, averaged over positions, summed over layers. The ImageNet-trained AlexNet and the lin
 * weights cannot be had in this world, and the world's own networks are either what ISF-GAN must
 * fool (the training classifier: its feature distance penalises exactly the attribute change an
 * edit must make) or what Table 1 scores with (the evaluation classifier and the identity
 * network). So the same formulation runs here over a **fixed random-weight** AlexNet-shaped net
 * (He-normal weights from a seed, zero biases, never trained; random conv features are the
 * "Gaussian-initialised" baseline of the LPIPS paper), narrowed for 64 px:
 *
 *   conv 5x5 /2 -> 32, relu  [32 px]   maxpool 3 /2   conv 5x5 -> 64, relu  [16 px]   maxpool 3 /2
 *   conv 3x3 -> 96, relu  [8 px]   conv 3x3 -> 64, relu  [8 px]   conv 3x3 -> 64, relu  [8 px]
 *
 * with one uniform channel weight `scale` in place of the learned lin weights. The scale is set so
 * that InterFaceGAN's edits (the shipped boundaries, +-3 n on every row) cost on average what the
 * ID-Style paper measures for InterFaceGAN's edits with real LPIPS (Table 1: 0.156). Measured on
 * 64 test latents, both directions (tests/isfgan_faithful_test.ts prints the table): the raw
 * distance of InterFaceGAN's edits averages 0.646 (gender 0.470, glasses 0.883, age 0.861, smile
 * 0.372), so scale = 0.156 / 0.646 = 0.241 and a flip costs 0.09 (smile) to 0.21 (glasses).
 * Against that, the class reward of a flip (lambda_cls 2 / M times the fall of the pos-weighted
 * BCE of the flipped attribute, over the edits whose source is not at the target) is 4.4-12.5 with
 * the training classifier's confident logits, and 0.48-1.38 with logits of +-1 (a head that is
 * right but only 73% sure): a flip costs a fraction of what it earns. (The cut-down run's distance
 * over the training classifier's features put the same flips at 0.82-1.77.)
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../util/rng.ts";

export interface RandomLpipsConfig {
  /** Uniform channel weight (the stand-in for LPIPS's lin layers). */
  scale: number;
  seed: number;
}

/** Raw mean InterFaceGAN edit distance measured here (see the module comment), and the paper's. */
export const INTERFACEGAN_RAW_DISTANCE = 0.646;
export const PAPER_INTERFACEGAN_LPIPS = 0.156;

export const RANDOM_LPIPS: RandomLpipsConfig = {
  scale: PAPER_INTERFACEGAN_LPIPS / INTERFACEGAN_RAW_DISTANCE,
  seed: 4242,
};

/** LPIPS's input normalisation for [-1, 1] images (their constants). */
const MU = [-0.03, -0.088, -0.188];
const SIGMA = [0.458, 0.448, 0.45];

interface Layer {
  w: tf.Tensor4D; // [k, k, Cin, Cout]
  stride: number;
  poolBefore: boolean;
}

const ARCH: { k: number; c: number; stride: number; poolBefore: boolean }[] = [
  { k: 5, c: 32, stride: 2, poolBefore: false },
  { k: 5, c: 64, stride: 1, poolBefore: true },
  { k: 3, c: 96, stride: 1, poolBefore: true },
  { k: 3, c: 64, stride: 1, poolBefore: false },
  { k: 3, c: 64, stride: 1, poolBefore: false },
];

export class RandomLpips {
  private readonly layers: Layer[];
  private readonly mu: tf.Tensor;
  private readonly sigma: tf.Tensor;

  constructor(readonly cfg: RandomLpipsConfig = RANDOM_LPIPS) {
    let cin = 3;
    this.layers = ARCH.map((a, i) => {
      const rng = new Rng(deriveSeed(cfg.seed, `lpips/${i}`));
      const fanIn = a.k * a.k * cin;
      const w = tf.tensor4d(rng.normals(fanIn * a.c, Math.sqrt(2 / fanIn)), [a.k, a.k, cin, a.c]);
      cin = a.c;
      return { w, stride: a.stride, poolBefore: a.poolBefore };
    });
    this.mu = tf.tensor(MU, [1, 1, 1, 3]);
    this.sigma = tf.tensor(SIGMA, [1, 1, 1, 3]);
  }

  /** The five ReLU maps, each unit-normalised over channels, [N, h, w, C]. */
  features(images: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      let x: tf.Tensor4D = tf.div(tf.sub(images, this.mu), this.sigma) as tf.Tensor4D;
      const maps: tf.Tensor4D[] = [];
      for (const l of this.layers) {
        if (l.poolBefore) x = tf.maxPool(x, 3, 2, "same");
        x = tf.relu(tf.conv2d(x, l.w, l.stride, "same"));
        maps.push(
          tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 3, true), 1e-10))) as tf.Tensor4D,
        );
      }
      return maps;
    });
  }

  /** Per-pair distances [N] between the images of `a` and `b` (same shape), already scaled. */
  distance(a: tf.Tensor4D, b: tf.Tensor4D, opts: { raw?: boolean } = {}): tf.Tensor1D {
    if (a.shape.join() !== b.shape.join()) {
      throw new RangeError(`distance: shapes [${a.shape}] and [${b.shape}] differ`);
    }
    return tf.tidy(() => this.distanceFromFeatures(this.features(a), this.features(b), opts));
  }

  /** As `distance`, from features computed once (for example of the source images). */
  distanceFromFeatures(
    fa: tf.Tensor4D[],
    fb: tf.Tensor4D[],
    opts: { raw?: boolean } = {},
  ): tf.Tensor1D {
    return tf.tidy(() => {
      const terms = fa.map((m, l) => tf.mean(tf.sum(tf.square(tf.sub(m, fb[l])), 3), [1, 2]));
      const total = tf.addN(terms);
      return (opts.raw ? total : tf.mul(total, this.cfg.scale)) as tf.Tensor1D;
    });
  }

  /** Raw per-layer distances [L][N], for reports. */
  layerDistances(a: tf.Tensor4D, b: tf.Tensor4D): number[][] {
    return tf.tidy(() => {
      const fa = this.features(a), fb = this.features(b);
      return fa.map((m, l) =>
        Array.from(tf.mean(tf.sum(tf.square(tf.sub(m, fb[l])), 3), [1, 2]).dataSync())
      );
    });
  }

  dispose(): void {
    tf.dispose([this.mu, this.sigma, ...this.layers.map((l) => l.w)]);
  }
}
