/**
 * Inverting images into W+ by optimisation (what ID-Style needs to edit a photograph, paper
 * Figure 7): minimise over w in W+
 *
 *   lambda_pix mean|G(w) - x| + lambda_low mean|pool4 G(w) - pool4 x| + lambda_per P(G(w), x)
 *     + lambda_id (1 - <psi(G(w)), psi(x)>)
 *     + lambda_w mean_r ||w_r - mean_r w_r||^2 / D + lambda_avg ||mean_r w_r - w_avg||^2 / D
 *
 * with P the perceptual distance over the world's evaluation-network features (synthface; with
 * the real generator, the identity network's features: `features`), psi the identity network, and
 * the two regularisers keeping W+ near W (rows near their mean) and near the W distribution's
 * centre. Adam, first `wSteps` steps in W (one w per image on every row), then in W+; the start
 * is the best of `candidates` w drawn from the mapping network (by the pixel term; seeded), or a
 * given W+ guess (an encoder's, for example; then only the W+ phase runs). Progress is shown; the result
 * is reproducible from the seed on one backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import { featureDistance } from "../metrics/perceptual.ts";
import { Progress } from "../util/progress.ts";

export interface InvertConfig {
  steps: number;
  /** Of the steps, how many first optimise one w per image (W, every row equal) before W+. */
  wSteps: number;
  lr: number;
  lambda: { pix: number; low: number; per: number; id: number; w: number; avg: number };
  /** Mapping samples tried for the start (0: start from w_avg). */
  candidates: number;
  /** Starts optimised per image (the best candidates); the lowest final objective wins. */
  restarts: number;
  seed: number;
}

/** Defaults, chosen on renders of training latents (not the test set the targets are measured on). */
export const INVERT: InvertConfig = {
  steps: 300,
  wSteps: 100,
  lr: 0.03,
  lambda: { pix: 1, low: 2, per: 0.5, id: 1, w: 0.05, avg: 0.001 },
  candidates: 256,
  restarts: 4,
  seed: 12345,
};

export interface InvertOptions {
  config?: Partial<InvertConfig>;
  /** A starting W+ [N, L, D] (an encoder's guess); default: the best mapping sample. */
  init?: tf.Tensor3D;
  /** Feature maps for the perceptual term (default the world's evaluation features). */
  features?: (images: tf.Tensor4D) => tf.Tensor4D[];
  silent?: boolean;
  /** Called every `every` steps with the step and the mean loss. */
  onStep?: (step: number, loss: number) => void;
}

export interface InvertResult {
  wPlus: tf.Tensor3D;
  /** Loss per logged step. */
  losses: { step: number; loss: number }[];
  seconds: number;
}

/**
 * The best `k` of `n` mapping samples for each image as W+ [N k, L, D] (image-major), by the coarse pixel term, the
 * perceptual term and the identity term (the objective's image terms, weighted as in `lambda`).
 * The start matters: an attribute the renderer draws through a ramp (glasses, grey hair) gives no
 * gradient while the start is outside its ramp, so the start must already show it.
 */
export function searchStart(
  world: World,
  images: tf.Tensor4D,
  n: number,
  seed: number,
  lambda: InvertConfig["lambda"] = INVERT.lambda,
  features: (images: tf.Tensor4D) => tf.Tensor4D[] = (img) => world.evalFeatures(img).maps,
  k = 1,
): tf.Tensor3D {
  const N = images.shape[0];
  if (n <= 0) {
    return tf.tidy(() =>
      world.toWPlus(tf.tile(tf.expandDims(world.wAvg, 0), [N, 1]) as tf.Tensor2D)
    );
  }
  return tf.tidy(() => {
    const w = world.mapping(world.sampleZ(n, seed)); // [n, D]
    const chunk = 64;
    const cand: { low: tf.Tensor4D; maps: tf.Tensor4D[]; id: tf.Tensor2D }[] = [];
    for (let s = 0; s < n; s += chunk) {
      const x = world.synthesize(world.toWPlus(tf.slice(w, [s, 0], [Math.min(chunk, n - s), -1])));
      cand.push({
        low: tf.avgPool(x, 4, 4, "valid") as tf.Tensor4D,
        maps: features(x),
        id: world.identity(x),
      });
    }
    const tLow = tf.avgPool(images, 4, 4, "valid") as tf.Tensor4D;
    const tMaps = features(images), tId = world.identity(images);
    const best: number[] = [];
    for (let i = 0; i < N; i++) {
      const scores: tf.Tensor1D[] = cand.map((c) => {
        const k = c.low.shape[0];
        const rep = (t: tf.Tensor4D) =>
          tf.tile(tf.slice(t, [i, 0, 0, 0], [1, -1, -1, -1]), [k, 1, 1, 1]) as tf.Tensor4D;
        const low = tf.mean(tf.abs(tf.sub(c.low, rep(tLow))), [1, 2, 3]);
        const per = featureDistance(c.maps, tMaps.map(rep));
        const id = tf.sub(1, tf.sum(tf.mul(c.id, tf.slice(tId, [i, 0], [1, -1])), 1));
        return tf.addN([
          tf.mul(low, lambda.low),
          tf.mul(per, lambda.per),
          tf.mul(id, lambda.id),
        ]) as tf.Tensor1D;
      });
      const order = tf.topk(tf.neg(tf.concat(scores)), Math.min(k, n)).indices.dataSync();
      for (let j = 0; j < k; j++) best.push(order[Math.min(j, order.length - 1)]);
    }
    return world.toWPlus(tf.gather(w, best));
  });
}

/** Inverts images [N, H, W, 3] in [-1, 1] (the world's resolution) into W+ [N, L, D]. */
export function invert(world: World, input: tf.Tensor4D, opts: InvertOptions = {}): InvertResult {
  const cfg = { ...INVERT, ...opts.config, lambda: { ...INVERT.lambda, ...opts.config?.lambda } };
  const [N, H, W] = input.shape;
  if (H !== world.resolution || W !== world.resolution) {
    throw new RangeError(
      `images: expected [N, ${world.resolution}, ${world.resolution}, 3] (the world's resolution), got [${input.shape}]`,
    );
  }
  if (!Number.isInteger(cfg.steps) || cfg.steps < 0) {
    throw new RangeError(`steps: expected a non-negative integer, got ${cfg.steps}`);
  }
  if (!Number.isInteger(cfg.restarts) || cfg.restarts < 1) {
    throw new RangeError(`restarts: expected a positive integer, got ${cfg.restarts}`);
  }
  const t0 = performance.now();
  const features = opts.features ?? ((img: tf.Tensor4D) => world.evalFeatures(img).maps);
  // K starts per image, optimised together: rows i K .. i K + K - 1 belong to image i.
  const K = opts.init ? 1 : cfg.restarts;
  const rowsOf = Array.from({ length: N * K }, (_, r) => Math.floor(r / K));
  const images = tf.gather(input, rowsOf) as tf.Tensor4D;
  const target = tf.tidy(() => ({ maps: features(images), id: world.identity(images) }));
  const lowTarget = tf.avgPool(images, 4, 4, "valid") as tf.Tensor4D; // the coarse term's target
  const start = opts.init
    ? tf.clone(opts.init)
    : searchStart(world, input, cfg.candidates, cfg.seed, cfg.lambda, features, K);
  const D = world.latentDim, L = world.numLayers;
  const lam = cfg.lambda;
  const progress = new Progress(`invert ${N} images${K > 1 ? ` x ${K} starts` : ""}`, cfg.steps, {
    unit: "steps",
    silent: opts.silent,
  });
  const losses: { step: number; loss: number }[] = [];
  /** The objective of each row, [N K]. */
  const perRow = (wp: tf.Tensor3D) =>
    tf.tidy(() => {
      const x = world.synthesize(wp);
      const pix = tf.mean(tf.abs(tf.sub(x, images)), [1, 2, 3]);
      const low = tf.mean(tf.abs(tf.sub(tf.avgPool(x, 4, 4, "valid"), lowTarget)), [1, 2, 3]);
      const per = featureDistance(features(x), target.maps);
      const id = tf.sub(1, tf.sum(tf.mul(world.identity(x), target.id), 1));
      const mean = tf.mean(wp, 1, true); // [N K, 1, D]
      const rows = tf.div(tf.mean(tf.sum(tf.square(tf.sub(wp, mean)), 2), 1), D);
      const avg = tf.div(tf.sum(tf.square(tf.sub(tf.squeeze(mean, [1]), world.wAvg)), 1), D);
      return tf.addN([
        tf.mul(pix, lam.pix),
        tf.mul(low, lam.low),
        tf.mul(per, lam.per),
        tf.mul(id, lam.id),
        tf.mul(rows, lam.w),
        tf.mul(avg, lam.avg),
      ]) as tf.Tensor1D;
    });
  const run = (v: tf.Variable, toWPlus: () => tf.Tensor3D, from: number, to: number) => {
    const opt = tf.train.adam(cfg.lr);
    for (let s = from; s < to; s++) {
      const l = opt.minimize(() => tf.mean(perRow(toWPlus())) as tf.Scalar, true, [v]);
      if (s % 10 === 0 || s === cfg.steps - 1) {
        const value = l!.dataSync()[0];
        losses.push({ step: s, loss: value });
        opts.onStep?.(s, value);
        progress.tick(1, `loss ${value.toFixed(4)}`);
      } else progress.tick(1);
      l?.dispose();
    }
    opt.dispose();
  };
  // Phase 1, in W: one w per row (the mean of the start's rows), every row of W+ equal.
  const wSteps = opts.init ? 0 : Math.min(cfg.wSteps, cfg.steps);
  let wPlusStart = start;
  if (wSteps > 0) {
    const w = tf.variable(tf.mean(start, 1));
    run(w, () => tf.tile(tf.expandDims(w, 1), [1, L, 1]) as tf.Tensor3D, 0, wSteps);
    wPlusStart = tf.tidy(() => tf.tile(tf.expandDims(w, 1), [1, L, 1]) as tf.Tensor3D);
    start.dispose();
    w.dispose();
  }
  // Phase 2, in W+.
  const wp = tf.variable(wPlusStart);
  wPlusStart.dispose();
  run(wp, () => wp as tf.Variable<tf.Rank.R3>, wSteps, cfg.steps);
  progress.finish();
  // The best start of each image.
  const final = perRow(wp as tf.Variable<tf.Rank.R3>).dataSync();
  const pick = Array.from({ length: N }, (_, i) => {
    let b = i * K;
    for (let j = i * K; j < (i + 1) * K; j++) if (final[j] < final[b]) b = j;
    return b;
  });
  const wPlus = tf.gather(wp, pick) as tf.Tensor3D;
  tf.dispose([wp, images, target.id, lowTarget, ...target.maps]);
  return { wPlus, losses, seconds: (performance.now() - t0) / 1000 };
}
