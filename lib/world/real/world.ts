/**
 * The real world behind the World interface (DESIGN.md section 2.2): rosinality's StyleGAN2 from
 * the user's `.pt`, TreB1eN's IR-SE50 as the identity network (L_id and FRS), and the class head
 * of ISF-GAN's StarGAN-v2 discriminator as the attribute classifier (L_class), all natively in
 * tfjs so that gradients reach W+. The authors score at 256 px: the generator's 1024 output is
 * average-pooled to 256 before both networks, which is this world's default resolution.
 *
 * There is no oracle. Without a separate evaluation classifier the training classifier scores the
 * metrics too (the paper's setting); `scoredByTrainingClassifier` says so, and tables print it.
 */
import "../../backend.ts";
import * as tf from "@tensorflow/tfjs";
import type { World } from "../types.ts";
import { StyleGAN2 } from "../stylegan2/generator.ts";
import { readGeneratorWeights } from "../stylegan2/load.ts";
import { Rng } from "../../util/rng.ts";
import { assertShape, InputError } from "../../util/validate.ts";
import { sha256File } from "../../io/hash.ts";
import { readRealConfig, type RealWorldConfig } from "./config.ts";
import { IrSe, loadIrSe } from "./irse.ts";
import { loadStarGanClassifier, StarGanClassifier } from "./stargan_d.ts";

/** The project's attribute names, in the order of the authors' class head (Gender, Glasses, Age, Expression). */
export const REAL_ATTRIBUTES = ["gender", "glasses", "age", "smile"] as const;

/** The size the authors' classifier and identity loss see. */
export const SCORE_SIZE = 256;

export class StyleGAN2World implements World {
  readonly name = "stylegan2";
  readonly numLayers: number;
  readonly latentDim: number;
  readonly attributes = REAL_ATTRIBUTES;
  readonly resolution: number;
  readonly wAvg: tf.Tensor1D;
  readonly oracle = undefined;
  /** True when no separate evaluation classifier was given: metrics are by the training one. */
  readonly scoredByTrainingClassifier: boolean;

  constructor(
    readonly generator: StyleGAN2,
    readonly identityNet: IrSe,
    readonly trainClassifier: StarGanClassifier,
    readonly scoringClassifier: StarGanClassifier | null,
    readonly config: RealWorldConfig,
  ) {
    this.numLayers = generator.numLatents;
    this.latentDim = generator.styleDim;
    this.resolution = Math.min(SCORE_SIZE, generator.size);
    this.scoredByTrainingClassifier = scoringClassifier === null;
    this.wAvg = generator.latentAvg
      ? tf.clone(generator.latentAvg)
      : tf.tidy(() => tf.mean(generator.mapping(this.sampleZ(4096, 0)), 0) as tf.Tensor1D);
  }

  sampleZ(n: number, seed: number): tf.Tensor2D {
    return tf.tensor2d(new Rng(seed).normals(n * this.latentDim), [n, this.latentDim]);
  }

  mapping(z: tf.Tensor2D): tf.Tensor2D {
    return this.generator.mapping(z);
  }

  truncate(w: tf.Tensor2D, psi: number): tf.Tensor2D {
    return this.generator.truncate(w, psi, this.wAvg);
  }

  toWPlus(w: tf.Tensor2D): tf.Tensor3D {
    return this.generator.toWPlus(w);
  }

  /** W+ -> images [N, S, S, 3], S = opts.resolution or 256 (the 1024 output average-pooled). */
  synthesize(wPlus: tf.Tensor3D, opts: { resolution?: number } = {}): tf.Tensor4D {
    return this.generator.synthesize(wPlus, { size: opts.resolution ?? this.resolution });
  }

  classifier(images: tf.Tensor4D): tf.Tensor2D {
    return this.trainClassifier.logits(toScoreSize(images, "images"));
  }

  evalClassifier(images: tf.Tensor4D): tf.Tensor2D {
    return (this.scoringClassifier ?? this.trainClassifier).logits(toScoreSize(images, "images"));
  }

  identity(images: tf.Tensor4D): tf.Tensor2D {
    return this.identityNet.embed(toScoreSize(images, "images"));
  }

  /** The identity network's stage feature maps (the perceptual term of an inversion). */
  identityFeatures(images: tf.Tensor4D): tf.Tensor4D[] {
    return this.identityNet.features(toScoreSize(images, "images"));
  }

  /** The scoring classifier's intermediate feature maps (for the perceptual and Frechet distances). */
  evalFeatures(images: tf.Tensor4D): { maps: tf.Tensor4D[]; pooled: tf.Tensor2D } {
    return (this.scoringClassifier ?? this.trainClassifier).features(toScoreSize(images, "images"));
  }

  async provenance(): Promise<Record<string, string>> {
    const files: [string, string][] = [
      ["generator", this.config.generator],
      ["identity", this.config.identity],
      ["classifier", this.config.classifier],
    ];
    if (this.config.evalClassifier) files.push(["evalClassifier", this.config.evalClassifier]);
    const out: Record<string, string> = {};
    for (const [k, p] of files) {
      out[k] = `${p.split("/").pop()} sha256 ${(await sha256File(p)).slice(0, 16)}`;
    }
    if (this.scoredByTrainingClassifier) {
      out.scoring = "scored by the training classifier (no evalClassifier)";
    }
    return out;
  }

  dispose(): void {
    this.generator.dispose();
    this.identityNet.dispose();
    this.trainClassifier.dispose();
    this.scoringClassifier?.dispose();
    this.wAvg.dispose();
  }
}

/** Images at 256, or an integer multiple average-pooled to 256 (as the authors pool 1024). */
export function toScoreSize(images: tf.Tensor4D, name: string): tf.Tensor4D {
  assertShape(name, images, [null, null, null, 3]);
  const [, h, w] = images.shape;
  if (h !== w || h % SCORE_SIZE !== 0) {
    throw new InputError(
      `${name}: expected square images at ${SCORE_SIZE} px or a multiple (1024), got [${
        images.shape.join(", ")
      }]`,
    );
  }
  if (h === SCORE_SIZE) return images;
  const f = h / SCORE_SIZE;
  return tf.avgPool(images, f, f, "valid") as tf.Tensor4D;
}

/** Builds the real world from a config file (DESIGN.md section 2.2; see config.ts). */
export async function loadStyleGAN2World(configPath: string): Promise<StyleGAN2World> {
  const cfg = await readRealConfig(configPath);
  const generator = new StyleGAN2(await readGeneratorWeights(cfg.generator));
  const parts: { dispose(): void }[] = [generator];
  try {
    const identity = await loadIrSe(cfg.identity);
    parts.push(identity);
    const classifier = await loadStarGanClassifier(cfg.classifier);
    parts.push(classifier);
    const evalClassifier = cfg.evalClassifier
      ? await loadStarGanClassifier(cfg.evalClassifier)
      : null;
    return new StyleGAN2World(generator, identity, classifier, evalClassifier, cfg);
  } catch (err) {
    for (const p of parts) p.dispose();
    throw err;
  }
}
