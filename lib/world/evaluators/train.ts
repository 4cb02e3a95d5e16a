/**
 * Training and checking the synthface evaluators on renders:
 *
 * - attribute classifiers: binary cross-entropy against the oracle labels (value > 0.5), batches
 *   half natural, half shuffled (data.ts); accuracy on 2,000 held-out renders of style-mixed
 *   latents from another seed;
 * - identity network: an additive angular margin (ArcFace) loss over identity classes, batches of
 *   several renders per identity; verification ROC AUC on identities never seen in training.
 *
 * Adam with a cosine-decayed learning rate; every draw from a seed.
 */
import * as tf from "@tensorflow/tfjs";
import { ConvNet, type NetSpec } from "./convnet.ts";
import { FactorPool } from "./data.ts";
import type { SynthFace } from "../synthface/world.ts";
import { ATTRIBUTES, FACTORS } from "../synthface/spec.ts";
import { deriveSeed, Rng, type RngState } from "../../util/rng.ts";
import { Progress } from "../../util/progress.ts";
import { openStateFile } from "../../io/state_file.ts";
import { rocAuc } from "../../metrics/roc.ts";
import { bceWithLogits } from "../../losses/image.ts";
import {
  CheckpointError,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../../io/safetensors.ts";

export interface TrainOptions {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** Render resolution of training images. */
  resolution?: number;
  silent?: boolean;
}

const ATTR_COLS = ATTRIBUTES.map((n) => FACTORS.findIndex((f) => f.name === n));

function cosineLr(lr: number, step: number, steps: number): number {
  return 1e-2 * lr + 0.5 * (lr - 1e-2 * lr) * (1 + Math.cos((Math.PI * step) / steps));
}

/** Renders factor rows [n, F] without keeping any gradient state. */
function render(world: SynthFace, values: Float32Array, resolution: number): tf.Tensor4D {
  return tf.tidy(() =>
    world.renderFactors(
      tf.tensor2d(values, [values.length / FACTORS.length, FACTORS.length]),
      resolution,
    )
  );
}

function labelsOf(values: Float32Array): tf.Tensor2D {
  const n = values.length / FACTORS.length;
  const out = new Float32Array(n * ATTR_COLS.length);
  for (let i = 0; i < n; i++) {
    ATTR_COLS.forEach((
      c,
      m,
    ) => (out[i * ATTR_COLS.length + m] = values[i * FACTORS.length + c] > 0.5 ? 1 : 0));
  }
  return tf.tensor2d(out, [n, ATTR_COLS.length]);
}

export interface ClassifierMetrics {
  accuracy: Record<string, number>;
  meanAccuracy: number;
  heldOut: number;
  trainSeconds: number;
  steps: number;
  batch: number;
}

export async function trainClassifier(
  world: SynthFace,
  spec: NetSpec,
  opts: TrainOptions,
): Promise<{ net: ConvNet; losses: number[] }> {
  const res = opts.resolution ?? 64;
  const net = new ConvNet(spec);
  const pool = FactorPool.build(world, 16384, deriveSeed(opts.seed, "pool"));
  const rng = new Rng(deriveSeed(opts.seed, "batches"));
  const optimizer = tf.train.adam(opts.lr);
  const progress = new Progress(`train ${spec.name}`, opts.steps, {
    unit: "steps",
    silent: opts.silent,
  });
  const losses: number[] = [];
  for (let step = 0; step < opts.steps; step++) {
    const half = opts.batch >> 1;
    const values = new Float32Array(opts.batch * FACTORS.length);
    values.set(pool.natural(half, rng), 0);
    values.set(pool.shuffled(opts.batch - half, rng), half * FACTORS.length);
    const images = render(world, values, res);
    const labels = labelsOf(values);
    (optimizer as unknown as { learningRate: number }).learningRate = cosineLr(
      opts.lr,
      step,
      opts.steps,
    );
    const loss = optimizer.minimize(
      () =>
        tf.mean(bceWithLogits(net.forward(images, { training: true }).out, labels)) as tf.Scalar,
      true,
      net.variables,
    )!;
    net.commitStats();
    losses.push(loss.dataSync()[0]);
    tf.dispose([images, labels, loss]);
    const recent = losses.slice(-50);
    progress.tick(1, `loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)}`);
    if (step % 20 === 0) await new Promise((r) => setTimeout(r, 0)); // let Ctrl-C and displays through
  }
  progress.finish();
  optimizer.dispose();
  return { net, losses };
}

/** Held-out renders of style-mixed latents from another seed: factor values and images. */
export function heldOutValues(world: SynthFace, n: number, seed: number): Float32Array {
  return FactorPool.build(world, n, seed).values;
}

export function evaluateClassifier(
  world: SynthFace,
  net: ConvNet,
  values: Float32Array,
  resolution = 64,
): Record<string, number> {
  const n = values.length / FACTORS.length, M = ATTR_COLS.length;
  const correct = new Array(M).fill(0);
  for (let i = 0; i < n; i += 200) {
    const slice = values.subarray(i * FACTORS.length, Math.min(n, i + 200) * FACTORS.length);
    const pred = tf.tidy(() =>
      tf.greater(net.predict(render(world, slice, resolution)), 0).dataSync()
    );
    const truth = labelsOf(slice);
    const t = truth.dataSync();
    truth.dispose();
    for (let k = 0; k < pred.length; k++) if ((pred[k] ? 1 : 0) === t[k]) correct[k % M]++;
  }
  return Object.fromEntries(ATTRIBUTES.map((a, m) => [a, correct[m] / n]));
}

/** ArcFace logits: s cos(theta + m) for the target class, s cos(theta) for the others. */
export function arcFaceLogits(
  embeddings: tf.Tensor2D,
  weights: tf.Tensor2D,
  targets: tf.Tensor2D,
  s: number,
  m: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const w = tf.div(weights, tf.sqrt(tf.add(tf.sum(tf.square(weights), 0, true), 1e-12)));
    const cos = tf.clipByValue(tf.matMul(embeddings, w), -1 + 1e-6, 1 - 1e-6);
    const sin = tf.sqrt(tf.sub(1, tf.square(cos)));
    let phi = tf.sub(tf.mul(cos, Math.cos(m)), tf.mul(sin, Math.sin(m)));
    // Past theta = pi - m, cos(theta + m) is no longer decreasing: fall back to cos - m sin(m).
    const keep = tf.step(tf.sub(cos, Math.cos(Math.PI - m))); // 0/1 with a zero gradient (Greater has none)
    phi = tf.add(tf.mul(keep, phi), tf.mul(tf.sub(1, keep), tf.sub(cos, m * Math.sin(m))));
    return tf.mul(tf.add(cos, tf.mul(targets, tf.sub(phi, cos))), s) as tf.Tensor2D;
  });
}

/** Width of a network's output: the units of its last dense layer. */
export function embeddingWidth(spec: NetSpec): number {
  const dense = spec.layers.filter((l) => l.kind === "dense");
  if (!dense.length) throw new Error(`${spec.name}: no dense layer`);
  return (dense[dense.length - 1] as { units: number }).units;
}

export interface IdentityOptions extends TrainOptions {
  identities: number;
  variants: number;
  scale: number;
  margin: number;
  /** Fraction of the steps over which the margin ramps linearly from 0 to `margin` (default 0). */
  marginWarmup?: number;
  /**
   * Standard deviation of the ArcFace head's initial entries (default 1). Only the direction of
   * each class column counts, and Adam's steps have a fixed size per entry, so a smaller scale
   * turns the class centres faster.
   */
  headInitStd?: number;
}

/** Resumable, monitored identity training (long: over an hour of one core). */
export interface IdentityRunOptions {
  /** State file (network, ArcFace head, Adam moments, step, history), written atomically every `checkpointEvery` steps and resumed from when it exists with the same options. */
  statePath?: string;
  /** Default 250. */
  checkpointEvery?: number;
  /** Verification on validation identities (another seed than the test identities) every `every` steps. */
  validation?: { seed: number; identities: number; every: number };
  /** Stop after this step (saving the state), to split a run over several processes. */
  until?: number;
  /** Start from this network's weights (a previous phase) instead of the spec's initialisation. */
  init?: ConvNet;
}

export interface ValidationPoint {
  step: number;
  rocAuc: number;
  meanCosSame: number;
  meanCosDifferent: number;
}

export interface IdentityRun {
  net: ConvNet;
  /** One loss per step, including the steps of earlier (resumed) processes. */
  losses: number[];
  validation: ValidationPoint[];
  /** Step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Training seconds summed over every process of the run. */
  trainSeconds: number;
}

const STATE_META = "idstyle.identity-state";

export async function trainIdentity(
  world: SynthFace,
  spec: NetSpec,
  opts: IdentityOptions,
  run: IdentityRunOptions = {},
): Promise<IdentityRun> {
  const res = opts.resolution ?? 64;
  const net = new ConvNet(spec);
  if (run.init) {
    for (const [k, v] of net.params) {
      const src = run.init.params.get(k);
      if (!src || src.shape.join() !== v.shape.join()) {
        throw new CheckpointError(
          `init: the network has no parameter "${k}" of shape [${v.shape}]`,
        );
      }
      v.assign(src);
    }
  }
  const others = FactorPool.build(world, 16384, deriveSeed(opts.seed, "others"));
  const ids = FactorPool.build(world, opts.identities, deriveSeed(opts.seed, "identities"));
  const rng = new Rng(deriveSeed(opts.seed, "batches"));
  const embDim = embeddingWidth(spec);
  const head = tf.variable(
    tf.tensor2d(
      new Rng(deriveSeed(opts.seed, "head")).normals(
        embDim * opts.identities,
        opts.headInitStd ?? 1,
      ),
      [
        embDim,
        opts.identities,
      ],
    ),
  );
  const optimizer = tf.train.adam(opts.lr);
  const trainable = [...net.variables, head];
  const perBatch = Math.max(1, Math.floor(opts.batch / opts.variants));
  const every = run.checkpointEvery ?? 250;
  const key = JSON.stringify({ spec, opts: { ...opts, silent: undefined }, init: !!run.init });

  let losses: number[] = [];
  let validation: ValidationPoint[] = [];
  let start = 0, priorSeconds = 0;
  if (run.statePath) {
    const resumed = await loadIdentityState(run.statePath, key, net, head, optimizer);
    if (resumed) {
      ({ step: start, losses, validation, seconds: priorSeconds } = resumed);
      rng.setState(resumed.rng);
    }
  }
  const t0 = performance.now();
  const seconds = () => priorSeconds + (performance.now() - t0) / 1000;
  const save = async (step: number) => {
    if (!run.statePath) return;
    const tensors: Record<string, TensorInput> = {};
    const f32 = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
    for (const [k, v] of net.params) {
      tensors[`net.${k}`] = { dtype: "F32", shape: v.shape, data: f32(v) };
    }
    tensors.head = { dtype: "F32", shape: head.shape, data: f32(head) };
    const weights = await optimizer.getWeights();
    weights.forEach((w, i) =>
      tensors[`adam.${i}`] = { dtype: "F32", shape: w.tensor.shape, data: f32(w.tensor) }
    );
    const meta = {
      key,
      step,
      losses,
      validation,
      seconds: seconds(),
      adam: weights.length,
      rng: rng.getState(),
    };
    await writeSafetensors(run.statePath, tensors, { [STATE_META]: JSON.stringify(meta) });
  };

  const progress = new Progress(`train ${spec.name}`, opts.steps, {
    unit: "steps",
    silent: opts.silent,
  });
  if (start > 0) progress.resume(start, `resumed at step ${start}`);
  const end = Math.min(opts.steps, run.until ?? opts.steps);
  for (let step = start; step < end; step++) {
    const chosen = Array.from({ length: perBatch }, () => rng.int(0, opts.identities - 1));
    const values = ids.identityVariants(chosen, opts.variants, others, rng);
    const images = render(world, values, res);
    const onehot = tf.oneHot(
      tf.tensor1d(chosen.flatMap((c) => new Array(opts.variants).fill(c)), "int32"),
      opts.identities,
    ).toFloat() as tf.Tensor2D;
    (optimizer as unknown as { learningRate: number }).learningRate = cosineLr(
      opts.lr,
      step,
      opts.steps,
    );
    const warm = (opts.marginWarmup ?? 0) * opts.steps;
    const margin = warm > 0 ? opts.margin * Math.min(1, step / warm) : opts.margin;
    const loss = optimizer.minimize(
      () => {
        const logits = arcFaceLogits(
          net.forward(images, { training: true }).out,
          head,
          onehot,
          opts.scale,
          margin,
        );
        return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
      },
      true,
      trainable,
    )!;
    net.commitStats();
    losses.push(loss.dataSync()[0]);
    tf.dispose([images, onehot, loss]);
    const done = step + 1;
    if (run.validation && (done % run.validation.every === 0 || done === opts.steps)) {
      const v = evaluateIdentity(world, net, run.validation.seed, run.validation.identities);
      validation.push({
        step: done,
        rocAuc: v.rocAuc,
        meanCosSame: v.meanCosSame,
        meanCosDifferent: v.meanCosDifferent,
      });
    }
    if (done % every === 0 && done < end) await save(done);
    const recent = losses.slice(-50);
    const last = validation.at(-1);
    progress.tick(
      1,
      `loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)}` +
        (last ? `  val AUC ${last.rocAuc.toFixed(4)} @${last.step}` : ""),
    );
    if (step % 20 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  progress.finish();
  await save(end);
  optimizer.dispose();
  head.dispose();
  return { net, losses, validation, resumedFrom: start, trainSeconds: seconds() };
}

/** Restores a saved identity run into fresh variables; null when there is no state file. */
async function loadIdentityState(
  path: string,
  key: string,
  net: ConvNet,
  head: tf.Variable,
  optimizer: tf.AdamOptimizer,
): Promise<
  {
    step: number;
    losses: number[];
    validation: ValidationPoint[];
    seconds: number;
    rng: RngState;
  } | null
> {
  const opened = await openStateFile(path, STATE_META, key, "an identity training state");
  if (!opened) return null;
  const { file } = opened;
  // deno-lint-ignore no-explicit-any
  const meta = opened.meta as any;
  const tensor = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new CheckpointError(`${path}: missing tensor "${name}"`);
    return tf.tensor(toFloat32(t, name), t.shape);
  };
  for (const [k, v] of net.params) v.assign(tensor(`net.${k}`));
  head.assign(tensor("head"));
  const fresh = await optimizer.getWeights();
  if (fresh.length <= 1) {
    // Adam creates its moments on the first update (until then getWeights is [iterations]);
    // setWeights takes [iterations, m..., v...] in the order it applies them.
    await optimizer.setWeights(
      Array.from({ length: meta.adam }, (_, i) => ({
        name: i === 0 ? "iter" : `w${i}`,
        tensor: tensor(`adam.${i}`),
      })),
    );
  }
  return meta;
}

export interface IdentityMetrics {
  rocAuc: number;
  meanCosSame: number;
  meanCosDifferent: number;
  identities: number;
  variants: number;
  samePairs: number;
  differentPairs: number;
}

/** Verification on identities never seen in training: all same-identity pairs vs random pairs. */
export function evaluateIdentity(
  world: SynthFace,
  net: ConvNet,
  seed: number,
  identities = 300,
  variants = 4,
  resolution = 64,
): IdentityMetrics {
  const others = FactorPool.build(world, 4096, deriveSeed(seed, "others"));
  const ids = FactorPool.build(world, identities, deriveSeed(seed, "identities"));
  const rng = new Rng(deriveSeed(seed, "pairs"));
  const all = Array.from({ length: identities }, (_, i) => i);
  const values = ids.identityVariants(all, variants, others, rng);
  const n = identities * variants;
  const E = embeddingWidth(net.spec);
  const emb: Float32Array = new Float32Array(n * E);
  for (let i = 0; i < n; i += 200) {
    const e = tf.tidy(() =>
      net.predict(
        render(
          world,
          values.subarray(i * FACTORS.length, Math.min(n, i + 200) * FACTORS.length),
          resolution,
        ),
      )
    );
    emb.set(e.dataSync(), i * E);
    e.dispose();
  }
  const cos = (a: number, b: number) => {
    let s = 0;
    for (let k = 0; k < E; k++) s += emb[a * E + k] * emb[b * E + k];
    return s;
  };
  const same: number[] = [], diff: number[] = [];
  for (let id = 0; id < identities; id++) {
    for (let a = 0; a < variants; a++) {
      for (let b = a + 1; b < variants; b++) same.push(cos(id * variants + a, id * variants + b));
    }
  }
  while (diff.length < 4 * same.length) {
    const a = rng.int(0, n - 1), b = rng.int(0, n - 1);
    if (Math.floor(a / variants) !== Math.floor(b / variants)) diff.push(cos(a, b));
  }
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  return {
    rocAuc: rocAuc(same, diff),
    meanCosSame: mean(same),
    meanCosDifferent: mean(diff),
    identities,
    variants,
    samePairs: same.length,
    differentPairs: diff.length,
  };
}
