/**
 * FLOPs of whatever ran, counted from tfjs's kernel profile: matrix products 2 m n k, convolutions
 * 2 x output size x (kernel area x input channels), element-wise and reduction kernels one per
 * element of their largest operand, data movement (reshape, transpose, slice, concat, pad, cast,
 * identity) zero. The convolution gradients count their nominal work (2 x dy size x kernel area x
 * input channels), whatever they run inside (ours on wasm run dilated forward convolutions, which
 * multiply zeros; the profiler shows them as one kernel).
 */
import * as tf from "@tensorflow/tfjs";

const MOVEMENT = new Set([
  "Reshape",
  "Identity",
  "Transpose",
  "Slice",
  "StridedSlice",
  "Concat",
  "Pack",
  "Unpack",
  "PadV2",
  "MirrorPad",
  "Cast",
  "Tile",
  "BroadcastTo",
  "ExpandDims",
  "Squeeze",
  "Reverse",
  "GatherV2",
  "SplitV",
  "Fill",
  "ZerosLike",
  "OnesLike",
]);

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function kernelFlops(
  k: { name: string; inputShapes: number[][]; outputShapes: number[][] },
): number {
  const out = k.outputShapes[0] ?? [];
  if (MOVEMENT.has(k.name)) return 0;
  if (k.name === "Conv2DBackpropInput") {
    const [dy, f] = k.inputShapes; // dy [N, h, w, Co], filter [K, K, Ci, Co]
    return 2 * size(dy) * f[0] * f[1] * f[2];
  }
  if (k.name === "Conv2DBackpropFilter") {
    const dy = k.inputShapes[1], f = out; // filter gradient [K, K, Ci, Co]
    return 2 * size(dy) * f[0] * f[1] * f[2];
  }
  if (k.name === "BatchMatMul" || k.name === "_FusedMatMul") {
    const [a, b] = k.inputShapes;
    const kk = a[a.length - 1] === b[b.length - 2] ? a[a.length - 1] : a[a.length - 2];
    return 2 * size(out) * kk;
  }
  if (k.name === "Conv2D" || k.name === "FusedConv2D") {
    const f = k.inputShapes[1];
    return 2 * size(out) * f[0] * f[1] * f[2];
  }
  if (k.name === "DepthwiseConv2dNative" || k.name === "FusedDepthwiseConv2D") {
    const f = k.inputShapes[1];
    return 2 * size(out) * f[0] * f[1];
  }
  return Math.max(size(out), ...k.inputShapes.map((s) => size(s ?? [])));
}

/** Runs `fn` under the profiler; returns its FLOPs and kernel count. */
export async function profileFlops(fn: () => void): Promise<{ flops: number; kernels: number }> {
  const prof = await tf.profile(fn);
  let flops = 0;
  for (const k of prof.kernels) {
    flops += kernelFlops(
      k as unknown as { name: string; inputShapes: number[][]; outputShapes: number[][] },
    );
  }
  return { flops, kernels: prof.kernels.length };
}
