/**
 * Instance-Aware Intensity Predictor (paper eq. 1-2): from w+ (with its layer encoding) to
 * l_ft in R^{L x D}, the per-row, per-element intensities that fine-tune the global directions.
 *
 *   x    = LayerNorm?(w+ || PE)                 [B, L, 2D]   (|| PE unless ablation E)
 *   h    = ReLU(x W1 + b1)          RFC 2D->H   [B, L, H]    rows share W1
 *   h    = ReLU((h^T Wc + bc)^T)    CFC L->L    [B, L, H]    columns share Wc (unless ablation D)
 *   l_ft = ReLU(h W2 + b2)          RFC H->D    [B, L, D]
 *
 * State_dict names follow the official code: `iaip.fc.0` (LayerNorm), `iaip.fc.1` (RFC1),
 * `iaip.l18` (CFC), `iaip.l1024.0` (RFC2).
 */
import * as tf from "@tensorflow/tfjs";
import type { EditorConfig } from "./config.ts";
import { sinusoidalEncoding } from "./encoding.ts";
import { constant, linearInit, makeParam, type NamedParam } from "./params.ts";

const LN_EPS = 1e-5; // PyTorch's LayerNorm default

export class InstanceAwareIntensityPredictor {
  readonly params: NamedParam[] = [];
  readonly inputDim: number;
  private readonly pe: tf.Tensor3D | null;
  private readonly ln: { gamma: tf.Variable; beta: tf.Variable } | null = null;
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly mix: { w: tf.Variable; b: tf.Variable } | null = null;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;

  constructor(private readonly cfg: EditorConfig, prefix: string) {
    const { numLayers: L, latentDim: D, hiddenDim: H, seed } = cfg;
    this.inputDim = cfg.inputEncoding ? 2 * D : D;
    const din = this.inputDim;
    this.pe = cfg.inputEncoding ? sinusoidalEncoding(L, D) : null;
    const add = (p: NamedParam) => {
      this.params.push(p);
      return p.variable;
    };
    if (cfg.inputLayerNorm) {
      this.ln = {
        gamma: add(
          makeParam(prefix, "iaip.fc.0.weight", "IAIP.layerNorm", [din], constant(din, 1)),
        ),
        beta: add(makeParam(prefix, "iaip.fc.0.bias", "IAIP.layerNorm", [din], constant(din, 0))),
      };
    }
    const lin = (name: string, comp: string, fanIn: number, fanOut: number) => ({
      w: add(
        makeParam(
          prefix,
          `${name}.weight`,
          comp,
          [fanIn, fanOut],
          linearInit(seed, `${name}.weight`, fanIn, fanIn * fanOut),
          {
            layout: "linear",
          },
        ),
      ),
      b: add(
        makeParam(
          prefix,
          `${name}.bias`,
          comp,
          [fanOut],
          linearInit(seed, `${name}.bias`, fanIn, fanOut),
        ),
      ),
    });
    const rfc1 = lin("iaip.fc.1", "IAIP.rfc1", din, H);
    this.w1 = rfc1.w;
    this.b1 = rfc1.b;
    if (cfg.mixer) this.mix = lin("iaip.l18", "IAIP.cfc", L, L);
    const rfc2 = lin("iaip.l1024.0", "IAIP.rfc2", H, D);
    this.w2 = rfc2.w;
    this.b2 = rfc2.b;
  }

  /** wPlus [B, L, D] -> l_ft [B, L, D]. */
  forward(wPlus: tf.Tensor3D): tf.Tensor3D {
    const { numLayers: L, latentDim: D, hiddenDim: H } = this.cfg;
    const B = wPlus.shape[0];
    return tf.tidy(() => {
      let x: tf.Tensor = wPlus;
      if (this.pe) x = tf.concat([wPlus, tf.add(tf.zerosLike(wPlus), this.pe)], 2); // [B, L, 2D] (broadcast: tile is slow on wasm)
      if (this.ln) {
        const { mean, variance } = tf.moments(x, -1, true);
        x = tf.add(
          tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LN_EPS))), this.ln.gamma),
          this.ln.beta,
        );
      }
      let h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [B * L, this.inputDim]), this.w1), this.b1)); // [B*L, H]
      if (this.mix) {
        const cols = tf.reshape(tf.transpose(tf.reshape(h, [B, L, H]), [0, 2, 1]), [B * H, L]); // [B*H, L]
        const mixed = tf.relu(tf.add(tf.matMul(cols, this.mix.w), this.mix.b)); // [B*H, L]
        h = tf.reshape(tf.transpose(tf.reshape(mixed, [B, H, L]), [0, 2, 1]), [B * L, H]);
      }
      const out = tf.relu(tf.add(tf.matMul(h, this.w2), this.b2)); // [B*L, D]
      return tf.reshape(out, [B, L, D]) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.pe?.dispose();
  }
}
