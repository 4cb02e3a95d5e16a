/**
 * `deno task convert --in X.ckpt --out Y.safetensors`: an ID-Style editor checkpoint in the
 * authors' PyTorch format (`torch.save(model.state_dict())`, zip or legacy; read without Python,
 * the preset inferred from its tensor names) written as this project's safetensors checkpoint.
 * Not needed to use their file (every command that takes a checkpoint reads it directly); useful
 * to share it in a format that names its configuration and cannot run code.
 */
import "../backend.ts";
import { loadEditor, saveEditor } from "../io/checkpoint.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task convert --in editor.ckpt --out editor.safetensors",
  flags: { help: "this text" },
  options: {
    in: "the authors' ID-Style checkpoint (.ckpt / .pt / .pth) or one of ours",
    out: "safetensors checkpoint to write",
  },
});

try {
  const { in: input, out } = args.options;
  if (!input) throw new Error("--in is required (an ID-Style .ckpt)");
  if (!out) throw new Error("--out is required (a .safetensors path)");
  if (!out.endsWith(".safetensors")) {
    throw new Error(`--out: expected a .safetensors path, got "${out}"`);
  }
  const { editor, config } = await loadEditor(input);
  await saveEditor(out, editor, {
    config,
    metadata: { "idstyle.converted_from": input.split("/").pop()! },
  });
  const n = editor.countParameters();
  console.log(
    `converted ${input} (${config.preset}, ${
      n.total.toLocaleString("en-US")
    } parameters, attributes ${editor.attributes.join(", ")}) -> ${out}`,
  );
  editor.dispose();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
