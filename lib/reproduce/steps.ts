/**
 * The chain that rebuilds every number of the project, in order: the world's evaluators, the
 * dataset, both ID-Style editors, the baselines, Tables 1 and 2, and the notebooks' full runs (Table
 * 3 and the figures). Each step names the code and the artifacts it reads, the artifacts it writes,
 * its command (full and quick) and its duration measured on this project's 2-core build machine.
 * Paths of artifacts are relative to the artifacts root (lib/paths.ts), of code to the repository.
 */

export interface StepContext {
  quick: boolean;
  /** Start the step's own resumable state over (it is remade, not resumed). */
  fresh: boolean;
  /** Absolute artifacts root, with a trailing slash. */
  root: string;
}

export interface StepCommand {
  /** A script under lib/cli/ run with `deno run -A`, or a notebook run by jupyter-nbconvert. */
  kind: "deno" | "notebook";
  /** lib/cli/<script> or notebooks/<file>. */
  target: string;
  args: string[];
  env?: Record<string, string>;
}

export interface Step {
  id: string;
  title: string;
  /** Code (files or directories, repository-relative) whose content is an input. */
  code: string[];
  /** Artifacts read (files or directories). */
  inputs: string[];
  /** Artifacts written; the step is missing when one is absent. */
  outputs: string[];
  command(ctx: StepContext): StepCommand;
  /** Minutes on the build machine (2 cores, wasm), full and quick. */
  minutes: { full: number; quick: number };
}

const WORLD_CODE = ["lib/world/synthface", "lib/world/evaluators", "lib/kernels", "lib/util"];
const TRAIN_CODE = ["lib/model", "lib/losses", "lib/train", "lib/optim", "lib/data", ...WORLD_CODE];
const EVALUATORS = [
  "checkpoints/synthface/attr_train.safetensors",
  "checkpoints/synthface/attr_eval.safetensors",
  "checkpoints/synthface/identity.safetensors",
];
const DATA = [
  "data/synthface/train_w.npy",
  "data/synthface/train_mix.parquet",
  "data/synthface/train_latents.parquet",
  "data/synthface/test_w.npy",
  "data/synthface/test_mix.parquet",
  "data/synthface/test_latents.parquet",
];
const EDITORS = [
  "checkpoints/idstyle-synthface-official.safetensors",
  "checkpoints/idstyle-synthface-paper.safetensors",
];
const BASELINE_FILES = ["interfacegan", "isfgan", "styleflow"].map((b) =>
  `checkpoints/baselines/${b}.safetensors`
);

const deno = (target: string, args: string[]): StepCommand => ({ kind: "deno", target, args });

function idstyle(preset: "official" | "paper", minutes: number): Step {
  return {
    id: `idstyle-${preset}`,
    title: `ID-Style, ${preset} preset (default schedule), shipped with its model card`,
    code: TRAIN_CODE,
    inputs: [...EVALUATORS, ...DATA],
    outputs: [`checkpoints/idstyle-synthface-${preset}.safetensors`],
    command: (c) =>
      deno("train.ts", [
        "--model",
        preset,
        "--schedule",
        c.quick ? "quick" : "default",
        "--name",
        `reproduce-${preset}${c.quick ? "-quick" : ""}`,
        "--ship",
        ...(c.fresh ? ["--fresh"] : []),
      ]),
    minutes: { full: minutes, quick: 0.5 },
  };
}

function notebook(file: string, title: string, minutes: number, outputs: string[] = []): Step {
  return {
    id: `notebook-${file.slice(0, 2)}`,
    title: `notebook ${file}: ${title}`,
    code: ["lib", `notebooks/${file}`],
    inputs: [...EVALUATORS, ...DATA, ...EDITORS, ...BASELINE_FILES],
    outputs: [...outputs],
    command: (c) => ({
      kind: "notebook",
      target: `notebooks/${file}`,
      args: [],
      env: c.quick ? { IDSTYLE_QUICK: "1" } : ({} as Record<string, string>),
    }),
    minutes: { full: minutes, quick: 2 },
  };
}

/** The steps, in the order they run. */
export const STEPS: readonly Step[] = [
  {
    id: "evaluators",
    title: "the world's attribute classifiers and identity network",
    code: [...WORLD_CODE, "lib/cli/train_evaluators.ts"],
    inputs: [],
    outputs: EVALUATORS,
    command: (c) => deno("train_evaluators.ts", c.quick ? ["--scale", "0.01"] : []),
    minutes: { full: 102, quick: 1.5 },
  },
  {
    id: "data",
    title: "the synthface dataset (10,000 + 1,000 latents, style-mixed, labelled)",
    code: [...WORLD_CODE, "lib/data", "lib/cli/data.ts"],
    inputs: EVALUATORS,
    outputs: DATA,
    command: (c) => deno("data.ts", c.quick ? ["--quick"] : []),
    minutes: { full: 4, quick: 0.5 },
  },
  idstyle("official", 102),
  idstyle("paper", 70),
  {
    id: "baselines",
    title: "InterFaceGAN, ISF-GAN and StyleFlow",
    code: ["lib/baselines", "lib/cli/train_baselines.ts", ...TRAIN_CODE],
    inputs: [...EVALUATORS, ...DATA],
    outputs: BASELINE_FILES,
    command: (c) =>
      deno("train_baselines.ts", [
        "--only",
        "interfacegan,isfgan,styleflow",
        // Table 1 reads ISF-GAN from its shipped name
        "--isfgan-out",
        `${c.root}checkpoints/baselines/isfgan.safetensors`,
        ...(c.quick ? ["--quick", "--as-shipped"] : []),
      ]),
    minutes: { full: 75, quick: 1 },
  },
  {
    id: "tables",
    title: "Tables 1 and 2 (data/tables/table1.csv, table2.csv)",
    code: [
      "lib/eval",
      "lib/metrics",
      "lib/baselines",
      "lib/model",
      "lib/onnx",
      "lib/cli/evaluate.ts",
    ],
    inputs: [...EVALUATORS, ...DATA, ...EDITORS, ...BASELINE_FILES],
    outputs: ["data/tables/table1.csv", "data/tables/table2.csv"],
    command: (c) =>
      deno("evaluate.ts", [
        "--out",
        `${c.root}data/tables`,
        // no --fresh: the result cache is keyed by every input (lib/eval/table_cache.ts)
        ...(c.quick ? ["--limit", "4", "--budget-ms", "100", "--timing-batch", "8"] : []),
      ]),
    minutes: { full: 65, quick: 1 },
  },
  notebook("01_dataset_and_mixing.ipynb", "dataset and mixing", 2),
  notebook("02_training.ipynb", "training and the shipped curves", 3),
  notebook("03_quantitative.ipynb", "Tables 1 and 2, charts, edits by every method", 20),
  notebook("04_sparsity_entanglement.ipynb", "Figures 4, 8, 9", 14),
  notebook("05_ablations.ipynb", "Table 3 (six ablation rows, data/tables/table3.csv)", 75),
  notebook("06_real_weights.ipynb", "the real pipeline on the fixture networks", 7),
  notebook("07_explore.ipynb", "the explorer, Figures 1, 6 and 7", 15),
];

export function stepById(id: string): Step {
  const s = STEPS.find((x) => x.id === id);
  if (!s) {
    throw new Error(`unknown step "${id}"; expected one of ${STEPS.map((x) => x.id).join(", ")}`);
  }
  return s;
}
