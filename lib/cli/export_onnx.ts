/**
 * `deno task export-onnx --checkpoint F --out G`: writes the editor of checkpoint F as an ONNX
 * graph (inputs wplus [B, 18, 512], attr [B, M]; outputs edited [B, M, 18, 512], combined
 * [B, 18, 512]) and checks it in onnxruntime against tfjs on random latents.
 */
import { tf } from "../backend.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { exportEditorOnnx } from "../onnx/export.ts";
import { OrtEditor } from "../onnx/ort.ts";
import { Rng } from "../util/rng.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task export-onnx --checkpoint editor.safetensors --out editor.onnx",
  flags: { help: "this text" },
  options: { checkpoint: "editor checkpoint (.safetensors)", out: "ONNX file to write" },
});
const { checkpoint, out } = args.options;
if (!checkpoint) args.fail("--checkpoint is required");
if (!out) args.fail("--out is required");
let loaded;
try {
  loaded = await loadEditor(checkpoint!);
} catch (err) {
  args.fail((err as Error).message);
}
const { editor, config } = loaded!;
const bytes = exportEditorOnnx(editor);
await writeFileAtomic(out!, bytes);
// Check: onnxruntime against tfjs on 4 random latents with mixed edits.
const M = editor.attributes.length, B = 4;
const rng = new Rng(0);
const w = tf.tensor3d(rng.normals(B * 18 * 512), [B, 18, 512]);
const attr = tf.tensor2d(Array.from({ length: B * M }, () => rng.int(-1, 1)), [B, M]);
const ref = editor.edit(w, attr);
const ort = await OrtEditor.create(out!, M);
const res = await ort.run(w.dataSync() as Float32Array, attr.dataSync() as Float32Array, B);
let diff = 0;
const comb = ref.combined.dataSync();
for (let i = 0; i < comb.length; i++) diff = Math.max(diff, Math.abs(comb[i] - res.combined[i]));
console.log(
  `wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, preset ${config.preset}, attributes ${
    editor.attributes.join(", ")
  })`,
);
console.log(`onnxruntime vs tfjs on ${B} random latents: max |diff| ${diff.toExponential(2)}`);
if (!(diff < 1e-4)) {
  console.error("error: the exported graph disagrees with tfjs");
  Deno.exit(1);
}
