/**
 * The ID-Style editor: LGD + IAIP + EDA (paper Figure 2).
 *
 *   forward(w+ [B, L, D], attr [B, M]) -> l_ft [B, L, D], P^ [M, D], deltas and edited [B, M, L, D]
 *   edit(latents, attr, {topK, intensity}) -> per-attribute latents and the absmax combination
 *
 * `forward` is the training path: shape checks only, no device reads. `edit` is the user path:
 * it also accepts W latents [B, D] (W mode: w repeated on every row), attribute vectors by name,
 * and checks values (finite latents, attr in {-1, 0, 1}, k in 1..D).
 */
import "../backend.ts"; // choose the backend (wasm, not tfjs's slow cpu default) whoever imports the editor
import * as tf from "@tensorflow/tfjs";
import type { EditorConfig } from "./config.ts";
import { validateEditorConfig } from "./config.ts";
import { EditDirectionAdjustment } from "./eda.ts";
import { InstanceAwareIntensityPredictor } from "./iaip.ts";
import { LearnableGlobalDirections } from "./lgd.ts";
import { absmax, applyEditOptions, checkEditOptions, type EditOptions } from "./combine.ts";
import { type NamedParam, nextInstancePrefix } from "./params.ts";
import { assertFinite, assertShape, assertValuesIn, InputError } from "../util/validate.ts";

export interface EditorOutput {
  /** IAIP output l_ft, [B, L, D]. */
  lft: tf.Tensor3D;
  /** L1-normalised global directions P^, [M, D]. */
  directions: tf.Tensor2D;
  /** Per-row edit coefficients attr_m * g_m^i (layer gate), [B, M, L]. */
  coef: tf.Tensor3D;
}

export interface EditorEdits extends EditorOutput {
  /** Per-attribute edits after attr and the layer gates, [B, M, L, D]. */
  deltas: tf.Tensor4D;
  /** Per-attribute edited latents w + deltas, [B, M, L, D]. */
  edited: tf.Tensor4D;
}

/** Attribute targets: a tensor [B, M], one vector for the whole batch, or codes by name. */
export type AttrInput = tf.Tensor2D | readonly number[] | Readonly<Record<string, number>>;

export type { EditOptions } from "./combine.ts";

export interface EditResult {
  /** Latent edited for each attribute alone, [B, M, L, D]. */
  perAttribute: tf.Tensor4D;
  /** All requested edits at once by element-wise absmax (eq. 12), [B, L, D]. */
  combined: tf.Tensor3D;
}

export interface ParameterCount {
  total: number;
  trainable: number;
  /** Per component (LGD, IAIP.layerNorm, IAIP.rfc1, IAIP.cfc, IAIP.rfc2, EDA.layerEmbedding). */
  byComponent: Record<string, { count: number; trainable: number }>;
  /** Per state_dict entry. */
  byName: { name: string; shape: number[]; count: number; trainable: boolean }[];
}

export class IDStyleEditor {
  readonly lgd: LearnableGlobalDirections;
  readonly iaip: InstanceAwareIntensityPredictor;
  readonly eda: EditDirectionAdjustment;
  private disposed = false;

  constructor(readonly config: EditorConfig) {
    validateEditorConfig(config);
    const prefix = nextInstancePrefix("idstyle");
    this.iaip = new InstanceAwareIntensityPredictor(config, prefix);
    this.lgd = new LearnableGlobalDirections(config, prefix);
    this.eda = new EditDirectionAdjustment(config, prefix);
  }

  get attributes(): readonly string[] {
    return this.config.attributes;
  }

  /** Every parameter, in state_dict order (IAIP, LGD, EDA). */
  params(): NamedParam[] {
    return [...this.iaip.params, ...this.lgd.params, ...this.eda.params];
  }

  trainableVariables(): tf.Variable[] {
    return this.params().filter((p) => p.trainable).map((p) => p.variable);
  }

  /**
   * Training path. wPlus [B, L, D], attr [B, M] (values in {-1, 0, 1}, not checked here).
   * `forwardCore` stops before the [B, M, L, D] edits, which the latent losses do not need.
   */
  forwardCore(wPlus: tf.Tensor3D, attr: tf.Tensor2D): EditorOutput {
    this.assertAlive();
    const { numLayers: L, latentDim: D, attributes } = this.config;
    const dims: Record<string, number> = {};
    assertShape("wPlus", wPlus, ["B", L, D], dims);
    assertShape("attr", attr, ["B", attributes.length], dims);
    return tf.tidy(() => ({
      lft: this.iaip.forward(wPlus),
      directions: this.lgd.normalized(),
      coef: this.eda.coefficients(attr),
    }));
  }

  forward(wPlus: tf.Tensor3D, attr: tf.Tensor2D): EditorEdits {
    const { numLayers: L, latentDim: D } = this.config;
    return tf.tidy(() => {
      const core = this.forwardCore(wPlus, attr);
      const deltas = this.eda.deltas(core.lft, core.directions, core.coef);
      const edited = tf.add(tf.reshape(wPlus, [wPlus.shape[0], 1, L, D]), deltas) as tf.Tensor4D;
      return { ...core, deltas, edited };
    });
  }

  /**
   * User path: edits W+ latents [B, L, D] or W latents [B, D] (W mode), with checks.
   * `attr` codes: +1 add / increase, -1 remove / decrease, 0 keep.
   */
  edit(latents: tf.Tensor, attr: AttrInput, opts: EditOptions = {}): EditResult {
    this.assertAlive();
    const { numLayers: L, latentDim: D } = this.config;
    const wPlus = this.toWPlus(latents);
    try {
      assertFinite("latents", wPlus);
      const B = wPlus.shape[0];
      const attrT = this.toAttr(attr, B);
      try {
        checkEditOptions(opts, D);
        return tf.tidy(() => {
          const out = this.forward(wPlus, attrT);
          const deltas = applyEditOptions(out.deltas, opts);
          const base = tf.reshape(wPlus, [B, 1, L, D]);
          return {
            perAttribute: tf.add(base, deltas) as tf.Tensor4D,
            combined: tf.add(wPlus, absmax(deltas)) as tf.Tensor3D,
          };
        });
      } finally {
        if (attrT !== attr) attrT.dispose();
      }
    } finally {
      if (wPlus !== latents) wPlus.dispose();
    }
  }

  /** Accepts [B, L, D] or, in W mode, [B, D]; returns [B, L, D]. */
  toWPlus(latents: tf.Tensor): tf.Tensor3D {
    const { numLayers: L, latentDim: D } = this.config;
    if (!(latents instanceof tf.Tensor)) {
      throw new InputError(
        `latents: expected a tensor [B, ${L}, ${D}] (W+) or [B, ${D}] (W), got ${typeof latents}`,
      );
    }
    if (latents.rank === 2) {
      assertShape("latents", latents, [null, D]);
      return tf.tidy(() => tf.tile(tf.expandDims(latents, 1), [1, L, 1]) as tf.Tensor3D);
    }
    if (latents.rank !== 3) {
      throw new InputError(
        `latents: expected shape [B, ${L}, ${D}] (W+) or [B, ${D}] (W), got [${
          latents.shape.join(", ")
        }]`,
      );
    }
    assertShape("latents", latents, [null, L, D]);
    return latents as tf.Tensor3D;
  }

  /** Normalises the attribute targets to a checked tensor [B, M]. */
  toAttr(attr: AttrInput, batch: number): tf.Tensor2D {
    const names = this.config.attributes;
    const M = names.length;
    if (attr instanceof tf.Tensor) {
      assertShape("attr", attr, [batch, M]);
      assertValuesIn("attr", attr, [-1, 0, 1]);
      return attr as tf.Tensor2D;
    }
    let row: number[];
    if (Array.isArray(attr)) {
      if (attr.length !== M) {
        throw new InputError(
          `attr: expected ${M} values (${names.join(", ")}), got ${attr.length}`,
        );
      }
      row = [...attr];
    } else {
      const rec = attr as Readonly<Record<string, number>>;
      for (const k of Object.keys(rec)) {
        if (!names.includes(k)) {
          throw new InputError(
            `attr: unknown attribute "${k}"; expected one of ${names.join(", ")}`,
          );
        }
      }
      row = names.map((n) => rec[n] ?? 0);
    }
    row.forEach((v, i) => {
      if (v !== -1 && v !== 0 && v !== 1) {
        throw new InputError(`attr.${names[i]}: expected -1, 0 or 1, got ${v}`);
      }
    });
    return tf.tidy(() => tf.tile(tf.tensor2d([row]), [batch, 1]) as tf.Tensor2D);
  }

  /** Parameter count with a per-component and per-tensor breakdown. */
  countParameters(): ParameterCount {
    const byComponent: ParameterCount["byComponent"] = {};
    const byName: ParameterCount["byName"] = [];
    let total = 0, trainable = 0;
    for (const p of this.params()) {
      const n = p.variable.size;
      total += n;
      if (p.trainable) trainable += n;
      const c = (byComponent[p.component] ??= { count: 0, trainable: 0 });
      c.count += n;
      if (p.trainable) c.trainable += n;
      byName.push({ name: p.name, shape: p.variable.shape, count: n, trainable: p.trainable });
    }
    return { total, trainable, byComponent, byName };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params()) p.variable.dispose();
    this.iaip.dispose();
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error("IDStyleEditor: used after dispose()");
  }
}
