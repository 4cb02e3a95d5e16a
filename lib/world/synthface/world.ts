/**
 * synthface: the embedded synthetic face world (DESIGN.md section 2.1), behind the World
 * interface. z [N, 512] -> mapping -> w -> W+ [N, 18, 512] -> factor values (factors.ts) ->
 * renderer (render.ts) -> images [N, H, W, 3] in [-1, 1]; plus the oracle (exact labels and
 * identity) and the evaluators trained on renders (checkpoints/synthface/).
 */
import "../../backend.ts"; // choose the backend (wasm, not tfjs's slow cpu default) whoever imports the world
import * as tf from "@tensorflow/tfjs";
import type { Oracle, World } from "../types.ts";
import { ConvNet } from "../evaluators/convnet.ts";
import { EVAL_CLASSIFIER, IDENTITY_NET, TRAIN_CLASSIFIER } from "../evaluators/specs.ts";
import { calibrate, loadCalibration, saveCalibration } from "./calibration.ts";
import { type FactorDesign, makeDesign } from "./design.ts";
import { type Calibration, FactorReadout } from "./factors.ts";
import { MappingNetwork, sampleZ } from "./mapping.ts";
import { renderFactors } from "./render.ts";
import { ATTRIBUTES, FACTORS, IDENTITY_FACTORS, WORLD } from "./spec.ts";
import { assertFinite, assertShape } from "../../util/validate.ts";
import { sha256File } from "../../io/hash.ts";
import { artifactPath } from "../../paths.ts";

/** The shipped world's seed. */
export const SYNTHFACE_SEED = 2023;

/** Where the shipped world's calibration and evaluators live. */
export const SYNTHFACE_DIR = artifactPath("checkpoints/synthface/");

export const EVALUATOR_FILES = {
  classifier: "attr_train.safetensors",
  evalClassifier: "attr_eval.safetensors",
  identity: "identity.safetensors",
} as const;

export interface SynthFaceOptions {
  seed?: number;
  /** Default render size. */
  resolution?: number;
  /** Directory of the calibration and evaluators. */
  dir?: string;
  /** Load the evaluators (default true), or only some; without them only the generator and oracle work. */
  evaluators?: boolean | (keyof Evaluators)[];
}

export interface Evaluators {
  classifier: ConvNet;
  evalClassifier: ConvNet;
  identity: ConvNet;
}

const SPECS = {
  classifier: TRAIN_CLASSIFIER,
  evalClassifier: EVAL_CLASSIFIER,
  identity: IDENTITY_NET,
} as const;

export class SynthFace implements World {
  readonly name = "synthface";
  readonly numLayers = WORLD.numLayers;
  readonly latentDim = WORLD.latentDim;
  readonly attributes = ATTRIBUTES;
  readonly factorNames = FACTORS.map((f) => f.name);
  readonly wAvg: tf.Tensor1D;
  readonly oracle: Oracle;
  private readonly idCols: tf.Tensor1D;
  private readonly attrCols: tf.Tensor1D;
  private readonly idMean: tf.Tensor2D;
  private readonly idStd: tf.Tensor2D;

  constructor(
    readonly seed: number,
    readonly resolution: number,
    readonly mappingNet: MappingNetwork,
    readonly design: FactorDesign,
    readonly calibration: Calibration,
    readonly readout: FactorReadout,
    private nets: Partial<Evaluators>,
  ) {
    this.wAvg = tf.tensor1d(calibration.wAvg);
    this.idCols = tf.tensor1d(IDENTITY_FACTORS.map((n) => this.factorNames.indexOf(n)), "int32");
    this.attrCols = tf.tensor1d(ATTRIBUTES.map((n) => this.factorNames.indexOf(n)), "int32");
    this.idMean = tf.tensor2d(calibration.identityMean, [1, IDENTITY_FACTORS.length]);
    this.idStd = tf.tensor2d(calibration.identityStd, [1, IDENTITY_FACTORS.length]);
    this.oracle = {
      attributeScores: (wPlus) =>
        tf.tidy(() => tf.gather(this.factors(wPlus), this.attrCols, 1) as tf.Tensor2D),
      labels: (wPlus) =>
        tf.tidy(() =>
          tf.cast(tf.greater(this.oracle.attributeScores(wPlus), 0.5), "float32") as tf.Tensor2D
        ),
      identity: (wPlus) =>
        tf.tidy(() => tf.gather(this.factors(wPlus), this.idCols, 1) as tf.Tensor2D),
      identitySimilarity: (a, b) =>
        tf.tidy(() => {
          const za = tf.div(tf.sub(a, this.idMean), this.idStd),
            zb = tf.div(tf.sub(b, this.idMean), this.idStd);
          const dot = tf.sum(tf.mul(za, zb), 1);
          return tf.div(dot, tf.mul(tf.norm(za, 2, 1), tf.norm(zb, 2, 1))) as tf.Tensor1D;
        }),
    };
  }

  sampleZ(n: number, seed: number): tf.Tensor2D {
    return sampleZ(n, seed, this.latentDim);
  }

  mapping(z: tf.Tensor2D): tf.Tensor2D {
    assertShape("z", z, [null, this.latentDim]);
    assertFinite("z", z);
    return this.mappingNet.forward(z);
  }

  truncate(w: tf.Tensor2D, psi: number): tf.Tensor2D {
    return tf.tidy(() => tf.add(this.wAvg, tf.mul(tf.sub(w, this.wAvg), psi)) as tf.Tensor2D);
  }

  toWPlus(w: tf.Tensor2D): tf.Tensor3D {
    assertShape("w", w, [null, this.latentDim]);
    return tf.tidy(() => tf.tile(tf.expandDims(w, 1), [1, this.numLayers, 1]) as tf.Tensor3D);
  }

  /** Index of an attribute in every classifier's logits; a clear error for an unknown name. */
  attributeIndex(name: string): number {
    const i = this.attributes.indexOf(name);
    if (i < 0) {
      throw new RangeError(
        `attribute: unknown name "${name}"; expected one of ${this.attributes.join(", ")}`,
      );
    }
    return i;
  }

  /** Factor values in (0, 1), [N, F] (the order of `factorNames`). */
  factors(wPlus: tf.Tensor3D): tf.Tensor2D {
    assertShape("wPlus", wPlus, [null, this.numLayers, this.latentDim]);
    assertFinite("wPlus", wPlus);
    return tf.tidy(() => this.readout.forward(wPlus).values);
  }

  /** Renders factor values [N, F] directly (for evaluator training and figures). */
  renderFactors(values: tf.Tensor2D, resolution = this.resolution): tf.Tensor4D {
    assertShape("values", values, [null, FACTORS.length]);
    if (!Number.isInteger(resolution) || resolution < 8 || resolution > 1024) {
      throw new RangeError(`resolution: expected an integer in 8..1024, got ${resolution}`);
    }
    return renderFactors(values, resolution);
  }

  synthesize(wPlus: tf.Tensor3D, opts: { resolution?: number } = {}): tf.Tensor4D {
    return tf.tidy(() => renderFactors(this.factors(wPlus), opts.resolution ?? this.resolution));
  }

  /** An evaluator network; a clear error when it was not loaded. */
  net(name: keyof Evaluators): ConvNet {
    const n = this.nets[name];
    if (!n) {
      throw new Error(
        `synthface: the ${name} network is not loaded; it ships in checkpoints/synthface/ (retrain with deno task train-evaluators)`,
      );
    }
    return n;
  }

  get evaluators(): Evaluators {
    return {
      classifier: this.net("classifier"),
      evalClassifier: this.net("evalClassifier"),
      identity: this.net("identity"),
    };
  }

  /** Directory the evaluators were loaded from (loadSynthFace sets it). */
  sourceDir = SYNTHFACE_DIR;

  async provenance(): Promise<Record<string, string>> {
    return { identity: await identityProvenance(this.sourceDir) };
  }

  setEvaluators(nets: Partial<Evaluators>): void {
    this.nets = { ...this.nets, ...nets };
  }

  classifier(images: tf.Tensor4D): tf.Tensor2D {
    return this.net("classifier").predict(images);
  }

  evalClassifier(images: tf.Tensor4D): tf.Tensor2D {
    return this.net("evalClassifier").predict(images);
  }

  identity(images: tf.Tensor4D): tf.Tensor2D {
    return this.net("identity").predict(images);
  }

  evalFeatures(images: tf.Tensor4D): { maps: tf.Tensor4D[]; pooled: tf.Tensor2D } {
    return tf.tidy(() => {
      const o = this.net("evalClassifier").forward(images);
      return { maps: o.maps, pooled: o.penultimate };
    });
  }
}

/** The world of a seed: calibration from `dir` (computed and saved there if missing), evaluators. */
export async function loadSynthFace(opts: SynthFaceOptions = {}): Promise<SynthFace> {
  const seed = opts.seed ?? SYNTHFACE_SEED;
  const dir = opts.dir ?? SYNTHFACE_DIR;
  const mapping = new MappingNetwork(seed);
  const design = makeDesign(seed);
  const calPath = `${dir.replace(/\/$/, "")}/world.safetensors`;
  let cal = await loadCalibration(calPath, seed);
  if (!cal) {
    cal = calibrate(seed, mapping, design);
    await Deno.mkdir(dir, { recursive: true });
    await saveCalibration(calPath, cal);
  }
  const wanted = opts.evaluators === false
    ? []
    : opts.evaluators === true || opts.evaluators === undefined
    ? (Object.keys(SPECS) as (keyof Evaluators)[])
    : opts.evaluators;
  const nets: Partial<Evaluators> = {};
  const base = dir.replace(/\/$/, "");
  for (const name of wanted) {
    nets[name] = await ConvNet.load(`${base}/${EVALUATOR_FILES[name]}`, SPECS[name]);
  }
  const world = new SynthFace(
    seed,
    opts.resolution ?? 64,
    mapping,
    design,
    cal,
    new FactorReadout(design, cal),
    nets,
  );
  world.sourceDir = dir;
  return world;
}

/** Which identity network a run trains against: a hash of the shipped weights and their recorded AUC. */
export async function identityProvenance(dir = SYNTHFACE_DIR): Promise<string> {
  const path = `${dir.replace(/\/$/, "")}/${EVALUATOR_FILES.identity}`;
  try {
    const hex = await sha256File(path);
    const metrics = JSON.parse(
      await Deno.readTextFile(path.replace(".safetensors", ".metrics.json")),
    );
    return `synthface/${EVALUATOR_FILES.identity} sha256 ${
      hex.slice(0, 16)
    }, held-out verification AUC ${Number(metrics.heldOut?.rocAuc).toFixed(4)}`;
  } catch (err) {
    return `unknown (${(err as Error).message.split("\n")[0]})`;
  }
}
