/**
 * The command lines: `deno task edit` on good and bad input (one-line errors, non-zero exits, no
 * partial output), `deno task export-onnx`, and the main job, `deno task demo`.
 */
import { assert, assertEquals, maxAbsDiff, tf } from "./_util.ts";
import { readNpy, writeNpy } from "../lib/io/npy.ts";
import { loadEditor } from "../lib/io/checkpoint.ts";
import { SHIPPED_CHECKPOINTS } from "../lib/train/shipped.ts";
import { Rng } from "../lib/util/rng.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { loadBaseline } from "../lib/baselines/load.ts";
import { sequentialEdit } from "../lib/eval/sequential.ts";

const root = new URL("../", import.meta.url).pathname;

async function run(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}lib/cli/${script}`, ...args],
    env: { IDSTYLE_QUIET: "1" },
    cwd: root,
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("deno task edit: W+ and W latents, several edits at once, output equal to the library's", async () => {
  const dir = await Deno.makeTempDir();
  const rng = new Rng(4);
  const data = rng.normals(3 * 18 * 512);
  await writeNpy(`${dir}/in.npy`, { dtype: "float32", shape: [3, 18, 512], data });
  const r = await run("edit.ts", [
    "--in",
    `${dir}/in.npy`,
    "--edit",
    "smile=+1,age=-1",
    "--out",
    `${dir}/out.npy`,
    "--png",
    `${dir}/g.png`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const out = await readNpy(`${dir}/out.npy`);
  assertEquals(out.shape, [3, 18, 512]);
  const { editor } = await loadEditor(SHIPPED_CHECKPOINTS.official);
  const ref = editor.edit(tf.tensor3d(data, [3, 18, 512]), { smile: 1, age: -1 }).combined
    .dataSync();
  assert(maxAbsDiff(out.data, ref) < 1e-5, "same as editor.edit");
  assert((await Deno.stat(`${dir}/g.png`)).size > 1000, "a png");
  await writeNpy(`${dir}/w.npy`, { dtype: "float32", shape: [2, 512], data: rng.normals(2 * 512) });
  const rw = await run("edit.ts", [
    "--in",
    `${dir}/w.npy`,
    "--edit",
    "glasses=1",
    "--out",
    `${dir}/w_out.npy`,
  ]);
  assertEquals(rw.code, 0, rw.stderr);
  assertEquals((await readNpy(`${dir}/w_out.npy`)).shape, [2, 18, 512]);
});

Deno.test("deno task edit: bad input gives a one-line error, a non-zero exit and no output file", async () => {
  const dir = await Deno.makeTempDir();
  await writeNpy(`${dir}/bad_shape.npy`, {
    dtype: "float32",
    shape: [2, 17, 512],
    data: new Float32Array(2 * 17 * 512),
  });
  await writeNpy(`${dir}/ints.npy`, { dtype: "int32", shape: [1, 512], data: new Int32Array(512) });
  const nan = new Float32Array(18 * 512);
  nan[7] = NaN;
  await writeNpy(`${dir}/nan.npy`, { dtype: "float32", shape: [1, 18, 512], data: nan });
  await writeNpy(`${dir}/ok.npy`, {
    dtype: "float32",
    shape: [1, 18, 512],
    data: new Float32Array(18 * 512),
  });
  await Deno.writeTextFile(`${dir}/not.npy`, "hello");
  const cases: [string[], string][] = [
    [["--in", `${dir}/missing.npy`, "--edit", "smile=1"], "no such file"],
    [["--in", `${dir}/not.npy`, "--edit", "smile=1"], "bad magic"],
    [["--in", `${dir}/bad_shape.npy`, "--edit", "smile=1"], "[2, 17, 512]"],
    [["--in", `${dir}/ints.npy`, "--edit", "smile=1"], "float"],
    [["--in", `${dir}/nan.npy`, "--edit", "smile=1"], "NaN"],
    [["--in", `${dir}/ok.npy`, "--edit", "beard=1"], 'unknown attribute "beard"'],
    [["--in", `${dir}/ok.npy`, "--edit", "smile=2"], "must be -1, 0 or +1"],
    [["--in", `${dir}/ok.npy`, "--edit", "smile"], "attribute=code"],
    [["--in", `${dir}/ok.npy`, "--edit", "smile=1", "--top-k", "600"], "topK"],
    [["--in", `${dir}/ok.npy`, "--edit", "smile=1", "--checkpoint", `${dir}/ok.npy`], "corrupt"],
    [["--in", `${dir}/ok.npy`, "--edit", "smile=1", "--method", "stylegan"], "--method"],
    [
      ["--in", `${dir}/ok.npy`, "--edit", "smile=1", "--method", "interfacegan", "--top-k", "5"],
      "--top-k",
    ],
    [["--in", `${dir}/nan.npy`, "--edit", "smile=1", "--method", "interfacegan"], "NaN"],
    [
      ["--in", `${dir}/ok.npy`, "--edit", "beard=1", "--method", "styleflow"],
      'unknown attribute "beard"',
    ],
  ];
  for (const [args, fragment] of cases) {
    const r = await run("edit.ts", [...args, "--out", `${dir}/out.npy`]);
    assert(r.code !== 0, `${args.join(" ")}: exit ${r.code}`);
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[idstyle]"));
    assertEquals(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert(
      lines[0].startsWith("error: ") && lines[0].includes(fragment),
      `${args.join(" ")}: ${lines[0]}`,
    );
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("out"));
    assertEquals(left, [], `${args.join(" ")} left ${left}`);
  }
  const help = await run("edit.ts", ["--help"]);
  assertEquals(help.code, 0);
  assert(help.stdout.includes("--edit"), help.stdout);
});

Deno.test("deno task edit --method: a baseline's edits, one after another, equal to the library's", async () => {
  const dir = await Deno.makeTempDir();
  const world = await loadSynthFace();
  const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(2, 77))));
  const data = w.dataSync() as Float32Array;
  await writeNpy(`${dir}/in.npy`, { dtype: "float32", shape: [2, 18, 512], data });
  for (const method of ["interfacegan", "styleflow"] as const) {
    const r = await run("edit.ts", [
      "--method",
      method,
      "--in",
      `${dir}/in.npy`,
      "--edit",
      "glasses=+1,smile=-1",
      "--out",
      `${dir}/${method}.npy`,
      "--png",
      `${dir}/${method}.png`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes("one after another"), r.stdout);
    const out = await readNpy(`${dir}/${method}.npy`);
    assertEquals(out.shape, [2, 18, 512]);
    const { editor } = await loadBaseline(method, world);
    const M = world.attributes;
    const ref = sequentialEdit(editor, w, [
      { attribute: M.indexOf("glasses"), directions: [1, 1] },
      { attribute: M.indexOf("smile"), directions: [-1, -1] },
    ]);
    const diff = maxAbsDiff(out.data, ref.dataSync());
    assert(diff < 1e-4, `${method}: max |diff| ${diff}`);
    assert(maxAbsDiff(out.data, data) > 0.1, `${method}: the latents changed`);
    assert((await Deno.stat(`${dir}/${method}.png`)).size > 5_000);
    ref.dispose();
  }
  w.dispose();
});

Deno.test("deno task export-onnx writes a graph that onnxruntime runs as tfjs does", async () => {
  const dir = await Deno.makeTempDir();
  const r = await run("export_onnx.ts", [
    "--checkpoint",
    SHIPPED_CHECKPOINTS.paper,
    "--out",
    `${dir}/e.onnx`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.includes("max |diff|"), r.stdout);
  const bad = await run("export_onnx.ts", [
    "--checkpoint",
    `${dir}/none.safetensors`,
    "--out",
    `${dir}/f.onnx`,
  ]);
  assert(bad.code !== 0 && bad.stderr.includes("no such file"), bad.stderr);
});

Deno.test({
  name: "deno task demo writes the edit grid and the metrics table",
  sanitizeResources: false,
  fn: async () => {
    const r = await run("demo.ts", []);
    assertEquals(r.code, 0, r.stderr);
    const m = JSON.parse(await Deno.readTextFile(`${root}out/demo/metrics.json`));
    assertEquals(Object.keys(m.perAttribute), ["gender", "glasses", "age", "smile"]);
    assertEquals(m.edits, 8 * 4 * 2);
    assert((await Deno.stat(`${root}out/demo/edits.png`)).size > 10_000);
    assert(r.stdout.includes("accuracy (eval classifier)"), r.stdout);
  },
});
