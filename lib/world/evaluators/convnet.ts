/**
 * A small convolutional network described by a spec, for the world's evaluators (attribute
 * classifiers and the identity network). Input: images [N, H, W, 3] in [-1, 1], resized to the
 * spec's resolution when they differ. He-initialised from a seed; saved as safetensors with the
 * spec in the metadata.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../../util/rng.ts";
import {
  CheckpointError,
  readSafetensors,
  type TensorInput,
  toFloat32,
  writeSafetensors,
} from "../../io/safetensors.ts";
import { f32Entry } from "../../io/tensor_input.ts";

export type LayerSpec =
  | { kind: "conv"; filters: number; kernel: number; stride: number; relu: boolean; bias?: boolean }
  | { kind: "maxpool" }
  | { kind: "gap" }
  | { kind: "flatten" }
  | { kind: "dense"; units: number; relu: boolean; bias?: boolean }
  /** Subtracts the batch mean in training and a running mean (momentum 0.95) at inference. */
  | { kind: "center" };

export interface NetSpec {
  name: string;
  /** Input resolution (square). */
  resolution: number;
  layers: LayerSpec[];
  /** L2-normalise the output (embeddings). */
  normalize: boolean;
  seed: number;
}

export interface NetOutput {
  out: tf.Tensor2D;
  /** Activations after each conv layer, [N, h, w, c]. */
  maps: tf.Tensor4D[];
  /** Input of the last dense layer, [N, d]. */
  penultimate: tf.Tensor2D;
}

export class ConvNet {
  readonly params = new Map<string, tf.Variable>();
  private readonly order: { spec: LayerSpec; w?: tf.Variable; b?: tf.Variable }[] = [];
  /** Batch means of the centre layers from the last training forward, applied by commitStats(). */
  private pending = new Map<tf.Variable, tf.Tensor>();

  private readonly prefix: string;

  constructor(readonly spec: NetSpec) {
    this.prefix = `${spec.name}${ConvNet.instances++}`;
    let [h, c] = [spec.resolution, 3];
    let flat = 0;
    spec.layers.forEach((l, i) => {
      const rng = new Rng(deriveSeed(spec.seed, `${spec.name}/${i}`));
      if (l.kind === "conv") {
        const fanIn = l.kernel * l.kernel * c;
        const w = this.add(
          `conv${i}.weight`,
          [l.kernel, l.kernel, c, l.filters],
          rng.normals(fanIn * l.filters, Math.sqrt(2 / fanIn)),
        );
        const b = l.bias === false
          ? undefined
          : this.add(`conv${i}.bias`, [l.filters], new Float32Array(l.filters));
        this.order.push({ spec: l, w, b });
        c = l.filters;
        h = Math.ceil(h / l.stride);
      } else if (l.kind === "dense") {
        const fanIn = flat;
        const w = this.add(
          `dense${i}.weight`,
          [fanIn, l.units],
          rng.normals(fanIn * l.units, Math.sqrt((l.relu ? 2 : 1) / fanIn)),
        );
        const b = l.bias === false
          ? undefined
          : this.add(`dense${i}.bias`, [l.units], new Float32Array(l.units));
        this.order.push({ spec: l, w, b });
        flat = l.units;
      } else if (l.kind === "center") {
        const mean = this.add(`center${i}.mean`, [flat], new Float32Array(flat), false);
        this.order.push({ spec: l, w: mean });
      } else {
        if (l.kind === "maxpool") h = Math.ceil(h / 2);
        if (l.kind === "gap") flat = c;
        if (l.kind === "flatten") flat = h * h * c;
        this.order.push({ spec: l });
      }
    });
  }

  private add(name: string, shape: number[], values: Float32Array, trainable = true): tf.Variable {
    const v = tf.variable(tf.tensor(values, shape), trainable, `${this.prefix}/${name}`);
    this.params.set(name, v);
    return v;
  }

  private static instances = 0;

  /** Trainable variables. */
  get variables(): tf.Variable[] {
    return [...this.params.values()].filter((v) => v.trainable);
  }

  countParameters(): number {
    return [...this.params.values()].reduce((s, v) => s + v.size, 0);
  }

  /** Folds the batch means of the last training forward into the running means. */
  commitStats(momentum = 0.95): void {
    for (const [v, m] of this.pending) {
      v.assign(tf.tidy(() => tf.add(tf.mul(v, momentum), tf.mul(m, 1 - momentum))));
      m.dispose();
    }
    this.pending.clear();
  }

  /** images [N, H, W, 3] in [-1, 1] -> outputs, conv maps and penultimate features. */
  forward(images: tf.Tensor4D, opts: { training?: boolean } = {}): NetOutput {
    return tf.tidy(() => {
      const r = this.spec.resolution;
      let x: tf.Tensor = images.shape[1] === r && images.shape[2] === r
        ? images
        : tf.image.resizeBilinear(images, [r, r], true);
      const maps: tf.Tensor4D[] = [];
      let penultimate: tf.Tensor2D | null = null;
      for (const { spec: l, w, b } of this.order) {
        if (l.kind === "conv") {
          x = tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            strides: l.stride,
            pad: "same",
            bias: b,
            activation: l.relu ? "relu" : "linear",
          });
          maps.push(x as tf.Tensor4D);
        } else if (l.kind === "maxpool") {
          x = tf.maxPool(x as tf.Tensor4D, 2, 2, "same");
        } else if (l.kind === "center") {
          if (opts.training) {
            const m = tf.mean(x, 0);
            this.pending.get(w!)?.dispose();
            this.pending.set(w!, tf.keep(tf.clone(m)));
            x = tf.sub(x, m);
          } else {
            x = tf.sub(x, w!);
          }
        } else if (l.kind === "gap") {
          x = tf.mean(x, [1, 2]);
        } else if (l.kind === "flatten") {
          x = tf.reshape(x, [x.shape[0], -1]);
        } else {
          penultimate = x as tf.Tensor2D;
          x = tf.matMul(x as tf.Tensor2D, w!);
          if (b) x = tf.add(x, b);
          if (l.relu) x = tf.relu(x);
        }
      }
      let out = x as tf.Tensor2D;
      if (this.spec.normalize) {
        out = tf.div(out, tf.sqrt(tf.add(tf.sum(tf.square(out), 1, true), 1e-12))) as tf.Tensor2D;
      }
      return { out, maps, penultimate: penultimate ?? out };
    });
  }

  /** Just the output, for the world interface. */
  predict(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.forward(images).out);
  }

  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    const tensors: Record<string, TensorInput> = {};
    for (const [k, v] of this.params) {
      tensors[k] = f32Entry(v);
    }
    await writeSafetensors(path, tensors, { ...metadata, spec: JSON.stringify(this.spec) });
  }

  static async load(path: string, expected?: NetSpec): Promise<ConvNet> {
    const file = await readSafetensors(path);
    let spec: NetSpec;
    try {
      spec = JSON.parse(file.metadata.spec);
    } catch {
      throw new CheckpointError(`${path}: no network spec in the metadata`);
    }
    if (expected && JSON.stringify(expected) !== JSON.stringify(spec)) {
      throw new CheckpointError(
        `${path}: the network spec differs from the expected ${expected.name} spec; retrain with deno task train-evaluators`,
      );
    }
    const net = new ConvNet(spec);
    const problems: string[] = [];
    for (const [k, v] of net.params) {
      const t = file.tensors.get(k);
      if (!t) problems.push(`missing tensor "${k}"`);
      else if (t.shape.join() !== v.shape.join()) {
        problems.push(`tensor "${k}" has shape [${t.shape}], expected [${v.shape}]`);
      } else v.assign(tf.tensor(toFloat32(t, k), v.shape));
    }
    if (problems.length) {
      net.dispose();
      throw new CheckpointError(`${path}: ${problems.join("; ")}`);
    }
    return net;
  }

  dispose(): void {
    tf.dispose([...this.params.values()]);
    for (const m of this.pending.values()) m.dispose();
  }
}
