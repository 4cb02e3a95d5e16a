/**
 * The benchmarks' machinery: the FLOP counter they compare against (by hand on known shapes), the
 * interleaved timing (on a fake clock), the merging of rows, and `deno task bench --only
 * stylegan2 --quick` writing its keys. No timing target is asserted here: targets live in the
 * bench's output.
 */
import { assert, assertEquals, tf } from "./_util.ts";
import { kernelFlops, profileFlops } from "../lib/bench/count_flops.ts";
import { interleaved, overBound } from "../lib/bench/timing.ts";
import { mergeRows } from "../lib/bench/report.ts";

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

Deno.test("interleaved: yardstick and figure calls alternate, minima <= medians, balanced reps", async () => {
  let clock = 0;
  const calls: string[] = [];
  // Durations cycle so that some calls look contended; the fastest figure call takes 2, the
  // fastest yardstick call 10.
  const fig = [3, 2, 7, 2.5, 9], yard = [12, 10, 30, 11];
  let fi = 0, yi = 0;
  const figure = () => {
    calls.push("f");
    clock += fig[fi++ % fig.length];
  };
  const yardstick = () => {
    calls.push("y");
    clock += yard[yi++ % yard.length];
  };
  const [fixed] = await interleaved([{ figure, yardstick, reps: 1 }], {
    warmup: 1,
    minRounds: 6,
    maxRounds: 6,
    now: () => clock,
  });
  assertEquals(calls.join(""), "yf".repeat(7));
  assertEquals([fixed.figure.runs, fixed.yardstick.runs], [6, 6]);
  assertEquals([fixed.figure.minMs, fixed.yardstick.minMs], [2, 10]);
  assert(fixed.figure.minMs <= fixed.figure.medianMs);
  assert(fixed.yardstick.minMs <= fixed.yardstick.medianMs);

  // Balanced: after the warm-up, each round runs as many figure calls as took one yardstick call.
  clock = 0;
  calls.length = 0;
  fi = 0;
  yi = 1; // the warm-up yardstick call takes 10
  const [bal] = await interleaved([{ figure, yardstick }], {
    warmup: 1,
    minRounds: 2,
    maxRounds: 2,
    now: () => clock,
  });
  // warm-up: 3 + 2 + 7 >= 10 after three figure calls, so three per round
  assertEquals(calls.join(""), "yfff".repeat(3));
  assertEquals(bal.figure.runs, 6);
  assert(bal.figure.minMs <= bal.figure.medianMs && bal.yardstick.minMs <= bal.yardstick.medianMs);

  // The budget ends the rounds once minRounds are done.
  clock = 0;
  const [budgeted] = await interleaved([{ figure, yardstick, reps: 2 }], {
    warmup: 0,
    minRounds: 2,
    budgetMs: 50,
    now: () => clock,
  });
  assert(budgeted.yardstick.runs >= 2 && budgeted.yardstick.runs < 10);
  assertEquals(budgeted.figure.runs, 2 * budgeted.yardstick.runs);

  // A figure of 2 GFLOP in 100 ms against a 40 GFLOP/s yardstick: 2x its bound of 50 ms.
  assertEquals(overBound(100, 2e9, 40), 2);
});

Deno.test("mergeRows: a yardstick measured by two sections keeps its highest rate", () => {
  const rows = mergeRows([
    { key: "matmul_gflops_tfjs", value: 20, unit: "GFLOP/s", yardstick: true },
    { key: "a_ms", value: 5, unit: "ms" },
    { key: "matmul_gflops_tfjs", value: 25, unit: "GFLOP/s", yardstick: true },
    { key: "matmul_gflops_tfjs", value: 22, unit: "GFLOP/s", yardstick: true },
    { key: "a_ms", value: 4, unit: "ms" },
  ]);
  assertEquals(rows.map((r) => [r.key, r.value]), [["matmul_gflops_tfjs", 25], ["a_ms", 4]]);
});

Deno.test("deno task bench --only stylegan2 --quick writes the StyleGAN2 keys", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  const out = `${dir}/bench.json`;
  await Deno.writeTextFile(out, JSON.stringify({ earlier_key: 1 }));
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}lib/cli/bench.ts`, "--only", "stylegan2", "--quick", "--out", out],
    env: { IDSTYLE_QUIET: "1" },
    cwd: root,
  }).output();
  const stdout = new TextDecoder().decode(res.stdout);
  assertEquals(res.code, 0, new TextDecoder().decode(res.stderr));
  const json = JSON.parse(await Deno.readTextFile(out));
  for (
    const key of [
      "stylegan2_gflop_1024",
      "stylegan2_render_ms_1024_tfjs",
      "stylegan2_render_ms_1024_ort",
      "ort_matmul_gflops",
      "matmul_gflops_tfjs",
      "stylegan2_render_1024_ort_over_bound",
      "stylegan2_render_1024_tfjs_over_bound",
    ]
  ) {
    const v = json[key];
    assert(typeof v === "number" && Number.isFinite(v) && v > 0, `${key}: ${v}\n${stdout}`);
  }
  // the FLOP count of the config-f shapes (about 148 GFLOP), and earlier keys kept
  assert(json.stylegan2_gflop_1024 > 140 && json.stylegan2_gflop_1024 < 160);
  assertEquals(json.earlier_key, 1);
  assertEquals(json.meta.quick, true);
  assert(stdout.includes("target <= 2.5") && stdout.includes("target <= 3"), stdout);
  await Deno.remove(dir, { recursive: true });
});
