/**
 * The latent losses are computed in factored form (matMuls with P^2); here they are checked
 * against the direct element-wise formulas of the paper and the official code, built from the
 * editor's [B, M, L, D] edits. Also hand-made cases of the image losses.
 */
import { assertClose, tf, values } from "./_util.ts";
import { makeConfig } from "../lib/model/config.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { directionLoss, neighbourhoodLoss, sparsityLoss } from "../lib/losses/latent.ts";
import { bceWithLogits, classLoss, identityLoss } from "../lib/losses/image.ts";
import { Rng } from "../lib/util/rng.ts";

function editorAndBatch(preset: "paper" | "official") {
  const editor = new IDStyleEditor(makeConfig(preset).model);
  const rng = new Rng(12);
  for (const p of editor.params()) {
    if (p.trainable) {
      p.variable.assign(
        tf.add(p.variable, tf.tensor(rng.normals(p.variable.size, 0.05), p.variable.shape)),
      );
    }
  }
  const w = tf.tensor3d(rng.normals(3 * 18 * 512), [3, 18, 512]);
  const attr = tf.tensor2d([[1, -1, 0, 1], [1, 1, 1, 1], [-1, 0, -1, 1]]);
  return { editor, w, attr, out: editor.forward(w, attr) };
}

Deno.test("direction loss (paper and official) equals the element-wise formula", () => {
  for (const preset of ["paper", "official"] as const) {
    const { editor, out } = editorAndBatch(preset);
    const [B, L, D] = out.lft.shape, M = 4;
    // Direct: tuned = l_ft^i * P_m as [B, M, L, D]; cosine with P_m over D.
    const P = tf.reshape(out.directions, [1, M, 1, D]);
    const tuned = tf.mul(tf.reshape(out.lft, [B, 1, L, D]), P);
    const dot = tf.sum(tf.mul(tuned, P), -1);
    const cos = tf.div(dot, tf.mul(tf.norm(tuned, "euclidean", -1), tf.norm(P, "euclidean", -1)));
    const paper = tf.mean(tf.sum(tf.sub(1, cos), [1, 2])).dataSync()[0];
    const official = 1 - tf.mean(tf.abs(cos)).dataSync()[0];
    assertClose(
      directionLoss(out.lft, out.directions, "paper").dataSync()[0],
      paper,
      0,
      1e-4,
      `${preset} paper`,
    );
    assertClose(
      directionLoss(out.lft, out.directions, "official").dataSync()[0],
      official,
      1e-6,
      1e-4,
      `${preset} official`,
    );
    editor.dispose();
  }
});

Deno.test("neighbourhood loss equals the Frobenius norm of the materialised edits", () => {
  for (const preset of ["paper", "official"] as const) {
    const { editor, out } = editorAndBatch(preset);
    const norms = tf.sqrt(tf.sum(tf.square(out.deltas), [2, 3])); // [B, M]
    const direct = tf.mean(norms, 0); // [M]
    assertClose(
      neighbourhoodLoss(out.lft, out.directions, out.coef, "sum").dataSync()[0],
      tf.sum(direct).dataSync()[0],
      0,
      1e-4,
    );
    assertClose(
      neighbourhoodLoss(out.lft, out.directions, out.coef, "mean").dataSync()[0],
      tf.mean(direct).dataSync()[0],
      0,
      1e-4,
    );
    editor.dispose();
  }
});

Deno.test("sparsity loss: sum or mean over attributes of the raw L1 norms", () => {
  const P = tf.tensor2d([[1, -2, 0], [0.5, 0.5, -1]]);
  assertClose(sparsityLoss(P, "sum").dataSync()[0], 3 + 2, 1e-6);
  assertClose(sparsityLoss(P, "mean").dataSync()[0], 2.5, 1e-6);
});

Deno.test("BCE on logits against the textbook formula, stable at large logits", () => {
  const x = [-30, -2, 0, 0.5, 40], t = [0, 1, 1, 0, 1];
  const ref = x.map((xi, i) => {
    const p = 1 / (1 + Math.exp(-xi));
    return -(t[i] * Math.log(Math.max(p, 1e-300)) + (1 - t[i]) * Math.log(Math.max(1 - p, 1e-300)));
  });
  ref[0] = Math.log1p(Math.exp(-30)); // t = 0, x = -30: -log(1 - sigmoid(-30))
  assertClose(values(bceWithLogits(tf.tensor1d(x), tf.tensor1d(t))), ref, 1e-6, 1e-5);
});

Deno.test("class loss: only the edited attribute's own logit, masked pairs left out", () => {
  // B = 1, M = 2: image 0 edited for attribute 0, image 1 for attribute 1.
  const logits = tf.tensor3d([[[2, 100], [-100, -1]]]); // off-diagonal logits must not matter
  const targets = tf.tensor2d([[1, 0]]);
  const bce = (x: number, t: number) => Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
  assertClose(
    classLoss(logits, targets, tf.tensor2d([[1, 1]]), "sum").dataSync()[0],
    bce(2, 1) + bce(-1, 0),
    1e-6,
  );
  assertClose(
    classLoss(logits, targets, tf.tensor2d([[1, 0]]), "mean").dataSync()[0],
    bce(2, 1) / 2,
    1e-6,
  );
});

Deno.test("identity loss: 1 - cosine, zero for identical embeddings, 1 for orthogonal ones", () => {
  const src = tf.tensor2d([[1, 0], [0, 2]]);
  const same = identityLoss(src, tf.tensor3d([[[2, 0]], [[0, 1]]]), "mean");
  assertClose(same.dataSync()[0], 0, 1e-6);
  const orth = identityLoss(src, tf.tensor3d([[[0, 1], [1, 0]], [[1, 0], [0, 3]]]), "sum");
  assertClose(orth.dataSync()[0], 1 + 0, 1e-6); // per attribute: mean over batch of (1, 1) and (0, 0)
});
