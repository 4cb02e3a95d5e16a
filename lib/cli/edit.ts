/**
 * `deno task edit [--method idstyle|interfacegan|isfgan|styleflow] [--checkpoint F] --in latents.npy
 *  --edit smile=+1,age=-1 --out edited.npy [--png P] [--generator G.pt]`: edits W+ [N, 18, 512], [N, 1, 18, 512] (the authors' and StyleFlow's
 * layout) or W [N, 512] latents from a .npy file with one attribute or several at once
 * (element-wise absmax, eq. 12), and writes the result in the layout it was given (W as W+). The
 * checkpoint is ours (.safetensors) or the authors' PyTorch `.ckpt`. With --png, a grid of the faces
 * before and after: rendered by the real StyleGAN2 generator with --generator, else in the
 * synthface world. Every input is checked before anything is written; errors are one line with a
 * non-zero exit, and outputs are written atomically.
 *
 * --method picks the editor: ID-Style (default) or a baseline (its shipped checkpoint in
 * checkpoints/baselines/, or --checkpoint). The baselines edit one attribute at a time, so several
 * attributes are edited one after another in the order given (lib/eval/sequential.ts); they were
 * trained in the synthface world and edit there only.
 */
import { tf } from "../backend.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { readLatents, writeLatents } from "../io/latents.ts";
import { readGeneratorWeights } from "../world/stylegan2/load.ts";
import { renderLatents } from "../world/stylegan2/render.ts";
import { gridRaster, rastersFromNchw } from "../viz/png.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { editGrid } from "../viz/faces.ts";
import { writePng } from "../viz/png.ts";
import { parseArgs } from "./args.ts";
import { WORLD_OPTIONS, worldKind } from "./world_args.ts";
import { DEFAULT_REAL_CONFIG, readRealConfig } from "../world/real/config.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";
import {
  BASELINE_LABELS,
  type BaselineName,
  BASELINES,
  isBaselineName,
  loadBaseline,
} from "../baselines/load.ts";
import { sequentialEdit } from "../eval/sequential.ts";

const METHODS = ["idstyle", ...BASELINES] as const;

const args = parseArgs(Deno.args, {
  usage:
    "deno task edit [--method idstyle|interfacegan|isfgan|styleflow] [--checkpoint F] --in latents.npy --edit smile=+1,age=-1 --out edited.npy [--png grid.png] [--generator G.pt] [--top-k K]",
  flags: { help: "this text" },
  options: {
    method: `${METHODS.join(", ")} (default idstyle); baselines edit attributes one after another`,
    checkpoint:
      `editor checkpoint, ours or the authors' .ckpt (default ${SHIPPED_CHECKPOINTS.official}; for a baseline, its file in checkpoints/baselines/)`,
    in: "input latents, .npy: W+ [N, 18, 512], [N, 1, 18, 512] or W [N, 512], float32 or float64",
    edit: "comma-separated attribute=code, code in -1, 0, +1 (for example smile=+1,age=-1)",
    out: "output .npy, float32, in the input's layout ([N, 1, 18, 512] stays so; W becomes W+)",
    png: "also write a grid of the faces before and after (synthface world, or --generator)",
    generator: "render the --png with this StyleGAN2 generator (rosinality's .pt), at 256 px",
    ...WORLD_OPTIONS,
    "top-k": "keep only the k largest |values| of each row of each edit (1..512)",
  },
});

/** `--edit a=+1,b=-1` as codes per attribute, in the order given. */
function parseCodes(edit: string, attributes: readonly string[]): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const part of edit.split(",")) {
    const m = /^\s*([A-Za-z_][\w]*)\s*=\s*([+-]?\d+)\s*$/.exec(part);
    if (!m) throw new Error(`--edit: expected attribute=code, got "${part}"`);
    const [, name, value] = m;
    if (!attributes.includes(name)) {
      throw new Error(
        `--edit: unknown attribute "${name}"; expected one of ${attributes.join(", ")}`,
      );
    }
    const v = Number(value);
    if (![-1, 0, 1].includes(v)) {
      throw new Error(`--edit: ${name} must be -1, 0 or +1, got ${value}`);
    }
    codes[name] = v;
  }
  return codes;
}

const label = (name: string, v: number) => `${name}${v > 0 ? "+" : v < 0 ? "-" : "="}`;
const describe = (codes: Record<string, number>) =>
  Object.entries(codes).map(([k, v]) => `${k}=${v > 0 ? "+1" : v}`).join(", ");

async function main(): Promise<void> {
  const { in: input, out, edit } = args.options;
  const method = args.options.method ?? "idstyle";
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new Error(`--method: expected one of ${METHODS.join(", ")}, got "${method}"`);
  }
  if (!input) throw new Error("--in is required (latents .npy)");
  if (!out) throw new Error("--out is required (output .npy)");
  if (!edit) throw new Error("--edit is required (for example smile=+1,age=-1)");
  if (!out.endsWith(".npy")) throw new Error(`--out: expected a .npy path, got "${out}"`);
  if (isBaselineName(method)) return await editWithBaseline(method, input, out, edit);
  const { editor } = await loadEditor(args.options.checkpoint ?? SHIPPED_CHECKPOINTS.official);
  const codes = parseCodes(edit, editor.attributes);
  if (args.options.generator && !args.options.png) {
    throw new Error("--generator renders the --png grid; give --png too");
  }
  // --world real renders with the config's generator (the other networks are not needed here).
  const generatorPath = worldKind(args.options, args.fail) === "real"
    ? (await readRealConfig(args.options["real-config"] ?? DEFAULT_REAL_CONFIG)).generator
    : args.options.generator;
  if (generatorPath && !args.options.png) {
    throw new Error("--world real renders the --png grid; give --png too");
  }
  const generator = generatorPath ? await readGeneratorWeights(generatorPath) : null;
  const { numLayers: L, latentDim: D } = editor.config;
  if (generator && (generator.numLatents !== L || generator.styleDim !== D)) {
    throw new Error(
      `--generator: its W+ is [${generator.numLatents}, ${generator.styleDim}] (${generator.size} px), the editor's [${L}, ${D}]`,
    );
  }
  const lat = await readLatents(input, "--in", { numLatents: L, latentDim: D });
  const topK = args.options["top-k"] === undefined ? undefined : Number(args.options["top-k"]);
  const N = lat.n;
  const latents = tf.tensor3d(lat.data, [N, L, D]);
  const result = editor.edit(latents, codes, { topK }); // checks NaN, codes and k before anything is written
  const edited = result.combined.dataSync() as Float32Array;
  let grid: ReturnType<typeof editGrid> | null = null;
  if (generator) {
    // Columns: before, each requested attribute alone, and all together when there are several.
    const active = Object.entries(codes).filter(([, v]) => v !== 0);
    const cols: { label: string; data: Float32Array }[] = [{ label: "before", data: lat.data }];
    const perAttr = result.perAttribute.dataSync() as Float32Array; // [N, M, L, D]
    for (const [name, v] of active) {
      const m = editor.attributes.indexOf(name);
      const data = new Float32Array(N * L * D);
      for (let i = 0; i < N; i++) {
        data.set(
          perAttr.subarray(
            ((i * editor.attributes.length) + m) * L * D,
            ((i * editor.attributes.length) + m + 1) * L * D,
          ),
          i * L * D,
        );
      }
      cols.push({ label: label(name, v), data });
    }
    if (active.length > 1) {
      cols.push({ label: active.map(([k, v]) => label(k, v)).join(" "), data: edited });
    }
    const size = Math.min(256, generator.size);
    const all = new Float32Array(cols.length * N * L * D);
    // row-major grid: face i, column c
    for (let i = 0; i < N; i++) {
      cols.forEach((c, k) =>
        all.set(c.data.subarray(i * L * D, (i + 1) * L * D), (i * cols.length + k) * L * D)
      );
    }
    const { images } = await renderLatents(generator, all, N * cols.length, { size });
    grid = gridRaster(rastersFromNchw(images, N * cols.length, size, size), {
      cols: cols.length,
      colLabels: cols.map((c) => c.label),
    });
  } else if (args.options.png) {
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
      Object.entries(codes).map(([k, v]) => label(k, v)).join(" "),
    ]);
  }
  await writeLatents(out, edited, N, lat.layout, { numLatents: L, latentDim: D });
  if (grid && args.options.png) await writePng(args.options.png, grid);
  console.log(
    `edited ${N} latents (${describe(codes)}) -> ${out}${
      args.options.png ? ` and ${args.options.png}` : ""
    }`,
  );
}

/** A baseline's edit in the synthface world: the attributes one after another, in the order given. */
async function editWithBaseline(
  method: BaselineName,
  input: string,
  out: string,
  edit: string,
): Promise<void> {
  const name = BASELINE_LABELS[method];
  if (args.options.generator || worldKind(args.options, args.fail) === "real") {
    throw new Error(
      `--method ${method}: ${name} was trained in the synthface world and edits there only`,
    );
  }
  if (args.options["top-k"] !== undefined) {
    throw new Error(`--top-k applies to ID-Style's edits, not to --method ${method}`);
  }
  const world = await loadSynthFace();
  const codes = parseCodes(edit, world.attributes);
  const { editor } = await loadBaseline(method, world, args.options.checkpoint);
  const { numLayers: L, latentDim: D } = world;
  const lat = await readLatents(input, "--in", { numLatents: L, latentDim: D });
  const N = lat.n;
  const latents = tf.tensor3d(lat.data, [N, L, D]);
  const active = Object.entries(codes).filter(([, v]) => v !== 0);
  const chain = active.map(([a, v]) => ({
    attribute: world.attributes.indexOf(a),
    directions: new Array(N).fill(v),
  }));
  const combined = sequentialEdit(editor, latents, chain);
  const edited = combined.dataSync() as Float32Array;
  let grid: ReturnType<typeof editGrid> | null = null;
  if (args.options.png) {
    // Columns: before, each requested attribute alone, and the chain when there are several.
    const cols = [world.synthesize(latents, { resolution: 128 })];
    const labels = ["before"];
    for (const step of chain) {
      const one = sequentialEdit(editor, latents, [step]);
      cols.push(world.synthesize(one, { resolution: 128 }));
      one.dispose();
      labels.push(label(world.attributes[step.attribute], step.directions[0]));
    }
    if (chain.length > 1) {
      cols.push(world.synthesize(combined, { resolution: 128 }));
      labels.push(active.map(([k, v]) => label(k, v)).join(" then "));
    }
    grid = editGrid(cols, labels);
  }
  await writeLatents(out, edited, N, lat.layout, { numLatents: L, latentDim: D });
  if (grid && args.options.png) await writePng(args.options.png, grid);
  console.log(
    `${name}: edited ${N} latents (${describe(codes)}${
      active.length > 1 ? ", one after another" : ""
    }) -> ${out}${args.options.png ? ` and ${args.options.png}` : ""}`,
  );
}

try {
  await main();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
