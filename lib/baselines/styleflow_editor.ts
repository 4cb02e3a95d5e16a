/**
 * StyleFlow's editing procedure (DESIGN.md section 3.1) as an attribute editor of the evaluation
 * protocol: z = F(w; source condition); the edited attribute's condition moves to
 * source + degree (v - source) with v its slider's end (add: 1, remove: 0; StyleFlow's degrees);
 * w' = F^-1(z; target); rows outside the attribute's range are copied back from w. The condition
 * of a latent is the world's training-classifier probabilities of its render.
 */
import * as tf from "@tensorflow/tfjs";
import type { AttributeEditor } from "../eval/evaluate.ts";
import type { World } from "../world/types.ts";
import { STYLEFLOW_LAYER_ROWS } from "../model/config.ts";
import { StyleFlow } from "./styleflow.ts";
/** StyleFlow's slider degrees (its UI's attr_degree_list: gender, glasses, age, expression). */
export const STYLEFLOW_DEGREES: Readonly<Record<string, number>> = {
  gender: 1.5,
  glasses: 2.5,
  age: 0.93,
  smile: 1,
};

/** What the editor needs of a world: renders and the training classifier. */
export type ConditionWorld = Pick<World, "attributes" | "synthesize" | "classifier">;

/** The condition of W+ latents: the training classifier's probabilities of their renders, [B, M]. */
export function classifierConditions(world: ConditionWorld, wPlus: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => tf.sigmoid(world.classifier(world.synthesize(wPlus))));
}

export interface StyleFlowEditOptions {
  /** Degree per attribute (default STYLEFLOW_DEGREES; 1 for attributes not listed). */
  degrees?: Readonly<Record<string, number>>;
  /** Rows each attribute edits (default STYLEFLOW_LAYER_ROWS; every row for attributes not listed). */
  rows?: Readonly<Record<string, readonly number[]>>;
  /** RK4 steps of each solve (default the flow's). */
  steps?: number;
}

/**
 * StyleFlow's attribute edit: z = F(w; s), s the source condition; t = s with
 * t_m = s_m + degree_m (v - s_m), v = 1 to add and 0 to remove; w' = F^-1(z; t) on the
 * attribute's rows, every other row copied from w. A latent whose target equals its source
 * (degree 0, or already at v) is returned unchanged, as StyleFlow's UI does.
 */
export class StyleFlowEditor implements AttributeEditor {
  readonly name = "StyleFlow";
  readonly degrees: Readonly<Record<string, number>>;
  readonly rows: Readonly<Record<string, readonly number[]>>;

  constructor(
    readonly flow: StyleFlow,
    readonly world: ConditionWorld,
    readonly opts: StyleFlowEditOptions = {},
  ) {
    if (world.attributes.length !== flow.cfg.condDim) {
      throw new RangeError(
        `world: ${world.attributes.length} attributes, the flow's condition has ${flow.cfg.condDim}`,
      );
    }
    this.degrees = opts.degrees ?? STYLEFLOW_DEGREES;
    this.rows = opts.rows ?? STYLEFLOW_LAYER_ROWS;
  }

  /** Source and target conditions [B, M] of an edit (plain arrays). */
  conditions(wPlus: tf.Tensor3D, m: number, directions: number[]): {
    source: Float32Array;
    target: Float32Array;
  } {
    const M = this.world.attributes.length, B = wPlus.shape[0];
    const s = classifierConditions(this.world, wPlus);
    const source = s.dataSync() as Float32Array;
    s.dispose();
    const deg = this.degrees[this.world.attributes[m]] ?? 1;
    const target = Float32Array.from(source);
    for (let b = 0; b < B; b++) {
      const v = directions[b] > 0 ? 1 : 0;
      target[b * M + m] = source[b * M + m] + deg * (v - source[b * M + m]);
    }
    return { source, target };
  }

  editAttribute(wPlus: tf.Tensor3D, m: number, directions: number[]): tf.Tensor3D {
    const [B, L, D] = wPlus.shape;
    const M = this.world.attributes.length;
    if (D !== this.flow.cfg.dim) {
      throw new RangeError(`wPlus: expected [B, L, ${this.flow.cfg.dim}], got [${wPlus.shape}]`);
    }
    if (directions.length !== B) {
      throw new RangeError(`directions: expected ${B} values, got ${directions.length}`);
    }
    const rows = (this.rows[this.world.attributes[m]] ?? [...Array(L).keys()]).filter((r) => r < L);
    const { source, target } = this.conditions(wPlus, m, directions);
    const same = Array.from({ length: B }, (_, b) => target[b * M + m] === source[b * M + m]);
    if (same.every(Boolean) || rows.length === 0) return tf.clone(wPlus);
    return tf.tidy(() => {
      const R = rows.length;
      const x = tf.reshape(tf.gather(wPlus, tf.tensor1d(rows, "int32"), 1), [
        B * R,
        D,
      ]) as tf.Tensor2D;
      const perRow = (c: Float32Array) =>
        tf.reshape(tf.tile(tf.reshape(tf.tensor2d(c, [B, M]), [B, 1, M]), [1, R, 1]), [
          B * R,
          M,
        ]) as tf.Tensor2D;
      const z = this.flow.forward(x, perRow(source), this.opts.steps);
      const edited = tf.reshape(this.flow.inverse(z, perRow(target), this.opts.steps), [B, R, D]);
      const pieces = Array.from({ length: L }, (_, r) => {
        const k = rows.indexOf(r);
        return k >= 0
          ? tf.slice(edited, [0, k, 0], [B, 1, D])
          : tf.slice(wPlus, [0, r, 0], [B, 1, D]);
      });
      const out = tf.concat(pieces, 1) as tf.Tensor3D;
      if (!same.some(Boolean)) return out;
      const keep = tf.tile(tf.tensor3d(same.map((v) => (v ? 1 : 0)), [B, 1, 1], "bool"), [1, L, D]);
      return tf.where(keep, wPlus, out) as tf.Tensor3D;
    });
  }

  countParameters(): number {
    return this.flow.countParameters();
  }

  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await this.flow.save(path, {
      degrees: JSON.stringify(this.degrees),
      rows: JSON.stringify(this.rows),
      ...(this.opts.steps ? { editSteps: String(this.opts.steps) } : {}),
      ...metadata,
    });
  }

  static async load(path: string, world: ConditionWorld): Promise<StyleFlowEditor> {
    const { flow, metadata } = await StyleFlow.load(path);
    return new StyleFlowEditor(flow, world, {
      degrees: metadata.degrees ? JSON.parse(metadata.degrees) : undefined,
      rows: metadata.rows ? JSON.parse(metadata.rows) : undefined,
      steps: metadata.editSteps ? Number(metadata.editSteps) : undefined,
    });
  }

  dispose(): void {
    this.flow.dispose();
  }
}
