/**
 * `deno task demo`: the main job on the embedded default. (Until the synthetic face world lands,
 * it runs an untrained editor of each preset on random latents and reports what it did.)
 */
import { backend, tf } from "../backend.ts";
import { makeConfig, type PresetName } from "../model/config.ts";
import { IDStyleEditor } from "../model/editor.ts";
import { exportEditorOnnx } from "../onnx/export.ts";
import { OrtEditor } from "../onnx/ort.ts";
import { Rng } from "../util/rng.ts";

const t0 = performance.now();
const rng = new Rng(2024);
const B = 8;
const w = tf.tensor3d(rng.normals(B * 18 * 512), [B, 18, 512]);
console.log(
  `backend ${backend.name}; ${B} random W+ latents [${w.shape.join(", ")}] from seed 2024\n`,
);
for (const preset of ["official", "paper"] as PresetName[]) {
  const editor = new IDStyleEditor(makeConfig(preset).model);
  const count = editor.countParameters();
  console.log(
    `${preset}: ${count.total.toLocaleString("en-US")} parameters (${
      count.trainable.toLocaleString("en-US")
    } trainable)`,
  );
  for (const [a, i] of editor.attributes.map((a, i) => [a, i] as const)) {
    const attr = editor.attributes.map((_, j) => (j === i ? 1 : 0));
    const r = editor.edit(w, attr);
    const d = tf.tidy(() => tf.sub(r.combined, w));
    const rows = tf.tidy(() => tf.sum(tf.abs(d), [0, 2]).dataSync());
    const moved = [...rows].map((v, k) => (v > 0 ? k : -1)).filter((k) => k >= 0);
    const norm = tf.tidy(() => tf.mean(tf.sqrt(tf.sum(tf.square(d), [1, 2]))).dataSync()[0]);
    console.log(
      `  +${a.padEnd(8)} mean |Delta w|_F ${norm.toFixed(4)}, rows moved ${moved.join(",")}`,
    );
    tf.dispose([r.perAttribute, r.combined, d]);
  }
  const all = editor.edit(w, editor.attributes.map((_, j) => (j % 2 ? -1 : 1)));
  const ort = await OrtEditor.create(exportEditorOnnx(editor), editor.attributes.length);
  const res = await ort.run(
    w.dataSync() as Float32Array,
    Float32Array.from({ length: B * 4 }, (_, k) => (k % 2 ? -1 : 1)),
    B,
  );
  const ref = all.combined.dataSync();
  let diff = 0;
  for (let k = 0; k < ref.length; k++) diff = Math.max(diff, Math.abs(ref[k] - res.combined[k]));
  console.log(
    `  all four at once (absmax): onnxruntime agrees with tfjs to ${diff.toExponential(1)}\n`,
  );
  await ort.release();
  editor.dispose();
}
console.log(
  `done in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s (untrained editors; training arrives with the synthetic world)`,
);
