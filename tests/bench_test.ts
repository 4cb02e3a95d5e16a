/** The FLOP counter the benchmarks compare against, by hand on known shapes. */
import { assertEquals, tf } from "./_util.ts";
import { kernelFlops, profileFlops } from "../lib/bench/count_flops.ts";

Deno.test("kernel FLOPs: matMul 2mnk, convolutions and their gradients at nominal cost, element-wise 1, movement 0", () => {
  const k = (name: string, inputShapes: number[][], outputShapes: number[][]) =>
    kernelFlops({ name, inputShapes, outputShapes });
  assertEquals(k("BatchMatMul", [[2, 3], [3, 4]], [[2, 4]]), 2 * 2 * 4 * 3);
  assertEquals(k("BatchMatMul", [[5, 2, 3], [5, 3, 4]], [[5, 2, 4]]), 5 * 2 * 2 * 4 * 3);
  assertEquals(
    k("FusedConv2D", [[1, 8, 8, 3], [3, 3, 3, 16]], [[1, 4, 4, 16]]),
    2 * 4 * 4 * 16 * 9 * 3,
  );
  assertEquals(
    k("Conv2DBackpropInput", [[1, 4, 4, 16], [3, 3, 3, 16]], [[1, 8, 8, 3]]),
    2 * 4 * 4 * 16 * 9 * 3,
  );
  assertEquals(
    k("Conv2DBackpropFilter", [[1, 8, 8, 3], [1, 4, 4, 16]], [[3, 3, 3, 16]]),
    2 * 4 * 4 * 16 * 9 * 3,
  );
  assertEquals(k("Multiply", [[10, 4], [1, 4]], [[10, 4]]), 40);
  assertEquals(k("Sum", [[10, 4]], [[10]]), 40);
  assertEquals(k("Transpose", [[10, 4]], [[4, 10]]), 0);
});

Deno.test("profiled FLOPs of a plain matMul plus an add", async () => {
  const a = tf.ones([6, 5]), b = tf.ones([5, 7]);
  const { flops } = await profileFlops(() =>
    void tf.tidy(() => tf.add(tf.matMul(a, b), 1).dataSync())
  );
  assertEquals(flops, 2 * 6 * 7 * 5 + 6 * 7);
});

Deno.test("a conv's input gradient on wasm counts as one kernel at nominal cost", async () => {
  const x = tf.ones([1, 8, 8, 3]) as tf.Tensor4D, f = tf.ones([3, 3, 3, 16]) as tf.Tensor4D;
  const { flops } = await profileFlops(() =>
    void tf.tidy(() =>
      tf.grad((xx: tf.Tensor) => tf.sum(tf.conv2d(xx as tf.Tensor4D, f, 2, "same")))(x).dataSync()
    )
  );
  const conv = 2 * 4 * 4 * 16 * 9 * 3;
  // forward conv + Sum + its gradient (a fill of ones) + the input gradient, nothing inside it
  assertEquals(flops >= 2 * conv && flops <= 2 * conv + 4 * 4 * 16 * 3, true);
});
