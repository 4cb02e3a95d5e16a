import { assert, assertClose, assertEquals, maxAbsDiff, tf, values } from "./_util.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { ABLATIONS, makeConfig } from "../lib/model/config.ts";
import { absmax, topKRows } from "../lib/model/combine.ts";
import { sinusoidalValues } from "../lib/model/encoding.ts";

Deno.test("parameter counts match a hand count and the official code's 791,966 (791,894 trainable)", () => {
  const D = 512, L = 18, H = 512, M = 4;
  const rfc1 = 2 * D * H + H,
    cfc = L * L + L,
    rfc2 = H * D + D,
    lgd = M * D,
    emb = M * L,
    ln = 2 * 2 * D;
  const official = new IDStyleEditor(makeConfig("official").model);
  const c = official.countParameters();
  assertEquals(c.total, ln + rfc1 + cfc + rfc2 + lgd + emb);
  assertEquals(c.total, 791_966);
  assertEquals(c.trainable, 791_894);
  assertEquals(c.byComponent["EDA.layerEmbedding"], { count: 72, trainable: 0 });
  official.dispose();
  const paper = new IDStyleEditor(makeConfig("paper").model);
  const p = paper.countParameters();
  assertEquals(p.total, rfc1 + cfc + rfc2 + lgd + emb); // no LayerNorm, learned embedding
  assertEquals(p.trainable, p.total);
  paper.dispose();
  // Ablations remove exactly their component.
  const noMix = new IDStyleEditor(makeConfig("paper", {}, ["no-mixer"]).model);
  assertEquals(noMix.countParameters().total, p.total - cfc);
  noMix.dispose();
  const noEnc = new IDStyleEditor(makeConfig("paper", {}, ["no-input-encoding"]).model);
  assertEquals(noEnc.countParameters().total, p.total - D * H);
  noEnc.dispose();
  const noEmb = new IDStyleEditor(makeConfig("paper", {}, ["no-layer-embedding"]).model);
  assertEquals(noEmb.countParameters().total, p.total - emb);
  noEmb.dispose();
});

Deno.test("official state_dict names and PyTorch shapes", () => {
  const e = new IDStyleEditor(makeConfig("official").model);
  const names = Object.fromEntries(
    e.params().map((
      p,
    ) => [
      p.name,
      p.layout === "linear" ? [p.variable.shape[1], p.variable.shape[0]] : p.variable.shape,
    ]),
  );
  assertEquals(names, {
    "iaip.fc.0.weight": [1024],
    "iaip.fc.0.bias": [1024],
    "iaip.fc.1.weight": [512, 1024],
    "iaip.fc.1.bias": [512],
    "iaip.l18.weight": [18, 18],
    "iaip.l18.bias": [18],
    "iaip.l1024.0.weight": [512, 512],
    "iaip.l1024.0.bias": [512],
    "iaip.gender_shared": [1, 512],
    "iaip.glasses_shared": [1, 512],
    "iaip.age_shared": [1, 512],
    "iaip.smile_shared": [1, 512],
    "embedding_attr.weight": [4, 18],
  });
  e.dispose();
});

Deno.test("forward shapes, and edited = w + deltas", () => {
  const e = new IDStyleEditor(makeConfig("paper").model);
  const w = tf.randomNormal([3, 18, 512], 0, 1, "float32", 1) as tf.Tensor3D;
  const attr = tf.tensor2d([[1, -1, 0, 1], [0, 0, 0, 0], [-1, 1, 1, -1]]);
  const out = e.forward(w, attr);
  assertEquals(out.lft.shape, [3, 18, 512]);
  assertEquals(out.directions.shape, [4, 512]);
  assertEquals(out.deltas.shape, [3, 4, 18, 512]);
  assertEquals(out.edited.shape, [3, 4, 18, 512]);
  const recon = tf.sub(out.edited, tf.expandDims(w, 1));
  assert(maxAbsDiff(values(recon), values(out.deltas)) < 1e-6);
  // L1-normalised directions.
  assertClose(values(tf.sum(tf.abs(out.directions), 1)), [1, 1, 1, 1], 1e-5);
  e.dispose();
});

Deno.test("attr semantics: 0 keeps the latent exactly, -1 is the exact opposite of +1", () => {
  const e = new IDStyleEditor(makeConfig("official").model);
  const w = tf.randomNormal([2, 18, 512], 0, 1, "float32", 2) as tf.Tensor3D;
  const plus = e.forward(w, tf.tensor2d([[1, 1, 0, 0], [1, 1, 0, 0]]));
  const minus = e.forward(w, tf.tensor2d([[-1, -1, 0, 0], [-1, -1, 0, 0]]));
  assertEquals(
    maxAbsDiff(values(tf.add(plus.deltas, minus.deltas)), new Float32Array(plus.deltas.size)),
    0,
  );
  const kept = tf.slice(plus.edited, [0, 2, 0, 0], [2, 2, 18, 512]);
  assertEquals(maxAbsDiff(values(kept), values(tf.stack([w, w], 1))), 0);
  e.dispose();
});

Deno.test("fixed layer masks: only StyleFlow's rows move (glasses 2-3, smile 4-5)", () => {
  const e = new IDStyleEditor(makeConfig("official").model);
  const w = tf.randomNormal([1, 18, 512], 0, 1, "float32", 3) as tf.Tensor3D;
  const out = e.forward(w, tf.tensor2d([[1, 1, 1, 1]]));
  const rowNorm = values(tf.sum(tf.abs(out.deltas), 3)); // [1, 4, 18]
  const moved = (m: number) => [...Array(18).keys()].filter((i) => rowNorm[m * 18 + i] > 0);
  assertEquals(moved(0), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(moved(1), [2, 3]);
  assertEquals(moved(2), [4, 5, 6, 7]);
  assertEquals(moved(3), [4, 5]);
  e.dispose();
});

Deno.test("learned layer embedding starts at sigmoid(0) = 0.5 on every row; 'none' is 1", () => {
  const paper = new IDStyleEditor(makeConfig("paper").model);
  assertClose(values(paper.eda.gates()), new Array(72).fill(0.5), 1e-7);
  paper.dispose();
  const none = new IDStyleEditor(makeConfig("paper", {}, ["no-layer-embedding"]).model);
  assertClose(values(none.eda.gates()), new Array(72).fill(1), 0);
  none.dispose();
});

Deno.test("W mode: a w [B, 512] edits exactly like w repeated on 18 rows", () => {
  const e = new IDStyleEditor(makeConfig("paper").model);
  const w = tf.randomNormal([2, 512], 0, 1, "float32", 4) as tf.Tensor2D;
  const a = e.edit(w, { smile: 1 });
  const b = e.edit(tf.tile(tf.expandDims(w, 1), [1, 18, 1]), { smile: 1 });
  assertEquals(maxAbsDiff(values(a.combined), values(b.combined)), 0);
  e.dispose();
});

Deno.test("absmax keeps the value of largest magnitude with its sign (eq. 12)", () => {
  // deltas [1, 3, 1, 4]
  const d = tf.tensor4d([[[[1, -5, 0, 2]], [[-3, 4, 0, 2]], [[2, 1, -1, -2]]]]);
  assertEquals(Array.from(values(absmax(d))), [-3, -5, -1, 2]);
});

Deno.test("combined edit with one attribute equals that attribute's edit", () => {
  const e = new IDStyleEditor(makeConfig("official").model);
  const w = tf.randomNormal([2, 18, 512], 0, 1, "float32", 5) as tf.Tensor3D;
  const r = e.edit(w, { age: -1 });
  const ageOnly = tf.squeeze(tf.slice(r.perAttribute, [0, 2, 0, 0], [2, 1, 18, 512]), [1]);
  assertEquals(maxAbsDiff(values(r.combined), values(ageOnly)), 0);
  e.dispose();
});

Deno.test("top-k keeps the k largest |values| of each row, times the intensity", () => {
  const row = tf.tensor2d([[0.5, -3, 1, 2, -0.1], [4, 0, 0, -1, 0.2]]);
  assertEquals(Array.from(values(topKRows(row, 2))), [0, -3, 0, 2, 0, 4, 0, 0, -1, 0]);
  assertEquals(Array.from(values(topKRows(row, 1, 2))), [0, -6, 0, 0, 0, 8, 0, 0, 0, 0]);
  assertEquals(Array.from(values(topKRows(row, 5))), Array.from(values(row)));
  // Through the editor: at most k non-zero entries per row of each edit.
  const e = new IDStyleEditor(makeConfig("paper").model);
  const w = tf.randomNormal([1, 18, 512], 0, 1, "float32", 6) as tf.Tensor3D;
  const r = e.edit(w, [1, 1, 1, 1], { topK: 7 });
  const nz = values(
    tf.sum(tf.cast(tf.notEqual(tf.sub(r.perAttribute, tf.expandDims(w, 1)), 0), "float32"), 3),
  );
  assert(Math.max(...nz) <= 7, `rows with more than 7 changed entries: max ${Math.max(...nz)}`);
  e.dispose();
});

Deno.test("sinusoidal encoding: sin on even, cos on odd columns", () => {
  const pe = sinusoidalValues(18, 512);
  const i = 5, k = 10;
  assertClose(pe[i * 512 + k], Math.sin(i / Math.pow(10000, k / 512)), 1e-6);
  assertClose(pe[i * 512 + k + 1], Math.cos(i / Math.pow(10000, k / 512)), 1e-6);
  assertClose(pe[0 * 512 + 1], 1, 0);
});

Deno.test("same seed, same parameters; other seed, other parameters", () => {
  const a = new IDStyleEditor(makeConfig("paper").model);
  const b = new IDStyleEditor(makeConfig("paper").model);
  const c = new IDStyleEditor(makeConfig("paper", { model: { seed: 7 } }).model);
  for (let i = 0; i < a.params().length; i++) {
    const [pa, pb, pc] = [a.params()[i], b.params()[i], c.params()[i]];
    assertEquals(maxAbsDiff(values(pa.variable), values(pb.variable)), 0, pa.name);
    if (pa.name !== "embedding_attr.weight") {
      assert(maxAbsDiff(values(pa.variable), values(pc.variable)) > 0, pa.name);
    }
  }
  for (const e of [a, b, c]) e.dispose();
});

Deno.test("M != 4: any number of attributes with a learned embedding", () => {
  const cfg = makeConfig("paper", { model: { attributes: ["smile", "beard", "bangs"] } });
  const e = new IDStyleEditor(cfg.model);
  const r = e.edit(tf.randomNormal([2, 18, 512]), { beard: 1, bangs: -1 });
  assertEquals(r.perAttribute.shape, [2, 3, 18, 512]);
  e.dispose();
  assertEquals(ABLATIONS.length, 5);
});
