/** A tfjs tensor as a float32 safetensors entry (a copy of its values, read synchronously). */
import type * as tf from "@tensorflow/tfjs";
import type { TensorInput } from "./safetensors.ts";

export function f32Entry(t: tf.Tensor): TensorInput {
  return {
    dtype: "F32",
    shape: [...t.shape],
    data: Float32Array.from(t.dataSync() as Float32Array),
  };
}
