/**
 * What the tfjs wasm backend lacks or does slowly, measured on the build machines:
 *
 * - `Conv2DBackpropFilter` is not registered, so no conv net can be trained on wasm. We register a
 *   kernel built from forward ops: strided slices of the padded input (im2col) and one plain matMul.
 * - `matMul` with `transposeA` runs about 60x slower than a plain matMul of the same size, and
 *   `transposeB` about 14x (XNNPACK only takes the plain layout). The default gradient of
 *   `BatchMatMul` uses both flags, so every dense layer's backward pass pays it. We override that
 *   gradient to transpose explicitly (a memory pass, about 1 ns per element) and then call a plain
 *   matMul.
 *
 * Both are checked against the cpu backend in tests/wasm_patches_test.ts.
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
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): {
    dataId: unknown;
    shape: number[];
    dtype: tf.DataType;
  };
}

/**
 * Filter gradient of a 2D convolution from forward ops (NHWC, dilation 1):
 *   dW[kh, kw, ci, co] = sum_{b, y, x} Xpad[b, y*sh + kh, x*sw + kw, ci] * dY[b, y, x, co].
 * The K = kh*kw strided slices of the padded input form the im2col matrix P [N, K*Ci]
 * (N = B*Ho*Wo); dW = (dY^T P)^T, with dY^T [Co, N] the only large transpose.
 */
export function conv2dBackpropFilterFromForward(
  x: tf.Tensor4D, // [B, H, W, Ci]
  dy: tf.Tensor4D, // [B, Ho, Wo, Co]
  filterShape: [number, number, number, number], // [kh, kw, Ci, Co]
  strides: number | [number, number],
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding,
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
    const [kh, kw, ci, co] = filterShape;
    const { top, bottom, left, right } = info.padInfo;
    const xp = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const B = x.shape[0];
    const ho = info.outHeight, wo = info.outWidth;
    const sh = info.strideHeight, sw = info.strideWidth;
    const cols: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        cols.push(
          tf.stridedSlice(
            xp,
            [0, i, j, 0],
            [B, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, ci],
            [1, sh, sw, 1],
          ),
        );
      }
    }
    const n = B * ho * wo;
    const patches = tf.reshape(cols.length === 1 ? cols[0] : tf.concat(cols, 3), [n, kh * kw * ci]);
    const dyT = tf.transpose(tf.reshape(dy, [n, co])); // [Co, N]
    const gT = tf.matMul(dyT, patches); // [Co, K*Ci]
    return tf.reshape(tf.transpose(gT), [kh, kw, ci, co]) as tf.Tensor4D;
  });
}

let installed = false;

/**
 * Registers the wasm `Conv2DBackpropFilter` kernel and, where asked (wasm and cpu, whose matMul
 * is slow with transpose flags), the `BatchMatMul` gradient override. Idempotent.
 */
export function installWasmPatches(opts: { matMulGradient: boolean }): void {
  if (installed) return;
  installed = true;
  if (opts.matMulGradient) tf.registerGradient(batchMatMulGrad);
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad, dimRoundingMode, filterShape, dataFormat } = attrs as unknown as {
        strides: [number, number];
        pad: "valid" | "same" | number;
        dimRoundingMode?: "floor" | "round" | "ceil";
        filterShape: [number, number, number, number];
        dataFormat: "NHWC" | "NCHW";
      };
      if (dataFormat && dataFormat !== "NHWC") {
        throw new Error(
          `Conv2DBackpropFilter (wasm patch): only NHWC is supported, got ${dataFormat}`,
        );
      }
      // Wrap the inputs as tensors without taking their memory: one extra reference each.
      const engine = tf.engine();
      wasm.incRef(x.dataId);
      wasm.incRef(dy.dataId);
      const xt = engine.makeTensorFromTensorInfo(x as tf.TensorInfo) as tf.Tensor4D;
      const dyt = engine.makeTensorFromTensorInfo(dy as tf.TensorInfo) as tf.Tensor4D;
      try {
        const g = conv2dBackpropFilterFromForward(
          xt,
          dyt,
          filterShape,
          strides,
          pad,
          dimRoundingMode,
        );
        const values = g.dataSync() as Float32Array;
        g.dispose();
        return wasm.makeOutput(filterShape, "float32", undefined, values) as tf.TensorInfo;
      } finally {
        xt.dispose();
        dyt.dispose();
      }
    },
  });
}
