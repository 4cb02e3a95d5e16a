/**
 * Edit Direction Adjustment (paper eq. 3-5): combines the IAIP output, the global directions,
 * the target attribute vector and the layer embedding into the per-attribute edits
 *
 *   Delta_m^i = attr_m * g_m^i * (l_ft^i * P^_m + P^_m),   w^_m^i = w^i + Delta_m^i,
 *
 * where P^_m is the L1-normalised direction and the layer gate g_m^i is sigmoid(E_m^i) (paper,
 * learned), ReLU of a fixed mask (official, StyleFlow's rows), or 1 (ablation F).
 */
import * as tf from "@tensorflow/tfjs";
import { type EditorConfig, fixedLayerMask } from "./config.ts";
import { constant, makeParam, type NamedParam } from "./params.ts";

export class EditDirectionAdjustment {
  readonly params: NamedParam[] = [];
  private readonly embedding: tf.Variable | null = null;

  constructor(private readonly cfg: EditorConfig, prefix: string) {
    const M = cfg.attributes.length, L = cfg.numLayers;
    if (cfg.layerEmbedding === "learned") {
      const p = makeParam(
        prefix,
        "embedding_attr.weight",
        "EDA.layerEmbedding",
        [M, L],
        constant(M * L, cfg.layerEmbeddingInit),
      );
      this.params.push(p);
      this.embedding = p.variable;
    } else if (cfg.layerEmbedding === "fixed") {
      const p = makeParam(
        prefix,
        "embedding_attr.weight",
        "EDA.layerEmbedding",
        [M, L],
        Float32Array.from(fixedLayerMask(cfg).flat()),
        {
          trainable: false,
        },
      );
      this.params.push(p);
      this.embedding = p.variable;
    }
  }

  /** Layer gates g [M, L] in [0, 1]. */
  gates(): tf.Tensor2D {
    const M = this.cfg.attributes.length, L = this.cfg.numLayers;
    return tf.tidy(() => {
      if (!this.embedding) return tf.ones([M, L]) as tf.Tensor2D;
      return (this.cfg.layerEmbedding === "learned"
        ? tf.sigmoid(this.embedding)
        : tf.relu(this.embedding)) as tf.Tensor2D;
    });
  }

  /** Per-row edit coefficients attr_m * g_m^i, [B, M, L]. */
  coefficients(attr: tf.Tensor2D): tf.Tensor3D {
    const [B, M] = attr.shape;
    const L = this.cfg.numLayers;
    return tf.tidy(() =>
      tf.mul(tf.reshape(attr, [B, M, 1]), tf.reshape(this.gates(), [1, M, L])) as tf.Tensor3D
    );
  }

  /** lft [B, L, D], directions P^ [M, D], coef [B, M, L] -> deltas [B, M, L, D]. */
  deltas(lft: tf.Tensor3D, directions: tf.Tensor2D, coef: tf.Tensor3D): tf.Tensor4D {
    const [B, L, D] = lft.shape;
    const M = directions.shape[0];
    return tf.tidy(() => {
      const base = tf.mul(
        tf.reshape(tf.add(lft, 1), [B, 1, L, D]),
        tf.reshape(directions, [1, M, 1, D]),
      ); // [B, M, L, D]
      return tf.mul(base, tf.reshape(coef, [B, M, L, 1])) as tf.Tensor4D;
    });
  }
}
