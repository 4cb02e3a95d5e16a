/** Bad input gives an error naming the argument, what was expected and what was given. */
import { assertThrows, tf } from "./_util.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { makeConfig } from "../lib/model/config.ts";
import { InputError } from "../lib/util/validate.ts";

const editor = new IDStyleEditor(makeConfig("official").model);
const w = tf.zeros([2, 18, 512]);

Deno.test("latents of the wrong rank or shape", () => {
  assertThrows(
    () => editor.edit(tf.zeros([2, 17, 512]), { smile: 1 }),
    "latents",
    "[?, 18, 512]",
    "[2, 17, 512]",
  );
  assertThrows(
    () => editor.edit(tf.zeros([2, 511]), { smile: 1 }),
    "latents",
    "[?, 512]",
    "[2, 511]",
  );
  assertThrows(
    () => editor.edit(tf.zeros([18, 512, 1, 1]), { smile: 1 }),
    "latents",
    "(W+) or",
    "[18, 512, 1, 1]",
  );
  assertThrows(
    () => editor.edit([1, 2, 3] as unknown as tf.Tensor, { smile: 1 }),
    "latents",
    "expected a tensor",
  );
  assertThrows(
    () => editor.forward(tf.zeros([2, 18, 512]) as tf.Tensor3D, tf.zeros([3, 4]) as tf.Tensor2D),
    "attr",
    "[B, 4] with B=2",
    "[3, 4]",
  );
});

Deno.test("NaN or Inf in a latent", () => {
  const bad = tf.tensor3d(
    new Float32Array(18 * 512).fill(0).map((v, i) => (i === 5 ? NaN : i === 9 ? Infinity : v)),
    [1, 18, 512],
  );
  const err = assertThrows(
    () => editor.edit(bad, { smile: 1 }),
    "latents",
    "expected finite values",
    "2 NaN or Inf",
  );
  if (!(err instanceof InputError)) throw new Error("not an InputError");
});

Deno.test("attr values outside {-1, 0, 1}, wrong count, unknown names", () => {
  assertThrows(
    () => editor.edit(w, tf.tensor2d([[1, 0, 0, 2], [0, 0, 0, 0]])),
    "attr",
    "{-1, 0, 1}",
    "got 2",
  );
  assertThrows(
    () => editor.edit(w, tf.tensor2d([[1, 0, 0], [0, 0, 0]])),
    "attr",
    "[2, 4]",
    "[2, 3]",
  );
  assertThrows(() => editor.edit(w, [1, 0, 0]), "attr", "expected 4 values", "got 3");
  assertThrows(
    () => editor.edit(w, { smiling: 1 }),
    'unknown attribute "smiling"',
    "gender, glasses, age, smile",
  );
  assertThrows(() => editor.edit(w, { age: 0.5 }), "attr.age", "-1, 0 or 1", "0.5");
});

Deno.test("top-k outside 1..512 and a bad intensity", () => {
  assertThrows(() => editor.edit(w, { age: 1 }, { topK: 0 }), "topK", "1..512", "got 0");
  assertThrows(() => editor.edit(w, { age: 1 }, { topK: 513 }), "topK", "got 513");
  assertThrows(() => editor.edit(w, { age: 1 }, { topK: 2.5 }), "topK", "integer");
  assertThrows(() => editor.edit(w, { age: 1 }, { intensity: -1 }), "intensity", "> 0");
});

Deno.test("bad configurations", () => {
  assertThrows(() => makeConfig("nope" as "paper"), "preset", "paper, official", "nope");
  assertThrows(
    () => makeConfig("official", { model: { attributes: ["gender", "beard"] } }),
    'no rows for attribute "beard"',
  );
  assertThrows(() => makeConfig("paper", { loss: { weights: { id: -1 } } }), "loss.weights.id");
  assertThrows(() => makeConfig("paper", { optim: { beta1: 1 } }), "optim.beta1");
  assertThrows(() => makeConfig("paper", { model: { attributes: ["a", "a"] } }), "unique");
});

Deno.test("using a disposed editor", () => {
  const e = new IDStyleEditor(makeConfig("paper").model);
  e.dispose();
  assertThrows(() => e.edit(w, { age: 1 }), "after dispose");
});
