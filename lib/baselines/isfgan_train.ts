/**
 * ISF-GAN's training (their `core/solver.py`), in the synthface world:
 *
 *   D step   lambda_cls BCE_pw(D_cls(x), y_src) + BCE(D_src(x), 1) + BCE(D_src(G(M(w, z0, y_trg))), 0)
 *            + lambda_r1 (R / 256)^2 R1,   R1 = 0.5 mean_b ||d sum D_cls(x) / dx||^2
 *   G step   with w1 = M(w, z1, y_trg), x1 = G(w1), wc = M(w1, z2, y_src), xc = G(wc):
 *            lambda_cls BCE_pw(D_cls(x1), y_trg) + BCE(D_src(x1), 1) + lambda_nb mean ||w - w1||_F
 *            + |wc - w| + |xc - x| + P(xc, x) + P(x1, x) - lambda_ds |x1 - G(M(w, z3, y_trg))|
 *
 * x are renders of the training samples (the world's real images), y_trg the labels of a random
 * other training sample, BCE_pw a binary cross-entropy with positive weights neg/pos, D the
 * StarGAN-v2 discriminator (isfgan_discriminator.ts), P the attribute-agnostic LPIPS-form
 * distance (isfgan_perceptual.ts). Each step: D first, then the mapping; gradient norms clipped
 * at 1, then Adam with L2 weight decay 1e-5 (torch.optim.Adam), timm's cosine schedule with
 * linear warm-up from 5e-7, EMA of the mapping (used for editing).
 *
 * Monitoring: every `accuracyEvery` steps the class head's accuracy per attribute on renders of
 * held-out test samples (their labels), and how often the EMA mapping's edits reach their target
 * by the training classifier (monitoring only; no classifier enters the losses unless
 * `lambda.pretrainedCls` > 0, a labelled option outside their code). With `untilClassAccuracy`
 * the run goes on past `steps` (up to `maxSteps`) until the class head reaches it on every
 * attribute. Resumable: with `statePath` everything (mapping, EMA, discriminator, both Adams, the
 * step, the logs, the elapsed time) is written atomically every `checkpointEvery` steps and at the
 * end; the same options continue from it, repeating the uninterrupted run (each step's batch and
 * noise come from its own seed).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { IsfDiscriminator } from "./isfgan_discriminator.ts";
import { RandomLpips } from "./isfgan_perceptual.ts";
import { ISF_DEFAULT, IsfMapping } from "./isfgan_model.ts";
import { type IsfGanConfig, isfR1Weight } from "./isfgan_config.ts";
import { ClippedAdam, isfLearningRate } from "./isfgan_optim.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import { Progress } from "../util/progress.ts";
import { openStateFile } from "../io/state_file.ts";
import {
  CheckpointError,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../io/safetensors.ts";
import { editAccuracy } from "./isfgan_flipcost.ts";
import { targetSensitivity } from "./isfgan_diagnose.ts";
import { bce, type IsfNets, mappingTerms, weightedBce } from "./isfgan_losses.ts";
import { f32Entry } from "../io/tensor_input.ts";

/** Mean losses over a window of steps (D terms prefixed d_, mapping terms unprefixed). */
export interface IsfGanLossRow {
  step: number;
  d: number;
  g: number;
  [term: string]: number;
}

/** One accuracy check: the class head on test renders, and the EMA mapping's edits. */
export interface IsfGanCheck {
  step: number;
  /** Class head accuracy per attribute on `accuracyLatents` test renders (their labels). */
  classAccuracy: Record<string, number>;
  /** Fraction of the EMA mapping's edits (both directions) the training classifier calls a hit. */
  editAccuracy: Record<string, number> | null;
  /**
   * The EMA mapping on the edit check's latents (isfgan_diagnose.ts): how far it moves w for the
   * source code, and what flipping each attribute of the code adds. Absent in runs before it.
   */
  targetSensitivity?: { displacement: number; sensitivity: Record<string, number> } | null;
  seconds: number;
}

export interface IsfGanRunOptions {
  statePath?: string;
  /** Default 100. */
  checkpointEvery?: number;
  silent?: boolean;
  /** Called after every accuracy check (for logs). */
  onCheck?: (c: IsfGanCheck) => void;
  /** Stop after this step, saving the state (to split a run over processes, or to test resuming). */
  stopAfter?: number;
}

export interface IsfGanResult {
  /** The EMA mapping (the one that edits). */
  mapping: IsfMapping;
  losses: IsfGanLossRow[];
  checks: IsfGanCheck[];
  steps: number;
  resumedFrom: number;
  /** First check at which every attribute reached untilClassAccuracy (null: never / not asked). */
  reachedAt: number | null;
  seconds: number;
  discriminatorParameters: number;
}

const STATE_META = "idstyle.isfgan-state";

/** Positive weights neg / pos of each attribute over the training labels [N, M]. */
export function positiveWeights(labels: Float32Array, M: number): number[] {
  const n = labels.length / M;
  return Array.from({ length: M }, (_, m) => {
    let c = 0;
    for (let i = 0; i < n; i++) c += labels[i * M + m];
    return (n - c) / Math.max(c, 1);
  });
}

export async function trainIsfGan(
  world: SynthFace,
  dataset: Dataset,
  cfg: IsfGanConfig,
  run: IsfGanRunOptions = {},
): Promise<IsfGanResult> {
  const M = world.attributes.length, B = cfg.batch, R = ISF_DEFAULT.noiseDim;
  const split = dataset.train, n = split.latents.size;
  const horizon = cfg.untilClassAccuracy === null ? cfg.steps : cfg.maxSteps;
  if (cfg.maxSteps < cfg.steps) throw new RangeError(`maxSteps (${cfg.maxSteps}) < steps`);
  const isfCfg = {
    ...ISF_DEFAULT,
    hidden: cfg.mappingHidden,
    domains: M,
    residual: cfg.residual,
    seed: cfg.seed,
  };
  const mapping = new IsfMapping(isfCfg), ema = new IsfMapping(isfCfg);
  ema.copyFrom(mapping);
  const disc = new IsfDiscriminator({
    ...cfg.disc,
    resolution: cfg.resolution,
    domains: M,
    seed: deriveSeed(cfg.seed, "disc"),
  });
  const lpips = new RandomLpips(cfg.perceptual);
  const posWeight = tf.tensor1d(positiveWeights(split.labels, M));
  const dOpt = new ClippedAdam(disc.variables, cfg), gOpt = new ClippedAdam(mapping.variables, cfg);
  const r1Weight = isfR1Weight(cfg);
  const render = (w: tf.Tensor3D) => world.synthesize(w, { resolution: cfg.resolution });
  const nets: IsfNets = { world, cfg, mapping, disc, lpips, posWeight };
  // Held-out test renders for the class head's accuracy, rendered once.
  const nAcc = Math.min(cfg.accuracyLatents, dataset.test.latents.size);
  const accRows = Array.from({ length: nAcc }, (_, i) => i);
  const testImages: tf.Tensor4D[] = [];
  for (let s = 0; s < nAcc; s += 64) {
    const rows = accRows.slice(s, s + 64);
    testImages.push(tf.tidy(() => render(dataset.test.latents.batch(rows))));
  }
  const testLabels = dataset.test.labels.subarray(0, nAcc * M);

  let checksum = 0;
  for (let i = 0; i < split.w.length; i += 997) checksum += split.w[i];
  for (let i = 0; i < split.labels.length; i += 13) checksum += split.labels[i];
  const { steps: _s, untilClassAccuracy: _u, accuracyEvery: _a, ...keyCfg } = cfg;
  const key = JSON.stringify({ cfg: keyCfg, horizon, n, checksum: checksum.toFixed(3) });
  let losses: IsfGanLossRow[] = [], checks: IsfGanCheck[] = [];
  let window: Record<string, number>[] = [];
  let start = 0, priorSeconds = 0;
  if (run.statePath) {
    const opened = await openStateFile(run.statePath, STATE_META, key, "an ISF-GAN state");
    if (opened) {
      // deno-lint-ignore no-explicit-any
      const meta = opened.meta as any;
      const get = (name: string) => {
        const t = opened.file.tensors.get(name);
        return t ? { shape: t.shape, data: toFloat32(t, name) } : undefined;
      };
      assignList(mapping.variables, "map.", get, run.statePath);
      assignList(ema.variables, "ema.", get, run.statePath);
      disc.assign(get, run.statePath);
      dOpt.assign("adam.disc.", get, run.statePath, meta.dAdamStep);
      gOpt.assign("adam.map.", get, run.statePath, meta.gAdamStep);
      ({ step: start, losses, checks, window, seconds: priorSeconds } = meta);
    }
  }
  const t0 = performance.now();
  const seconds = () => priorSeconds + (performance.now() - t0) / 1000;
  const save = async (step: number) => {
    if (!run.statePath) return;
    const tensors: Record<string, TensorInput> = {
      ...listTensors(mapping.variables, "map."),
      ...listTensors(ema.variables, "ema."),
      ...disc.tensors("disc."),
      ...dOpt.tensors("adam.disc."),
      ...gOpt.tensors("adam.map."),
    };
    const meta = {
      key,
      step,
      dAdamStep: dOpt.t,
      gAdamStep: gOpt.t,
      losses,
      checks,
      window,
      seconds: seconds(),
    };
    await Deno.mkdir(run.statePath.replace(/\/[^/]*$/, ""), { recursive: true });
    await writeSafetensors(run.statePath, tensors, { [STATE_META]: JSON.stringify(meta) });
  };

  const sensitivityOf = (m: IsfMapping) => {
    const rows = Array.from({ length: cfg.editCheckLatents }, (_, i) => i);
    const w = dataset.test.latents.batch(rows);
    const t = targetSensitivity(m, w, dataset.test.labels.subarray(0, rows.length * M));
    w.dispose();
    return {
      displacement: t.displacement,
      sensitivity: Object.fromEntries(world.attributes.map((a, i) => [a, t.sensitivity[i]])),
    };
  };
  const check = (step: number): IsfGanCheck => {
    const hits = new Array(M).fill(0);
    testImages.forEach((img, k) => {
      const l = tf.tidy(() => disc.forward(img).cls.dataSync());
      for (let i = 0; i < img.shape[0]; i++) {
        for (let m = 0; m < M; m++) {
          if ((l[i * M + m] > 0 ? 1 : 0) === testLabels[(k * 64 + i) * M + m]) hits[m]++;
        }
      }
    });
    const c: IsfGanCheck = {
      step,
      classAccuracy: Object.fromEntries(world.attributes.map((a, m) => [a, hits[m] / nAcc])),
      editAccuracy: cfg.editCheckLatents > 0 ? editAccuracy(world, ema, dataset, cfg) : null,
      targetSensitivity: cfg.editCheckLatents > 0 ? sensitivityOf(ema) : null,
      seconds: seconds(),
    };
    run.onCheck?.(c);
    return c;
  };
  const reached = (c: IsfGanCheck | undefined) =>
    cfg.untilClassAccuracy === null ||
    (c !== undefined && Object.values(c.classAccuracy).every((a) => a >= cfg.untilClassAccuracy!));
  const done = () => {
    if (start >= horizon) return true;
    if (start < cfg.steps) return false;
    if (cfg.untilClassAccuracy === null) return true;
    const last = checks.at(-1);
    return last?.step === start && reached(last);
  };

  const progress = new Progress("train ISF-GAN", horizon, { unit: "steps", silent: run.silent });
  if (start > 0) progress.resume(start, `resumed at step ${start}`);
  const every = run.checkpointEvery ?? 100;
  const resumedFrom = start;
  const flush = (step: number) => {
    if (!window.length) return;
    const mean: IsfGanLossRow = { step, d: 0, g: 0 };
    for (const k of Object.keys(window[0])) {
      mean[k] = window.reduce((s, r) => s + r[k], 0) / window.length;
    }
    losses.push(mean);
    window = [];
  };
  for (let step = start; !done() && start < (run.stopAfter ?? Infinity); step++, start = step) {
    const rng = new Rng(deriveSeed(cfg.seed, `batch/${step}`));
    const rows = Array.from({ length: B }, () => rng.int(0, n - 1));
    const other = Array.from({ length: B }, () => rng.int(0, n - 1));
    const lab = (rs: number[]) =>
      tf.tensor2d(rs.flatMap((r) => Array.from(split.labels.subarray(r * M, (r + 1) * M))), [B, M]);
    const w = split.latents.batch(rows);
    const ySrc = lab(rows), yTrg = lab(other);
    const z = [0, 1, 2, 3].map(() => tf.tensor2d(rng.normals(B * R), [B, R]));
    const lr = isfLearningRate(cfg, step, horizon);
    const x = tf.tidy(() => render(w));
    // Discriminator step.
    const xFake = tf.tidy(() => render(mapping.forward(w, z[0], yTrg)));
    const dParts: Record<string, tf.Scalar> = {};
    const dLoss = tf.variableGrads(() =>
      tf.tidy(() => {
        let real: { cls: tf.Tensor2D; src: tf.Tensor1D } | null = null;
        const gx = tf.grad((xx: tf.Tensor) => {
          const o = disc.forward(xx as tf.Tensor4D);
          real = { cls: tf.keep(o.cls), src: tf.keep(o.src) };
          return tf.sum(o.cls);
        })(x);
        const { cls, src } = real!;
        const r1 = tf.mul(tf.mean(tf.sum(tf.square(gx), [1, 2, 3])), 0.5);
        const terms = {
          d_cls: tf.mul(weightedBce(cls, ySrc, posWeight), cfg.lambda.cls),
          d_real: bce(src, 1),
          d_fake: bce(disc.forward(xFake).src, 0),
          d_r1: tf.mul(r1, r1Weight),
        };
        tf.dispose([cls, src]); // the tape holds what the gradient needs
        for (const [k, v] of Object.entries(terms)) dParts[k] = tf.keep(v as tf.Scalar);
        return tf.addN(Object.values(terms)) as tf.Scalar;
      }), disc.variables);
    dOpt.apply(disc.variables.map((v) => dLoss.grads[v.name]), lr);
    // Mapping step.
    const parts: Record<string, tf.Scalar> = {};
    const gLoss = tf.variableGrads(() =>
      tf.tidy(() => {
        const terms = mappingTerms(nets, { w, x, ySrc, yTrg, z });
        for (const [k, v] of Object.entries(terms)) parts[k] = tf.keep(v as tf.Scalar);
        const plus = Object.entries(terms).filter(([k]) => k !== "ds").map(([, v]) => v);
        return tf.sub(tf.addN(plus), terms.ds) as tf.Scalar;
      }), mapping.variables);
    gOpt.apply(mapping.variables.map((v) => gLoss.grads[v.name]), lr);
    mapping.updateEma(ema, Math.min(cfg.emaBeta, cfg.emaWarmup ? (1 + step) / (10 + step) : 1));
    const row: Record<string, number> = {
      d: dLoss.value.dataSync()[0],
      g: gLoss.value.dataSync()[0],
    };
    for (const [k, v] of Object.entries({ ...dParts, ...parts })) row[k] = v.dataSync()[0];
    tf.dispose([w, ySrc, yTrg, ...z, x, xFake, dLoss.value, gLoss.value]);
    tf.dispose([dLoss.grads, gLoss.grads, dParts, parts]);
    if (!Number.isFinite(row.d) || !Number.isFinite(row.g)) {
      throw new Error(`ISF-GAN training: loss D ${row.d}, G ${row.g} at step ${step + 1}`);
    }
    window.push(row);
    const doneSteps = step + 1;
    if (doneSteps % cfg.logEvery === 0) flush(doneSteps);
    if (doneSteps % cfg.accuracyEvery === 0 || doneSteps === horizon) checks.push(check(doneSteps));
    const last = checks.at(-1);
    progress.tick(
      1,
      `D ${row.d.toFixed(2)} G ${row.g.toFixed(2)} cls ${row.cls.toFixed(2)}` +
        (last
          ? ` head ${Object.values(last.classAccuracy).map((a) => a.toFixed(2)).join("/")}`
          : ""),
    );
    if (doneSteps % every === 0) await save(doneSteps);
    if (step % 5 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  progress.finish();
  if (done()) flush(start); // a stopped run keeps its partial window in the state
  await save(start);
  const reachedAt = cfg.untilClassAccuracy === null
    ? null
    : checks.find((c) => reached(c))?.step ?? null;
  const discriminatorParameters = disc.countParameters();
  tf.dispose([...testImages, posWeight]);
  for (const x of [dOpt, gOpt, disc, lpips, mapping]) x.dispose();
  return {
    mapping: ema,
    losses,
    checks,
    steps: start,
    resumedFrom,
    reachedAt,
    seconds: seconds(),
    discriminatorParameters,
  };
}

function listTensors(vars: tf.Variable[], prefix: string): Record<string, TensorInput> {
  return Object.fromEntries(vars.map((v, i) => [
    `${prefix}${String(i).padStart(3, "0")}`,
    f32Entry(v),
  ]));
}

function assignList(
  vars: tf.Variable[],
  prefix: string,
  get: (name: string) => { shape: number[]; data: Float32Array } | undefined,
  source: string,
): void {
  vars.forEach((v, i) => {
    const name = `${prefix}${String(i).padStart(3, "0")}`;
    const t = get(name);
    if (!t || t.shape.join() !== v.shape.join()) {
      throw new CheckpointError(`${source}: ${name} missing or not of shape [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
  });
}
