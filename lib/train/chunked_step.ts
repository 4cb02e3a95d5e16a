/**
 * The training step with the image losses computed a few renders at a time, for generators whose
 * gradient tape does not fit in memory at once (the real StyleGAN2 renders (M + 1) B images per
 * step; tfjs-wasm's heap stops at 4 GB). Exact, by the chain rule at the latent boundary:
 *
 *   1. the edited latents E [K B, L, D] and the source W+, without a tape;
 *   2. per chunk, without a tape: the classifier's logits and the identity embeddings of the renders;
 *   3. the image terms as a function of those outputs: their gradient g_F (small);
 *   4. per chunk, with a tape over that chunk only: g_E = d(sum F(E_c) * g_F,c) / dE_c;
 *   5. one pass through the editor: grad of latent terms + sum(E(theta) * g_E).
 *
 * The generator runs twice per render (steps 2 and 4), so a step costs about 1.5x the one-graph
 * step's rendering; memory is one chunk's tape. The result equals `trainStep` (tested).
 */
import * as tf from "@tensorflow/tfjs";
import { LOSS_NAMES, type LossConfig, type LossName } from "../model/config.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import {
  editorLosses,
  featureTerms,
  type ImageModels,
  imagePlan,
  type LossBatch,
  renderedLatents,
} from "../losses/total.ts";
import type { AdaBelief } from "../optim/adabelief.ts";
import type { StepLosses } from "./step.ts";

type Feats = { logits: tf.Tensor2D | null; emb: tf.Tensor2D | null };

export function trainStepChunked(
  editor: IDStyleEditor,
  optimizer: AdaBelief,
  batch: LossBatch,
  loss: LossConfig,
  step: number,
  lr: number,
  models: ImageModels,
  chunk: number,
): StepLosses {
  if (!(Number.isInteger(chunk) && chunk >= 1)) {
    throw new RangeError(`imageChunk: expected a positive integer, got ${chunk}`);
  }
  const M = editor.attributes.length;
  const plan = imagePlan(loss, M, step);
  const w = loss.weights;
  const useClass = w.class > 0, useId = plan.idSet.length > 0;
  const features = (x: tf.Tensor3D): Feats => {
    const img = models.generator(x);
    return {
      logits: useClass ? models.classifier(img) : null,
      emb: useId ? models.identity(img) : null,
    };
  };
  const inChunks = <T>(x: tf.Tensor3D, f: (c: tf.Tensor3D) => T): T[] => {
    const out: T[] = [];
    for (let i = 0; i < x.shape[0]; i += chunk) {
      const n = Math.min(chunk, x.shape[0] - i);
      out.push(f(tf.slice(x, [i, 0, 0], [n, x.shape[1], x.shape[2]])));
    }
    return out;
  };
  const latents = tf.tidy(() =>
    renderedLatents(editor.forward(batch.wPlus, batch.attr).edited, plan)
  );
  // 2. the networks' outputs, chunk by chunk, no tape
  const parts: Feats[] = inChunks(latents, (c) => {
    const [l, e] = tf.tidy(() => {
      const f = features(c);
      return [f.logits ?? tf.scalar(0), f.emb ?? tf.scalar(0)];
    });
    c.dispose();
    if (!useClass) l.dispose();
    if (!useId) e.dispose();
    return { logits: useClass ? l as tf.Tensor2D : null, emb: useId ? e as tf.Tensor2D : null };
  });
  const cat = (k: keyof Feats) =>
    parts[0][k] ? tf.concat(parts.map((p) => p[k]!), 0) as tf.Tensor2D : null;
  const logits = cat("logits"), emb = cat("emb");
  tf.dispose(parts.flatMap((p) => [p.logits, p.emb].filter((t): t is tf.Tensor2D => !!t)));
  const source = useId
    ? tf.tidy(() =>
      tf.concat(
        inChunks(batch.wPlus, (c) => models.identity(models.generator(c))),
        0,
      ) as tf.Tensor2D
    )
    : null;
  // 3. the image terms and their gradient with respect to the outputs
  const inputs = [logits, emb].filter((t): t is tf.Tensor2D => !!t);
  let imageTerms: Partial<Record<LossName, tf.Scalar>> = {};
  const imageTotal = (...xs: tf.Tensor[]) => {
    let k = 0;
    const l = useClass ? xs[k++] as tf.Tensor2D : null;
    const e = useId ? xs[k++] as tf.Tensor2D : null;
    const terms = featureTerms(plan, batch, loss, { logits: l, source, editedEmb: e });
    imageTerms = Object.fromEntries(Object.entries(terms).map(([n, v]) => [n, tf.keep(v)]));
    let t = tf.scalar(0);
    for (const [n, v] of Object.entries(terms)) t = tf.add(t, tf.mul(v, w[n as LossName]));
    return t as tf.Scalar;
  };
  const { value: imgValue, grads: featGrads } = inputs.length
    ? tf.valueAndGrads(imageTotal)(inputs)
    : { value: tf.scalar(0), grads: [] as tf.Tensor[] };
  // 4. back through the networks and the generator, chunk by chunk
  let k = 0;
  const gLogits = useClass ? featGrads[k++] : null, gEmb = useId ? featGrads[k++] : null;
  const gParts: tf.Tensor3D[] = [];
  for (let i = 0; i < latents.shape[0]; i += chunk) {
    const n = Math.min(chunk, latents.shape[0] - i);
    gParts.push(tf.tidy(() => {
      const c = tf.slice(latents, [i, 0, 0], [n, latents.shape[1], latents.shape[2]]);
      const gl = gLogits ? tf.slice(gLogits, [i, 0], [n, gLogits.shape[1]!]) : null;
      const ge = gEmb ? tf.slice(gEmb, [i, 0], [n, gEmb.shape[1]!]) : null;
      return tf.grad((x: tf.Tensor) => {
        const f = features(x as tf.Tensor3D);
        let s = tf.scalar(0);
        if (f.logits && gl) s = tf.add(s, tf.sum(tf.mul(f.logits, gl)));
        if (f.emb && ge) s = tf.add(s, tf.sum(tf.mul(f.emb, ge)));
        return s as tf.Scalar;
      })(c) as tf.Tensor3D;
    }));
  }
  const gLatents = tf.concat(gParts, 0);
  tf.dispose([...gParts, latents, ...inputs, ...(source ? [source] : []), ...featGrads]);
  // 5. the editor: latent terms plus the image terms' pull-back
  const vars = editor.trainableVariables();
  const latentCfg: LossConfig = { ...loss, weights: { ...w, class: 0, id: 0 } };
  let latentTerms: Partial<Record<LossName, tf.Scalar>> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = editorLosses(editor, batch, latentCfg, step);
    latentTerms = Object.fromEntries(Object.entries(r.terms).map(([n, v]) => [n, tf.keep(v)]));
    const edited = renderedLatents(editor.forward(batch.wPlus, batch.attr).edited, plan);
    return tf.add(r.total, tf.sum(tf.mul(edited, gLatents))) as tf.Scalar;
  }, vars);
  optimizer.apply(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), lr);
  const terms = { ...latentTerms, ...imageTerms };
  const names = LOSS_NAMES.filter((n) => terms[n]);
  const packed = tf.tidy(() => {
    let latentTotal = tf.scalar(0);
    for (const n of names) {
      if (n in latentTerms) latentTotal = tf.add(latentTotal, tf.mul(terms[n]!, w[n]));
    }
    return tf.stack([tf.add(latentTotal, imgValue), ...names.map((n) => terms[n]!)]);
  });
  const nums = packed.dataSync();
  tf.dispose(
    [packed, value, imgValue, gLatents, grads, ...Object.values(terms)] as tf.TensorContainer[],
  );
  const out: StepLosses = { total: nums[0] };
  names.forEach((n, i) => (out[n] = nums[i + 1]));
  return out;
}
