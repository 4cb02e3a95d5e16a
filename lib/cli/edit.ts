/**
 * `deno task edit --checkpoint F --in latents.npy --edit smile=+1,age=-1 --out edited.npy [--png P]`:
 * edits W+ [N, 18, 512] or W [N, 512] latents from a .npy file with one attribute or several at once
 * (element-wise absmax, eq. 12), writes W+ [N, 18, 512] float32 .npy, and with --png a grid of the
 * faces before and after (in the synthface world). Every input is checked before anything is
 * written; errors are one line with a non-zero exit, and outputs are written atomically.
 */
import { tf } from "../backend.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { readNpy, writeNpy } from "../io/npy.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { editGrid } from "../viz/faces.ts";
import { writePng } from "../viz/png.ts";
import { parseArgs } from "./args.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task edit [--checkpoint F] --in latents.npy --edit smile=+1,age=-1 --out edited.npy [--png grid.png] [--top-k K]",
  flags: { help: "this text" },
  options: {
    checkpoint: `editor checkpoint (default ${SHIPPED_CHECKPOINTS.official})`,
    in: "input latents, .npy: W+ [N, 18, 512] or W [N, 512], float32 or float64",
    edit: "comma-separated attribute=code, code in -1, 0, +1 (for example smile=+1,age=-1)",
    out: "output .npy, W+ [N, 18, 512] float32",
    png: "also write a grid of the faces before and after (synthface world)",
    "top-k": "keep only the k largest |values| of each row of each edit (1..512)",
  },
});

async function main(): Promise<void> {
  const { in: input, out, edit } = args.options;
  if (!input) throw new Error("--in is required (latents .npy)");
  if (!out) throw new Error("--out is required (output .npy)");
  if (!edit) throw new Error("--edit is required (for example smile=+1,age=-1)");
  if (!out.endsWith(".npy")) throw new Error(`--out: expected a .npy path, got "${out}"`);
  const { editor } = await loadEditor(args.options.checkpoint ?? SHIPPED_CHECKPOINTS.official);
  const codes: Record<string, number> = {};
  for (const part of edit.split(",")) {
    const m = /^\s*([A-Za-z_][\w]*)\s*=\s*([+-]?\d+)\s*$/.exec(part);
    if (!m) throw new Error(`--edit: expected attribute=code, got "${part}"`);
    const [, name, value] = m;
    if (!editor.attributes.includes(name)) {
      throw new Error(
        `--edit: unknown attribute "${name}"; expected one of ${editor.attributes.join(", ")}`,
      );
    }
    const v = Number(value);
    if (![-1, 0, 1].includes(v)) {
      throw new Error(`--edit: ${name} must be -1, 0 or +1, got ${value}`);
    }
    codes[name] = v;
  }
  const arr = await readNpy(input);
  if (arr.dtype !== "float32") throw new Error(`--in: expected float latents, got ${arr.dtype}`);
  const shape = arr.shape;
  const isW = shape.length === 2 && shape[1] === 512;
  const isWPlus = shape.length === 3 && shape[1] === 18 && shape[2] === 512;
  if (!isW && !isWPlus) {
    throw new Error(`--in: expected W+ [N, 18, 512] or W [N, 512], got [${shape.join(", ")}]`);
  }
  const topK = args.options["top-k"] === undefined ? undefined : Number(args.options["top-k"]);
  const latents = tf.tensor(arr.data, shape);
  const result = editor.edit(latents, codes, { topK }); // checks NaN, codes and k before anything is written
  const N = shape[0];
  const edited = result.combined.dataSync() as Float32Array;
  let grid: ReturnType<typeof editGrid> | null = null;
  if (args.options.png) {
    const world = await loadSynthFace({ evaluators: false });
    if (world.attributes.join() !== editor.attributes.join()) {
      throw new Error("--png: the editor's attributes are not the synthface world's");
    }
    const wp = editor.toWPlus(latents);
    const cols = tf.tidy(
      () => [
        world.synthesize(wp, { resolution: 128 }),
        world.synthesize(result.combined, { resolution: 128 }),
      ],
    );
    grid = editGrid(cols, [
      "before",
      Object.entries(codes).map(([k, v]) => `${k}${v > 0 ? "+" : v < 0 ? "-" : "="}`).join(" "),
    ]);
  }
  await writeNpy(out, { dtype: "float32", shape: [N, 18, 512], data: edited });
  if (grid && args.options.png) await writePng(args.options.png, grid);
  console.log(
    `edited ${N} latents (${
      Object.entries(codes).map(([k, v]) => `${k}=${v > 0 ? "+1" : v}`).join(", ")
    }) -> ${out}${args.options.png ? ` and ${args.options.png}` : ""}`,
  );
}

try {
  await main();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
