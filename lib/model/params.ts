/**
 * Named parameters. Names are the authors' PyTorch state_dict keys (for example
 * `iaip.fc.1.weight`), so that checkpoints convert both ways without a rename table; `layout`
 * says how our tensor relates to theirs.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed, Rng } from "../util/rng.ts";

/**
 * `same`: identical tensor. `linear`: ours is [in, out] (x @ W), PyTorch's nn.Linear is
 * [out, in] (x @ W^T), so the 2D tensor is transposed on save and load.
 */
export type TorchLayout = "same" | "linear";

export interface NamedParam {
  /** state_dict key. */
  name: string;
  variable: tf.Variable;
  trainable: boolean;
  layout: TorchLayout;
  /** Component for the parameter-count breakdown (LGD, IAIP.rfc1, ...). */
  component: string;
}

let instances = 0;

/** A fresh prefix so that several editors can live in one tfjs engine. */
export function nextInstancePrefix(kind: string): string {
  return `${kind}${instances++}`;
}

export function makeParam(
  prefix: string,
  name: string,
  component: string,
  shape: number[],
  values: Float32Array,
  opts: { trainable?: boolean; layout?: TorchLayout } = {},
): NamedParam {
  const trainable = opts.trainable ?? true;
  const variable = tf.variable(tf.tensor(values, shape, "float32"), trainable, `${prefix}/${name}`);
  return { name, variable, trainable, layout: opts.layout ?? "same", component };
}

/** PyTorch's default nn.Linear initialisation: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function linearInit(seed: number, label: string, fanIn: number, n: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return new Rng(deriveSeed(seed, label)).uniforms(n, -bound, bound);
}

export function normalInit(seed: number, label: string, n: number, std: number): Float32Array {
  return new Rng(deriveSeed(seed, label)).normals(n, std);
}

export function constant(n: number, value: number): Float32Array {
  return new Float32Array(n).fill(value);
}
