/** The exported ONNX graph, run in onnxruntime-node, against the tfjs editor (max |diff| < 1e-4). */
import { assert, maxAbsDiff, tf, values } from "./_util.ts";
import { type Ablation, makeConfig, type PresetName } from "../lib/model/config.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { exportEditorOnnx } from "../lib/onnx/export.ts";
import { OrtEditor } from "../lib/onnx/ort.ts";
import { Rng } from "../lib/util/rng.ts";

const cases: [PresetName, Ablation[]][] = [
  ["official", []],
  ["paper", []],
  ["paper", ["no-mixer"]],
  ["paper", ["no-input-encoding"]],
  ["official", ["no-layer-embedding"]],
  ["official", ["no-input-encoding"]],
];

for (const [preset, ablations] of cases) {
  Deno.test(`ONNX export matches tfjs in onnxruntime (${preset} ${ablations.join(" ")})`, async () => {
    const editor = new IDStyleEditor(makeConfig(preset, {}, ablations).model);
    // Trained-looking parameters: random but not at initialisation (gates, LayerNorm gain).
    const rng = new Rng(8);
    for (const p of editor.params()) {
      if (p.trainable) {
        p.variable.assign(
          tf.add(p.variable, tf.tensor(rng.normals(p.variable.size, 0.05), p.variable.shape)),
        );
      }
    }
    const ort = await OrtEditor.create(exportEditorOnnx(editor), 4);
    const B = 3;
    const w = tf.tensor3d(rng.normals(B * 18 * 512), [B, 18, 512]);
    const attr = tf.tensor2d([[1, -1, 0, 1], [0, 0, 0, 0], [-1, 1, 1, -1]]);
    const ref = editor.edit(w, attr);
    const out = await ort.run(values(w), values(attr), B);
    const d1 = maxAbsDiff(out.edited, values(ref.perAttribute));
    const d2 = maxAbsDiff(out.combined, values(ref.combined));
    assert(d1 < 1e-4 && d2 < 1e-4, `max |ORT - tfjs|: edited ${d1}, combined ${d2}`);
    await ort.release();
    editor.dispose();
  });
}
