/**
 * The wasm backend's registered Conv2DBackpropFilter against the cpu backend's own kernel, and
 * the BatchMatMul gradient override against the matrix calculus (dA = dC B^T, dB = A^T dC).
 */
import { assert, maxAbsDiff, tf } from "./_util.ts";
import { Rng } from "../lib/util/rng.ts";

tf.env().set("IS_TEST", true); // the cpu backend's "install tfjs-node" banner is noise here

function inputGrad(
  backend: string,
  dy: Float32Array,
  dys: number[],
  w: Float32Array,
  fs: [number, number, number, number],
  xs: number[],
  stride: number,
  pad: "same" | "valid",
) {
  tf.setBackend(backend);
  return tf.tidy(() =>
    (tf.engine().runKernel(
      "Conv2DBackpropInput",
      { dy: tf.tensor4d(dy, dys as [number, number, number, number]), filter: tf.tensor4d(w, fs) },
      {
        strides: [stride, stride],
        pad,
        dataFormat: "NHWC",
        inputShape: xs,
      } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor).dataSync() as Float32Array
  );
}

function filterGrad(
  backend: string,
  x: Float32Array,
  xs: number[],
  dy: Float32Array,
  dys: number[],
  fs: [number, number, number, number],
  stride: number,
  pad: "same" | "valid",
) {
  tf.setBackend(backend);
  return tf.tidy(() =>
    (tf.engine().runKernel(
      "Conv2DBackpropFilter",
      {
        x: tf.tensor4d(x, xs as [number, number, number, number]),
        dy: tf.tensor4d(dy, dys as [number, number, number, number]),
      },
      {
        strides: [stride, stride],
        pad,
        dataFormat: "NHWC",
        filterShape: fs,
      } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor).dataSync() as Float32Array
  );
}

Deno.test("wasm Conv2DBackpropFilter and Conv2DBackpropInput (from forward ops) equal the cpu backend's", async () => {
  await tf.ready();
  const rng = new Rng(4);
  for (
    const [B, H, W, ci, co, k, stride, pad] of [
      [2, 8, 8, 3, 4, 3, 1, "same"],
      [2, 9, 7, 5, 6, 3, 2, "same"],
      [1, 8, 8, 2, 3, 3, 2, "valid"],
      [3, 6, 6, 4, 2, 1, 1, "valid"],
      [1, 11, 11, 2, 2, 5, 2, "same"],
    ] as [number, number, number, number, number, number, number, "same" | "valid"][]
  ) {
    const info = tf.backend_util.computeConv2DInfo([B, H, W, ci], [k, k, ci, co], stride, 1, pad);
    const dys = [B, info.outHeight, info.outWidth, co];
    const x = rng.normals(B * H * W * ci), dy = rng.normals(dys.reduce((a, b) => a * b));
    const onCpu = filterGrad("cpu", x, [B, H, W, ci], dy, dys, [k, k, ci, co], stride, pad);
    const onWasm = filterGrad("wasm", x, [B, H, W, ci], dy, dys, [k, k, ci, co], stride, pad);
    const d = maxAbsDiff(onCpu, onWasm);
    assert(d < 1e-3, `filter k${k} s${stride} ${pad}: max |wasm - cpu| = ${d}`);
    const w = rng.normals(k * k * ci * co);
    const inCpu = inputGrad("cpu", dy, dys, w, [k, k, ci, co], [B, H, W, ci], stride, pad);
    const inWasm = inputGrad("wasm", dy, dys, w, [k, k, ci, co], [B, H, W, ci], stride, pad);
    const di = maxAbsDiff(inCpu, inWasm);
    assert(di < 1e-4, `input k${k} s${stride} ${pad}: max |wasm - cpu| = ${di}`);
  }
  tf.setBackend("wasm");
});

Deno.test("conv net training on wasm: tf.grad through conv2d gives the cpu backend's filter gradient", () => {
  const rng = new Rng(5);
  const x = rng.normals(2 * 8 * 8 * 3), w = rng.normals(3 * 3 * 3 * 4);
  const grad = (backend: string) => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const xt = tf.tensor4d(x, [2, 8, 8, 3]);
      return tf.grad((f: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(xt, f as tf.Tensor4D, 2, "same")))
      )(tf.tensor4d(w, [3, 3, 3, 4])).dataSync() as Float32Array;
    });
  };
  const d = maxAbsDiff(grad("cpu"), grad("wasm"));
  assert(d < 1e-3, `max |wasm - cpu| = ${d}`);
});

Deno.test("the patched kernels neither leak nor double-free (tensor and byte counts stable)", () => {
  tf.setBackend("wasm");
  const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
  const f = tf.variable(tf.randomNormal([3, 3, 3, 4]));
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.sum(
          tf.square(
            tf.conv2d(tf.mul(x, 1) as tf.Tensor4D, f as tf.Variable<tf.Rank.R4>, 2, "same"),
          ),
        ),
      [f],
    );
    const gx = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.conv2d(xx as tf.Tensor4D, f as tf.Variable<tf.Rank.R4>, 2, "same"))
    )(x);
    tf.dispose([value, grads, gx]);
  };
  step();
  const before = tf.memory();
  for (let i = 0; i < 5; i++) step();
  const after = tf.memory();
  assert(
    after.numTensors === before.numTensors && after.numBytes === before.numBytes &&
      after.numDataBuffers === before.numDataBuffers,
    `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
  );
});

Deno.test("BatchMatMul gradient override: every transpose combination and a batched case", () => {
  tf.setBackend("wasm");
  const rng = new Rng(6);
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    for (const batch of [[], [2]]) {
      const A = tf.tensor(rng.normals(12 * (batch[0] ?? 1)), [...batch, ...(ta ? [4, 3] : [3, 4])]);
      const B = tf.tensor(rng.normals(20 * (batch[0] ?? 1)), [...batch, ...(tb ? [5, 4] : [4, 5])]);
      const R = tf.tensor(rng.normals(15 * (batch[0] ?? 1)), [...batch, 3, 5]);
      const [dA, dB] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(a, b, ta, tb), R))
      )([A, B]);
      const sw = (t: tf.Tensor) => tf.transpose(t, t.rank === 3 ? [0, 2, 1] : [1, 0]);
      const Aop = ta ? sw(A) : A, Bop = tb ? sw(B) : B;
      const eA = tf.matMul(R, sw(Bop)), eB = tf.matMul(sw(Aop), R);
      const da = maxAbsDiff(dA.dataSync(), (ta ? sw(eA) : eA).dataSync());
      const db = maxAbsDiff(dB.dataSync(), (tb ? sw(eB) : eB).dataSync());
      assert(da < 1e-5 && db < 1e-5, `ta ${ta} tb ${tb} batch ${batch}: ${da}, ${db}`);
    }
  }
});
