/**
 * The machine's yardsticks, each in the runtime of the figures set against it: a plain
 * 1024 x 1024 x 1024 matrix product in tfjs (the current backend, read back) and in
 * onnxruntime-node (a one-node MatMul graph fed ort tensors, at a given intra-op thread count).
 */
import * as tf from "@tensorflow/tfjs";
import ort from "onnxruntime-node";
import { GraphBuilder } from "../onnx/builder.ts";

export const MATMUL_N = 1024;

/** GFLOP/s of an n^3 matrix product that took `ms`. */
export function matmulRate(ms: number, n = MATMUL_N): number {
  return (2 * n ** 3) / (ms * 1e6);
}

/** The tfjs yardstick: a plain n x n x n matMul on the current backend, read back. */
export interface TfjsMatmul {
  run: () => void;
  dispose: () => void;
}

export function tfjsMatmul(n = MATMUL_N): TfjsMatmul {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  return {
    // Not inside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
    run: () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    },
    dispose: () => tf.dispose([a, b]),
  };
}

/** The onnxruntime yardstick: a one-node MatMul graph, n x n x n, fed ort tensors. */
export interface OrtMatmul {
  threads: number;
  run: () => Promise<void>;
  release: () => Promise<void>;
}

export async function ortMatmul(threads: number, n = MATMUL_N): Promise<OrtMatmul> {
  const g = new GraphBuilder("matmul");
  g.op("MatMul", [g.input("a", [n, n]), g.input("b", [n, n])], {}, "c");
  g.output("c", [n, n]);
  const session = await ort.InferenceSession.create(g.encode(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const values = () => Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 997) / 997);
  const feeds = {
    a: new ort.Tensor("float32", values(), [n, n]),
    b: new ort.Tensor("float32", values(), [n, n]),
  };
  return {
    threads,
    run: async () => void await session.run(feeds),
    release: () => session.release(),
  };
}
