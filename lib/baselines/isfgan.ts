/**
 * ISF-GAN (Liu et al., TMM 2022) in the synthface world, read against its authors' code
 * (yhlleo/stylegan-mmuit, `styleganv2/`): the mapping (isfgan_model.ts, 16,327,168 parameters),
 * StarGAN-v2's discriminator with separate class and real/fake heads (isfgan_discriminator.ts),
 * the attribute-agnostic LPIPS-form distance (isfgan_perceptual.ts), their optimisation
 * (isfgan_optim.ts), configuration and the list of every remaining change (isfgan_config.ts), and
 * the training loop (isfgan_train.ts). This file: the editor.
 *
 * checkpoints/baselines/isfgan.safetensors is the faithful run (`deno task train-baselines --only
 * isfgan`; its metrics file holds the config, ISFGAN_CHANGES, the class head's accuracy and the
 * edit check every 100 steps). Within this CPU's budget (1.1-1.4% of their samples) its mapping
 * does not learn to use its target code, so it edits at chance; the README has the measurements.
 * The earlier cut-down run (a 4-layer discriminator with one shared dense head, perceptual terms
 * over the training classifier's features, 3,000 steps at batch 4) did not edit either; its
 * metrics are kept in isfgan-cutdown.metrics.json. IsfGanEditor.load reads a checkpoint (the file
 * holds only the mapping).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import type { AttributeEditor } from "../eval/evaluate.ts";
import { ISF_DEFAULT, IsfMapping } from "./isfgan_model.ts";
import { STYLEFLOW_LAYER_ROWS } from "../model/config.ts";
import { deriveSeed, Rng } from "../util/rng.ts";
import {
  readSafetensors,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../io/safetensors.ts";

export {
  ISFGAN,
  ISFGAN_CHANGES,
  ISFGAN_QUICK,
  type IsfGanConfig,
  isfR1Weight,
} from "./isfgan_config.ts";
export {
  type IsfGanCheck,
  type IsfGanLossRow,
  type IsfGanResult,
  type IsfGanRunOptions,
  trainIsfGan,
} from "./isfgan_train.ts";
import { f32Entry } from "../io/tensor_input.ts";

/**
 * ISF-GAN as an AttributeEditor: the target code is the source's labels (by the training
 * classifier, as the dataset's) with the edited attribute set to the target; one noise draw per
 * call from a fixed seed; the authors' post-processing keeps every row outside the attribute's.
 */
export class IsfGanEditor implements AttributeEditor {
  readonly name = "ISF-GAN";
  private calls = 0;

  constructor(readonly mapping: IsfMapping, readonly world: SynthFace, readonly seed = 99) {}

  editAttribute(wPlus: tf.Tensor3D, m: number, directions: number[]): tf.Tensor3D {
    const [B, L] = wPlus.shape;
    const M = this.world.attributes.length;
    const rng = new Rng(deriveSeed(this.seed, `noise/${this.calls++}`));
    return tf.tidy(() => {
      const src = tf.cast(
        tf.greater(this.world.classifier(this.world.synthesize(wPlus)), 0),
        "float32",
      ).dataSync();
      const y = tf.tensor2d(
        Array.from(
          { length: B * M },
          (_, k) => (k % M === m ? (directions[Math.floor(k / M)] > 0 ? 1 : 0) : src[k]),
        ),
        [B, M],
      );
      const z = tf.tensor2d(rng.normals(B * ISF_DEFAULT.noiseDim), [B, ISF_DEFAULT.noiseDim]);
      const edited = this.mapping.forward(wPlus, z, y);
      const rows = STYLEFLOW_LAYER_ROWS[this.world.attributes[m]] ?? [...Array(L).keys()];
      const mask = tf.tensor3d(Array.from({ length: L }, (_, r) => (rows.includes(r) ? 1 : 0)), [
        1,
        L,
        1,
      ]);
      return tf.add(tf.mul(edited, mask), tf.mul(wPlus, tf.sub(1, mask))) as tf.Tensor3D;
    });
  }

  countParameters(): number {
    return this.mapping.countParameters();
  }

  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    const tensors: Record<string, TensorInput> = {};
    this.mapping.variables.forEach((
      v,
      i,
    ) => (tensors[`isf.${String(i).padStart(3, "0")}`] = f32Entry(v)));
    await writeSafetensors(path, tensors, {
      method: "ISF-GAN",
      config: JSON.stringify(this.mapping.cfg),
      ...metadata,
    });
  }

  static async load(path: string, world: SynthFace): Promise<IsfGanEditor> {
    const f = await readSafetensors(path);
    const mapping = new IsfMapping(JSON.parse(f.metadata.config));
    mapping.variables.forEach((v, i) => {
      const t = f.tensors.get(`isf.${String(i).padStart(3, "0")}`);
      if (!t || t.shape.join() !== v.shape.join()) {
        throw new Error(`${path}: tensor ${i} missing or of the wrong shape`);
      }
      v.assign(tf.tensor(toFloat32(t), v.shape));
    });
    return new IsfGanEditor(mapping, world);
  }
}
