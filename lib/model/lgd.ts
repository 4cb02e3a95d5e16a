/**
 * Learnable Global Directions (paper section 3.2): one direction P_m in R^D per attribute,
 * instance-agnostic, L1-normalised in use so that they carry the direction of an edit and the
 * IAIP carries its intensity. Initialised N(0, lgdInitStd) per element, as the official code.
 */
import * as tf from "@tensorflow/tfjs";
import type { EditorConfig } from "./config.ts";
import { makeParam, type NamedParam, normalInit } from "./params.ts";

export class LearnableGlobalDirections {
  /** One [1, D] parameter per attribute, named `iaip.<attribute>_shared` as in the official code. */
  readonly params: NamedParam[];

  constructor(cfg: EditorConfig, prefix: string) {
    this.params = cfg.attributes.map((a) => {
      const name = `iaip.${a}_shared`;
      return makeParam(
        prefix,
        name,
        "LGD",
        [1, cfg.latentDim],
        normalInit(cfg.seed, name, cfg.latentDim, cfg.lgdInitStd),
      );
    });
  }

  /** The raw directions P, [M, D] (what the sparsity loss sees). */
  raw(): tf.Tensor2D {
    return tf.concat(this.params.map((p) => p.variable), 0) as tf.Tensor2D;
  }

  /** The L1-normalised directions P_m / ||P_m||_1, [M, D]. */
  normalized(): tf.Tensor2D {
    return tf.tidy(() => {
      const p = this.raw();
      return tf.div(p, tf.sum(tf.abs(p), 1, true)) as tf.Tensor2D;
    });
  }
}
