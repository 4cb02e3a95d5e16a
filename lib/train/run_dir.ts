/**
 * A run directory, checkpoints/runs/<name>/:
 *
 *   config.json               the run's configuration, written before step 0
 *   world.json                the world and its learned parts (identity network hash and AUC)
 *   metrics.jsonl             one JSON line per logging step ({"type":"train",...}) and evaluation
 *                             ({"type":"eval",...})
 *   checkpoint.safetensors    the editor, the optimizer's moments (optim.m.<i>, optim.s.<i>) and
 *                             the step, written atomically every N steps; resuming from it gives
 *                             the losses of an uninterrupted run
 *   samples/step_<N>.png      edits of fixed test faces at each evaluation
 *   editor.safetensors        the final editor (parameters only)
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { type CheckpointConfig, loadEditorWeights, saveEditor } from "../io/checkpoint.ts";
import { readSafetensors, type TensorInput, toFloat32 } from "../io/safetensors.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import type { AdaBelief } from "../optim/adabelief.ts";
import { type Raster, writePng } from "../viz/png.ts";
import { artifactPath } from "../paths.ts";

export const RUNS_DIR = artifactPath("checkpoints/runs/");

export type MetricRow =
  & { type: "train" | "eval"; step: number }
  & Record<string, number | string | null>;

export class RunDir {
  constructor(readonly path: string) {}

  static async create(name: string, root = RUNS_DIR): Promise<RunDir> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new RangeError(`run name: expected letters, digits, '.', '_' or '-', got "${name}"`);
    }
    const dir = new RunDir(`${root.replace(/\/$/, "")}/${name}`);
    await Deno.mkdir(`${dir.path}/samples`, { recursive: true });
    return dir;
  }

  get checkpointPath(): string {
    return `${this.path}/checkpoint.safetensors`;
  }

  async writeConfig(config: unknown): Promise<void> {
    await writeFileAtomic(`${this.path}/config.json`, JSON.stringify(config, null, 2) + "\n");
  }

  async readConfig<T>(): Promise<T | null> {
    try {
      return JSON.parse(await Deno.readTextFile(`${this.path}/config.json`)) as T;
    } catch {
      return null;
    }
  }

  async appendMetrics(row: MetricRow): Promise<void> {
    await Deno.writeTextFile(`${this.path}/metrics.jsonl`, JSON.stringify(row) + "\n", {
      append: true,
    });
  }

  /** Every complete line (a line cut by a crash is skipped). */
  async readMetrics(): Promise<MetricRow[]> {
    let text = "";
    try {
      text = await Deno.readTextFile(`${this.path}/metrics.jsonl`);
    } catch {
      return [];
    }
    const rows: MetricRow[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line));
      } catch { /* partial last line */ }
    }
    return rows;
  }

  /** Keeps only the rows up to `step` (after a resume from an earlier checkpoint). */
  async truncateMetrics(step: number): Promise<void> {
    const rows = (await this.readMetrics()).filter((r) => r.step <= step);
    await writeFileAtomic(
      `${this.path}/metrics.jsonl`,
      rows.map((r) => JSON.stringify(r) + "\n").join(""),
    );
  }

  async saveCheckpoint(
    editor: IDStyleEditor,
    optimizer: AdaBelief,
    step: number,
    config: CheckpointConfig,
    /** Training time so far, over every call that contributed (resumes included). */
    seconds = 0,
  ): Promise<void> {
    const state = optimizer.getState();
    const extra: Record<string, TensorInput> = {};
    optimizer.variables.forEach((v, i) => {
      extra[`optim.m.${i}`] = { dtype: "F32", shape: v.shape as number[], data: state.m[i] };
      extra[`optim.s.${i}`] = { dtype: "F32", shape: v.shape as number[], data: state.s[i] };
    });
    await saveEditor(this.checkpointPath, editor, {
      config,
      extra,
      metadata: {
        "train.step": String(step),
        "train.seconds": seconds.toFixed(1),
        "optim.step": String(state.step),
      },
    });
  }

  /**
   * Restores the editor and optimizer; returns the number of steps done and the training time
   * they took, or null without a checkpoint.
   */
  async loadCheckpoint(
    editor: IDStyleEditor,
    optimizer: AdaBelief,
  ): Promise<{ step: number; seconds: number } | null> {
    try {
      await Deno.stat(this.checkpointPath);
    } catch {
      return null;
    }
    const file = await readSafetensors(this.checkpointPath);
    loadEditorWeights(editor, file, this.checkpointPath, { ignorePrefixes: ["optim."] });
    const m = optimizer.variables.map((_, i) =>
      toFloat32(file.tensors.get(`optim.m.${i}`)!, `optim.m.${i}`)
    );
    const s = optimizer.variables.map((_, i) =>
      toFloat32(file.tensors.get(`optim.s.${i}`)!, `optim.s.${i}`)
    );
    optimizer.setState({ step: Number(file.metadata["optim.step"]), m, s });
    return {
      step: Number(file.metadata["train.step"]),
      seconds: Number(file.metadata["train.seconds"] ?? 0),
    };
  }

  async saveEditor(
    editor: IDStyleEditor,
    config: CheckpointConfig,
    metadata: Record<string, string> = {},
  ): Promise<string> {
    const path = `${this.path}/editor.safetensors`;
    await saveEditor(path, editor, { config, metadata });
    return path;
  }

  async writeSamples(step: number, raster: Raster): Promise<string> {
    const path = `${this.path}/samples/step_${String(step).padStart(6, "0")}.png`;
    await writePng(path, raster);
    return path;
  }
}
