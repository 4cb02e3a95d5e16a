/**
 * What the tfjs wasm backend lacks or does slowly, measured on the build machines:
 *
 * - `Conv2DBackpropFilter` is not registered, so no conv net can be trained on wasm, and
 *   `Conv2DBackpropInput` runs 3-12x slower than a forward convolution of the same size. We
 *   register both, each as one forward convolution (XNNPACK):
 *     input gradient:  the output gradient dilated by the stride (zeros between), padded, and
 *                      correlated with the kernel flipped in space, in and out channels swapped;
 *     filter gradient: the padded input, transposed to [Ci, H, W, N], correlated with the output
 *                      gradient transposed to [h, w, N, Co] as a kernel with dilation = stride.
 * - `matMul` with `transposeA` runs about 60x slower than a plain matMul of the same size, and
 *   `transposeB` about 14x (XNNPACK only takes the plain layout). The default gradient of
 *   `BatchMatMul` uses both flags, so every dense layer's backward pass pays it. We override that
 *   gradient to transpose explicitly (a memory pass, about 1 ns per element) and then call a plain
 *   matMul.
 *
 * All are checked against the cpu backend in tests/wasm_patches_test.ts.
 */
import * as tf from "@tensorflow/tfjs";

const { backend_util } = tf;

/** A plain matMul of `a` (optionally transposed) by `b` (optionally transposed), no flags. */
function plainMatMul(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  return tf.matMul(ta ? swapLastTwo(a) : a, tb ? swapLastTwo(b) : b);
}

/** Sums a broadcast gradient back to the shape of the input it belongs to. */
function reduceTo(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) {
    return grad;
  }
  const axes = backend_util.getReductionAxes(shape, grad.shape);
  let g = axes.length ? tf.sum(grad, axes, true) : grad;
  g = tf.reshape(g, shape);
  return g;
}

/**
 * Gradient of `BatchMatMul` (C = op(A) op(B)) with explicit transposes:
 *   dA = dC B^T (or its transpose), dB = A^T dC (or its transpose).
 */
const batchMatMulGrad: tf.GradConfig = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    // C = op(A) op(B):  d op(A) = dC op(B)^T  and  d op(B) = op(A)^T dC. A transpose costs a
    // memory pass over its operand, so each product transposes the smaller side:
    // dC op(B)^T = (op(B) dC^T)^T when op(B) is bigger than dC and the result together.
    const da = () => {
      const viaResult = !transposeB && b.size > g.size + a.size;
      const dOpA = viaResult
        ? swapLastTwo(plainMatMul(b, g, false, true))
        : plainMatMul(g, b, false, !transposeB);
      return reduceTo(transposeA ? swapLastTwo(dOpA) : dOpA, a.shape);
    };
    const db = () => {
      const viaResult = !transposeA && a.size > g.size + b.size;
      const dOpB = viaResult
        ? swapLastTwo(plainMatMul(g, a, true, false))
        : plainMatMul(a, g, !transposeA, false);
      return reduceTo(transposeB ? swapLastTwo(dOpB) : dOpB, b.shape);
    };
    return { a: da, b: db };
  },
};

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = [...Array(t.rank).keys()];
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

interface WasmBackendLike {
  incRef(dataId: unknown): void;
}

type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

/** dx of y = conv2d(x, W, stride, pad), from dy [N, h, w, Co] and W [K, K, Ci, Co]. */
export function conv2dBackpropInputFromForward(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: "floor" | "round" | "ceil",
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const { top, left } = info.padInfo;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const [N, h, w, C] = dy.shape;
    const [, H, W] = inputShape;
    let d: tf.Tensor = dy;
    if (sh > 1 || sw > 1) {
      d = tf.reshape(
        tf.pad(tf.reshape(dy, [N, h, 1, w, 1, C]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [
          0,
          sw - 1,
        ], [0, 0]]),
        [N, h * sh, w * sw, C],
      );
    }
    // Pad to H + kh - 1 rows, starting kh - 1 - top above the first output row (likewise columns).
    const pt = kh - 1 - top, pl = kw - 1 - left;
    const pb = H + kh - 1 - pt - h * sh, pr = W + kw - 1 - pl - w * sw;
    if (pb < 0 || pr < 0) {
      d = tf.slice(d, [0, 0, 0, 0], [N, h * sh + Math.min(pb, 0), w * sw + Math.min(pr, 0), C]);
    }
    d = tf.pad(d, [[0, 0], [pt, Math.max(pb, 0)], [pl, Math.max(pr, 0)], [0, 0]]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [K, K, Co, Ci]
    return tf.conv2d(d as tf.Tensor4D, flipped as tf.Tensor4D, 1, "valid");
  });
}

/** dW of y = conv2d(x, W, stride, pad), from x [N, H, W, Ci] and dy [N, h, w, Co]. */
export function conv2dBackpropFilterFromForward(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: "floor" | "round" | "ceil",
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw] = filterShape;
    const [, h, w] = dy.shape;
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    let xp: tf.Tensor = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    xp = tf.slice(xp, [0, 0, 0, 0], [-1, (h - 1) * sh + kh, (w - 1) * sw + kw, -1]); // rows the kernel reaches
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, Hp, Wp, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [h, w, N, Co]
    const g = tf.conv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, "valid", "NHWC", [sh, sw]); // [Ci, kh, kw, Co]
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * Runs a composite of tfjs ops as a wasm kernel: the inputs are wrapped as tensors with an extra
 * reference each, and the result's buffer is handed to the engine (one more reference, then the
 * wrapper is released), so nothing is copied.
 */
function viaOps(
  backend: unknown,
  inputs: tf.TensorInfo[],
  fn: (...ts: tf.Tensor[]) => tf.Tensor,
): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const engine = tf.engine();
  // The profiler is paused inside, so tf.profile shows the composite as one kernel.
  const state = (engine as unknown as { state: { profiling: boolean } }).state;
  const profiling = state.profiling;
  state.profiling = false;
  const wrapped = inputs.map((info) => {
    wasm.incRef(info.dataId);
    return engine.makeTensorFromTensorInfo(info);
  });
  try {
    const out = fn(...wrapped);
    wasm.incRef(out.dataId);
    const info = { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
    out.dispose();
    return info;
  } finally {
    tf.dispose(wrapped);
    state.profiling = profiling;
  }
}

interface ConvAttrs {
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
  dataFormat?: "NHWC" | "NCHW";
  filterShape: [number, number, number, number];
  inputShape: [number, number, number, number];
  dilations?: number | [number, number];
}

function checkAttrs(kernel: string, a: ConvAttrs): void {
  if (a.dataFormat && a.dataFormat !== "NHWC") {
    throw new Error(`${kernel} (wasm patch): only NHWC, got ${a.dataFormat}`);
  }
  const d = a.dilations;
  if (d !== undefined && d !== 1 && !(Array.isArray(d) && d[0] === 1 && d[1] === 1)) {
    throw new Error(`${kernel} (wasm patch): only dilation 1, got ${JSON.stringify(d)}`);
  }
}

let installed = false;

/**
 * Registers the wasm convolution-gradient kernels and, where asked (wasm and cpu, whose matMul
 * is slow with transpose flags), the `BatchMatMul` gradient override. Idempotent.
 */
export function installWasmPatches(opts: { matMulGradient: boolean }): void {
  if (installed) return;
  installed = true;
  if (opts.matMulGradient) tf.registerGradient(batchMatMulGrad);
  registerComposite(
    "Conv2DBackpropFilter",
    ["x", "dy"],
    (x, dy, a) =>
      conv2dBackpropFilterFromForward(x, dy, a.filterShape, a.strides, a.pad, a.dimRoundingMode),
  );
  tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  registerComposite(
    "Conv2DBackpropInput",
    ["dy", "filter"],
    (dy, f, a) =>
      conv2dBackpropInputFromForward(dy, f, a.inputShape, a.strides, a.pad, a.dimRoundingMode),
  );
}

/** Registers a wasm kernel of two 4-D inputs computed by `fn` from forward ops (viaOps). */
function registerComposite(
  kernelName: string,
  inputNames: [string, string],
  fn: (a: tf.Tensor4D, b: tf.Tensor4D, attrs: ConvAttrs) => tf.Tensor,
): void {
  tf.registerKernel({
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvAttrs;
      checkAttrs(kernelName, a);
      const named = inputs as unknown as Record<string, tf.TensorInfo>;
      return viaOps(
        backend,
        inputNames.map((n) => named[n]),
        (t0, t1) => fn(t0 as tf.Tensor4D, t1 as tf.Tensor4D, a),
      );
    },
  });
}
