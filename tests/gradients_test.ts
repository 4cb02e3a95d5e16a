/**
 * Finite-difference checks of every gradient: the editor end to end (each preset and ablation)
 * and each loss with respect to its inputs. Directional derivatives along random unit directions
 * are compared with central differences (float32, so h = 1e-3 and a relative tolerance of 2%).
 */
import { assert, tf } from "./_util.ts";
import { toyModels } from "./_toy_models.ts";
import { type Ablation, makeConfig, type PresetName } from "../lib/model/config.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { editorLosses } from "../lib/losses/total.ts";
import { directionLoss, neighbourhoodLoss, sparsityLoss } from "../lib/losses/latent.ts";
import { classLoss, identityLoss } from "../lib/losses/image.ts";
import { Rng } from "../lib/util/rng.ts";

const L = 4, D = 6, H = 5;
const ATTRS = ["a", "b", "c"];

/**
 * For each variable and each of `trials` random unit directions v (only that variable moves),
 * compares grad . v with (f(x + h v) - f(x - h v)) / 2h. Moving one variable by a unit step of
 * 1e-3 keeps the check away from the ReLU kinks that a joint step over every parameter crosses.
 */
function checkDirectional(
  name: string,
  f: () => tf.Scalar,
  vars: tf.Variable[],
  seed: number,
  trials = 2,
  h = 1e-3,
) {
  const rng = new Rng(seed);
  const { grads } = tf.variableGrads(f, vars);
  for (const v of vars) {
    for (let t = 0; t < trials; t++) {
      const raw = tf.tensor(rng.normals(v.size), v.shape);
      const dir = tf.div(raw, tf.norm(raw));
      const g = grads[v.name];
      const analytic = g ? tf.sum(tf.mul(g, dir)).dataSync()[0] : 0;
      const orig = v.clone();
      v.assign(tf.add(orig, tf.mul(dir, h)));
      const fp = f().dataSync()[0];
      v.assign(tf.sub(orig, tf.mul(dir, h)));
      const fm = f().dataSync()[0];
      v.assign(orig);
      const numeric = (fp - fm) / (2 * h);
      const tol = 2e-2 * Math.max(Math.abs(numeric), Math.abs(analytic)) + 2e-3;
      assert(
        Math.abs(analytic - numeric) <= tol,
        `${name}, ${v.name}, direction ${t}: autodiff ${analytic}, finite difference ${numeric}`,
      );
    }
  }
}

function smallConfig(preset: PresetName, ablations: Ablation[] = []) {
  return makeConfig(preset, {
    model: {
      attributes: ATTRS,
      numLayers: L,
      latentDim: D,
      hiddenDim: H,
      fixedLayerRows: { a: [0, 1], b: [1, 2], c: [3] },
    },
  }, ablations);
}

for (const preset of ["paper", "official"] as const) {
  for (
    const ablations of [[], ["no-mixer"], ["no-input-encoding"], [
      "no-layer-embedding",
    ]] as Ablation[][]
  ) {
    Deno.test(`editor + all five losses: gradients match finite differences (${preset} ${ablations.join(" ")})`, () => {
      const cfg = smallConfig(preset, ablations);
      const editor = new IDStyleEditor(cfg.model);
      const rng = new Rng(11);
      const batch = {
        wPlus: tf.tensor3d(rng.normals(2 * L * D), [2, L, D]),
        attr: tf.tensor2d([[1, -1, 1], [-1, 1, 0]]),
        targets: tf.tensor2d([[1, 0, 1], [0, 1, 1]]),
      };
      const models = toyModels(L, D, ATTRS.length);
      const f = () => editorLosses(editor, batch, cfg.loss, 1, models).total;
      checkDirectional(`${preset}`, f, editor.trainableVariables(), 5);
      editor.dispose();
    });
  }
}

Deno.test("each loss: gradients with respect to its inputs match finite differences", () => {
  const rng = new Rng(3);
  const v = (shape: number[], scale = 1) =>
    tf.variable(tf.tensor(rng.normals(shape.reduce((a, b) => a * b)), shape).mul(scale));
  const P = v([3, D], 0.3), lft = v([2, L, D]), coef = v([2, 3, L]);
  const lftPos = tf.variable(tf.relu(lft).add(0.1)); // l_ft is a ReLU output
  for (const how of ["sum", "mean"] as const) {
    checkDirectional(
      `sparsity ${how}`,
      () => sparsityLoss(P as tf.Variable<tf.Rank.R2>, how),
      [P],
      21,
    );
    checkDirectional(
      `nb ${how}`,
      () =>
        neighbourhoodLoss(
          lftPos as tf.Variable<tf.Rank.R3>,
          P as tf.Variable<tf.Rank.R2>,
          coef as tf.Variable<tf.Rank.R3>,
          how,
        ),
      [lftPos, P, coef],
      22,
    );
  }
  for (const variant of ["paper", "official"] as const) {
    checkDirectional(
      `direction ${variant}`,
      () => directionLoss(lftPos as tf.Variable<tf.Rank.R3>, P as tf.Variable<tf.Rank.R2>, variant),
      [lftPos, P],
      23,
    );
  }
  const logits = v([2, 3, 3], 2);
  const targets = tf.tensor2d([[1, 0, 1], [0, 0, 1]]);
  const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1]]);
  checkDirectional(
    "class",
    () => classLoss(logits as tf.Variable<tf.Rank.R3>, targets, mask, "mean"),
    [logits],
    24,
  );
  const src = v([2, 5]), ed = v([2, 3, 5]);
  checkDirectional(
    "identity",
    () => identityLoss(src as tf.Variable<tf.Rank.R2>, ed as tf.Variable<tf.Rank.R3>, "sum"),
    [src, ed],
    25,
  );
});
