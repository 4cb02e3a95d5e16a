/**
 * Editor checkpoints as safetensors, in the authors' PyTorch state_dict names and layouts, so that
 * a converted official state_dict loads here and ours loads in their code:
 *
 *   iaip.fc.0.weight / bias      [2D]       LayerNorm (official preset only)
 *   iaip.fc.1.weight / bias      [H, 2D] [H] RFC1 (nn.Linear layout [out, in])
 *   iaip.l18.weight / bias       [L, L] [L] CFC
 *   iaip.l1024.0.weight / bias   [D, H] [D] RFC2
 *   iaip.<attribute>_shared      [1, D]     LGD direction P_m (raw, before L1 normalisation)
 *   embedding_attr.weight        [M, L]     layer embedding E (learned) or fixed masks
 *
 * The run configuration travels in the header metadata (`idstyle.config`, JSON).
 */
import * as tf from "@tensorflow/tfjs";
import {
  type EditorConfig,
  type IDStyleConfig,
  makeConfig,
  PAPER_ATTRIBUTES,
  STYLEFLOW_LAYER_ROWS,
} from "../model/config.ts";
import { IDStyleEditor } from "../model/editor.ts";
import type { NamedParam } from "../model/params.ts";
import {
  CheckpointError,
  readSafetensors,
  type SafeTensorsFile,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "./safetensors.ts";
import { readTorch, stateDictAt, toSafetensorsFile } from "./torch.ts";

export const META_CONFIG = "idstyle.config";
export const META_FORMAT = "idstyle.format";
export const FORMAT_VERSION = "1";

/** What a checkpoint records of its run: always the model; loss and optimizer when trained. */
export type CheckpointConfig =
  & Pick<IDStyleConfig, "preset" | "model">
  & Partial<Pick<IDStyleConfig, "loss" | "optim">>;

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  }
  return out;
}

/** Shape of a parameter as PyTorch stores it. */
export function torchShape(p: NamedParam): number[] {
  const s = p.variable.shape as number[];
  return p.layout === "linear" ? [s[1], s[0]] : [...s];
}

/** The editor's parameters as PyTorch would store them. */
export function editorStateDict(editor: IDStyleEditor): Record<string, TensorInput> {
  const out: Record<string, TensorInput> = {};
  for (const p of editor.params()) {
    let data = p.variable.dataSync() as Float32Array;
    const [r, c] = p.variable.shape as number[];
    if (p.layout === "linear") data = transpose2d(data, r, c);
    out[p.name] = { dtype: "F32", shape: torchShape(p), data: Float32Array.from(data) };
  }
  return out;
}

export interface SaveOptions {
  /** Run configuration to store (else the editor's model config alone). */
  config?: CheckpointConfig;
  /** Extra string metadata. */
  metadata?: Record<string, string>;
  /** Extra tensors (for example optimizer state); their names must not clash with parameters. */
  extra?: Record<string, TensorInput>;
}

export async function saveEditor(
  path: string,
  editor: IDStyleEditor,
  opts: SaveOptions = {},
): Promise<void> {
  const tensors = editorStateDict(editor);
  for (const [k, v] of Object.entries(opts.extra ?? {})) {
    if (k in tensors) {
      throw new CheckpointError(`${path}: extra tensor "${k}" clashes with a parameter`);
    }
    tensors[k] = v;
  }
  const config: CheckpointConfig = opts.config ?? { preset: "custom", model: editor.config };
  await writeSafetensors(path, tensors, {
    format: "pt",
    [META_FORMAT]: FORMAT_VERSION,
    [META_CONFIG]: JSON.stringify(config),
    ...opts.metadata,
  });
}

export interface LoadWeightsOptions {
  /** Tensor-name prefixes that are not parameters and may be present (e.g. "optim."). */
  ignorePrefixes?: string[];
}

/** Copies a checkpoint's tensors into the editor, after checking every name, dtype and shape. */
export function loadEditorWeights(
  editor: IDStyleEditor,
  file: SafeTensorsFile,
  source: string,
  opts: LoadWeightsOptions = {},
): void {
  const problems: string[] = [];
  const params = editor.params();
  const known = new Set(params.map((p) => p.name));
  const values = new Map<NamedParam, Float32Array>();
  for (const p of params) {
    const want = torchShape(p);
    const t = file.tensors.get(p.name);
    if (!t) {
      problems.push(`missing tensor "${p.name}" (expected F32 [${want.join(", ")}])`);
      continue;
    }
    if (!["F32", "F16", "BF16", "F64"].includes(t.dtype)) {
      problems.push(`tensor "${p.name}" has dtype ${t.dtype}, expected a floating dtype (F32)`);
      continue;
    }
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      const note = p.layout === "linear" ? " (nn.Linear layout [out, in])" : "";
      problems.push(
        `tensor "${p.name}" has shape [${t.shape.join(", ")}], expected [${
          want.join(", ")
        }]${note}`,
      );
      continue;
    }
    let data = toFloat32(t, p.name);
    const bad = data.reduce((n, v) => n + (Number.isFinite(v) ? 0 : 1), 0);
    if (bad) {
      problems.push(`tensor "${p.name}" holds ${bad} NaN or Inf values`);
      continue;
    }
    if (p.layout === "linear") data = transpose2d(data, want[0], want[1]);
    values.set(p, data);
  }
  const ignore = opts.ignorePrefixes ?? [];
  for (const name of file.tensors.keys()) {
    if (!known.has(name) && !ignore.some((pre) => name.startsWith(pre))) {
      problems.push(`unexpected tensor "${name}" (not a parameter of this configuration)`);
    }
  }
  if (problems.length) {
    throw new CheckpointError(
      `${source}: cannot load into the editor:\n  - ${problems.join("\n  - ")}`,
    );
  }
  for (const [p, data] of values) p.variable.assign(tf.tensor(data, p.variable.shape));
}

/**
 * The configuration a checkpoint was saved with; for a foreign file (a converted official
 * state_dict) without our metadata, inferred from its tensor names as the `official` preset.
 */
export function checkpointConfig(file: SafeTensorsFile, source: string): CheckpointConfig {
  const meta = file.metadata[META_CONFIG];
  if (meta) {
    try {
      const cfg = JSON.parse(meta) as CheckpointConfig;
      if (!cfg.model) throw new Error("no model section");
      return cfg;
    } catch (err) {
      throw new CheckpointError(
        `${source}: corrupt ${META_CONFIG} metadata (${(err as Error).message})`,
      );
    }
  }
  const names = [...file.tensors.keys()];
  const attrs = names.filter((n) => /^iaip\..+_shared$/.test(n)).map((n) => n.slice(5, -7));
  const paperSet = [...PAPER_ATTRIBUTES].sort().join(",");
  if ([...attrs].sort().join(",") !== paperSet) {
    throw new CheckpointError(
      `${source}: no ${META_CONFIG} metadata, and its directions (${
        attrs.join(", ")
      }) are not the paper's four; pass the configuration explicitly`,
    );
  }
  const emb = file.tensors.get("embedding_attr.weight");
  let layerEmbedding: EditorConfig["layerEmbedding"] = "none";
  if (emb) {
    const v = toFloat32(emb, "embedding_attr.weight");
    const fixed = PAPER_ATTRIBUTES.flatMap((a) => {
      const m = new Array(18).fill(0);
      for (const r of STYLEFLOW_LAYER_ROWS[a]) m[r] = 1;
      return m;
    });
    layerEmbedding = v.length === fixed.length && v.every((x, i) => x === fixed[i])
      ? "fixed"
      : "learned";
  }
  return makeConfig("official", {
    preset: "official (inferred)",
    model: {
      inputLayerNorm: file.tensors.has("iaip.fc.0.weight"),
      mixer: file.tensors.has("iaip.l18.weight"),
      layerEmbedding,
    },
  });
}

export interface LoadedEditor {
  editor: IDStyleEditor;
  config: CheckpointConfig;
  metadata: Record<string, string>;
}

/** PyTorch files (read without Python): the authors' `100000.ckpt` and its kind. */
export const TORCH_CHECKPOINT = /\.(ckpt|pt|pth)$/i;

/**
 * An editor checkpoint's tensors: ours (.safetensors) or a PyTorch state_dict (the authors'
 * `torch.save(model.state_dict())`, or one nested under "state_dict" / "model").
 */
export async function readEditorFile(path: string): Promise<SafeTensorsFile> {
  if (!TORCH_CHECKPOINT.test(path)) return await readSafetensors(path);
  const obj = await readTorch(path);
  const top = (obj && typeof obj === "object" ? obj : {}) as Record<string, unknown>;
  const key = ["state_dict", "model"].find((k) => k in top && !("iaip.fc.1.weight" in top));
  return toSafetensorsFile(stateDictAt(obj, key, path));
}

/** Reads a checkpoint and builds the editor it describes (or `config` if given). */
export async function loadEditor(
  path: string,
  opts: LoadWeightsOptions & { config?: CheckpointConfig } = {},
): Promise<LoadedEditor> {
  const file = await readEditorFile(path);
  const config = opts.config ?? checkpointConfig(file, path);
  const editor = new IDStyleEditor(config.model);
  try {
    loadEditorWeights(editor, file, path, opts);
  } catch (err) {
    editor.dispose();
    throw err;
  }
  return { editor, config, metadata: file.metadata };
}
