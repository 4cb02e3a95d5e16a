/**
 * The authors' files used directly: their ID-Style checkpoint (zip and legacy formats) against
 * the outputs their own forward computed on their `data/test_latents.npy`; latent files in the
 * [N, 1, 18, 512] layout; and the command lines that take real files (`render`, `edit
 * --generator`, `convert`, `export-onnx`), with bad input giving one-line errors and no output.
 */
import { assert, assertEquals, assertRejects, maxAbsDiff, tf } from "./_util.ts";
import { loadEditor } from "../lib/io/checkpoint.ts";
import { readNpy, writeNpy } from "../lib/io/npy.ts";
import { decodeLatents, readLatents, writeLatents } from "../lib/io/latents.ts";
import { encodeNpy } from "../lib/io/npy.ts";
import { Rng } from "../lib/util/rng.ts";

const root = new URL("../", import.meta.url).pathname;
const FIX = `${root}tests/fixtures/real/`;

async function run(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}lib/cli/${script}`, ...args],
    env: { IDSTYLE_QUIET: "1" },
    cwd: root,
  }).output();
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

function errorLine(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("[idstyle]"));
  assertEquals(lines.length, 1, stderr);
  assert(lines[0].startsWith("error: "), lines[0]);
  return lines[0];
}

Deno.test("the authors' checkpoint (zip and legacy) loads with the official names and reproduces their forward", async () => {
  const lat = await readLatents(`${FIX}authors_test_latents.npy`, "latents");
  assertEquals([lat.n, lat.layout], [8, "styleflow"]);
  const d = (await readNpy(`${FIX}idstyle_d.npy`)).data as Float32Array;
  const ref = (await readNpy(`${FIX}idstyle_per_attribute.npy`)).data as Float32Array;
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  for (const file of ["idstyle_official.ckpt", "idstyle_official.legacy.ckpt"]) {
    const { editor, config } = await loadEditor(`${FIX}${file}`);
    assertEquals(config.preset, "official (inferred)");
    assertEquals(editor.config.layerEmbedding, "fixed");
    assertEquals(editor.countParameters().total, 791_966);
    const out = editor.forward(tf.tensor3d(lat.data, [8, 18, 512]), tf.tensor2d(d, [8, 4]));
    const diff = maxAbsDiff(out.edited.dataSync(), ref);
    assert(diff <= 1e-5 * scale, `${file}: max |diff| ${diff} (scale ${scale})`);
    editor.dispose();
  }
});

Deno.test("latent files: [N, 1, 18, 512] round trip, W repeated, wrong rows and NaN named", async () => {
  const dir = await Deno.makeTempDir();
  const data = new Rng(1).normals(2 * 18 * 512);
  await writeLatents(`${dir}/a.npy`, data, 2, "styleflow");
  assertEquals((await readNpy(`${dir}/a.npy`)).shape, [2, 1, 18, 512]);
  const back = await readLatents(`${dir}/a.npy`, "--in");
  assertEquals(back.layout, "styleflow");
  assertEquals(maxAbsDiff(back.data, data), 0);
  const w = decodeLatents(
    encodeNpy({ dtype: "float32", shape: [1, 512], data: data.slice(0, 512) }),
    "--in",
  );
  assertEquals([w.layout, w.data.length], ["w", 18 * 512]);
  assertEquals(maxAbsDiff(w.data.subarray(17 * 512), data.subarray(0, 512)), 0);
  const rows16 = encodeNpy({
    dtype: "float32",
    shape: [1, 16, 512],
    data: new Float32Array(16 * 512),
  });
  let err = (() => {
    try {
      decodeLatents(rows16, "--in");
    } catch (e) {
      return (e as Error).message;
    }
  })();
  assert(err?.includes("16 rows") && err.includes("takes 18"), String(err));
  const nan = new Float32Array(18 * 512);
  nan[3] = NaN;
  err = (() => {
    try {
      decodeLatents(encodeNpy({ dtype: "float32", shape: [1, 18, 512], data: nan }), "--in");
    } catch (e) {
      return (e as Error).message;
    }
  })();
  assert(err?.includes("NaN"), String(err));
  await assertRejects(() => readLatents(`${dir}/none.npy`, "--in"), "no such file");
});

Deno.test("deno task edit: the authors' checkpoint on their latents, output in their layout, rendered by the generator", async () => {
  const dir = await Deno.makeTempDir();
  const r = await run("edit.ts", [
    "--checkpoint",
    `${FIX}idstyle_official.ckpt`,
    "--in",
    `${FIX}authors_test_latents.npy`,
    "--edit",
    "gender=1,smile=-1",
    "--out",
    `${dir}/out.npy`,
    "--png",
    `${dir}/grid.png`,
    "--generator",
    `${FIX}stylegan2_1024.pt`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const out = await readNpy(`${dir}/out.npy`);
  assertEquals(out.shape, [8, 1, 18, 512]);
  const { editor } = await loadEditor(`${FIX}idstyle_official.legacy.ckpt`);
  const lat = await readLatents(`${FIX}authors_test_latents.npy`, "in");
  const ref = editor.edit(tf.tensor3d(lat.data, [8, 18, 512]), { gender: 1, smile: -1 }).combined;
  assert(maxAbsDiff(out.data, ref.dataSync()) < 1e-5, "same as editor.edit");
  assert((await Deno.stat(`${dir}/grid.png`)).size > 100_000, "a grid of 8 x 4 renders");
  // Bad input: a generator whose rows do not fit, a generator file that is not one.
  const bad = await run("edit.ts", [
    "--checkpoint",
    `${FIX}idstyle_official.ckpt`,
    "--in",
    `${FIX}authors_test_latents.npy`,
    "--edit",
    "gender=1",
    "--out",
    `${dir}/bad.npy`,
    "--png",
    `${dir}/bad.png`,
    "--generator",
    `${FIX}idstyle_official.ckpt`,
  ]);
  assert(bad.code !== 0);
  assert(errorLine(bad.stderr).includes("not a StyleGAN2 generator"), bad.stderr);
  assertEquals(
    [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("bad")),
    [],
  );
});

Deno.test("deno task render: W+ in both layouts and z with truncation, NCHW output, PNG; bad input named", async () => {
  const dir = await Deno.makeTempDir();
  const G = `${FIX}stylegan2_1024.pt`;
  const r = await run("render.ts", [
    "--generator",
    G,
    "--in",
    `${FIX}stylegan2_1024_wplus.npy`,
    "--size",
    "256",
    "--out",
    `${dir}/img.npy`,
    "--png",
    `${dir}/img.png`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const img = await readNpy(`${dir}/img.npy`);
  assertEquals(img.shape, [2, 3, 256, 256]);
  const ref = (await readNpy(`${FIX}stylegan2_1024_image_256.npy`)).data;
  assert(maxAbsDiff(img.data, ref) < 1e-3 * 15, "matches PyTorch");
  assert((await Deno.stat(`${dir}/img.png`)).size > 10_000);
  // The same latents in the authors' layout, rendered by tfjs.
  const wp = (await readNpy(`${FIX}stylegan2_1024_wplus.npy`)).data as Float32Array;
  await writeLatents(`${dir}/sf.npy`, wp, 2, "styleflow");
  const r2 = await run("render.ts", [
    "--generator",
    G,
    "--in",
    `${dir}/sf.npy`,
    "--size",
    "256",
    "--runtime",
    "tfjs",
    "--out",
    `${dir}/img2.npy`,
  ]);
  assertEquals(r2.code, 0, r2.stderr);
  assert(
    maxAbsDiff((await readNpy(`${dir}/img2.npy`)).data, ref) < 1e-3 * 15,
    "tfjs matches PyTorch",
  );
  // z with truncation: the fixture's truncated render.
  const r3 = await run("render.ts", [
    "--generator",
    G,
    "--z",
    `${FIX}stylegan2_1024_z.npy`,
    "--truncation",
    "0.7",
    "--size",
    "256",
    "--out",
    `${dir}/t.npy`,
  ]);
  assertEquals(r3.code, 0, r3.stderr);
  const tref = (await readNpy(`${FIX}stylegan2_1024_trunc_image_256.npy`)).data;
  assert(maxAbsDiff((await readNpy(`${dir}/t.npy`)).data, tref) < 1e-3 * 16, "truncated render");

  await writeNpy(`${dir}/rows16.npy`, {
    dtype: "float32",
    shape: [1, 16, 512],
    data: new Float32Array(16 * 512),
  });
  const nan = new Float32Array(18 * 512);
  nan[0] = NaN;
  await writeNpy(`${dir}/nan.npy`, { dtype: "float32", shape: [1, 18, 512], data: nan });
  const cases: [string[], string][] = [
    [
      ["--generator", `${FIX}idstyle_official.ckpt`, "--in", `${dir}/sf.npy`],
      "not a StyleGAN2 generator",
    ],
    [["--generator", `${dir}/none.pt`, "--in", `${dir}/sf.npy`], "no such file"],
    [["--generator", G, "--in", `${dir}/rows16.npy`], "16 rows"],
    [["--generator", G, "--in", `${dir}/nan.npy`], "NaN"],
    [["--generator", G, "--in", `${dir}/sf.npy`, "--size", "300"], "--size"],
    [["--generator", G, "--in", `${dir}/sf.npy`, "--z", `${dir}/sf.npy`], "exactly one"],
    [["--generator", G, "--in", `${dir}/sf.npy`, "--truncation", "0.5"], "--z only"],
    [["--generator", G, "--in", `${dir}/sf.npy`, "--runtime", "gpu"], "--runtime"],
  ];
  for (const [args, fragment] of cases) {
    const res = await run("render.ts", [...args, "--out", `${dir}/bad.npy`]);
    assert(res.code !== 0, args.join(" "));
    assert(errorLine(res.stderr).includes(fragment), `${args.join(" ")}: ${res.stderr}`);
    assert(!(await Deno.stat(`${dir}/bad.npy`).catch(() => null)), `${args.join(" ")} left a file`);
  }
});

Deno.test("deno task convert and export-onnx take the authors' .ckpt directly", async () => {
  const dir = await Deno.makeTempDir();
  const c = await run("convert.ts", [
    "--in",
    `${FIX}idstyle_official.legacy.ckpt`,
    "--out",
    `${dir}/e.safetensors`,
  ]);
  assertEquals(c.code, 0, c.stderr);
  const a = await loadEditor(`${dir}/e.safetensors`);
  const b = await loadEditor(`${FIX}idstyle_official.ckpt`);
  const w = tf.tensor3d(new Rng(2).normals(2 * 18 * 512), [2, 18, 512]);
  assertEquals(
    maxAbsDiff(
      a.editor.edit(w, { age: 1 }).combined.dataSync(),
      b.editor.edit(w, { age: 1 }).combined.dataSync(),
    ),
    0,
  );
  const e = await run("export_onnx.ts", [
    "--checkpoint",
    `${FIX}idstyle_official.ckpt`,
    "--out",
    `${dir}/e.onnx`,
  ]);
  assertEquals(e.code, 0, e.stderr);
  assert(e.stdout.includes("max |diff|"), e.stdout);
  const bad = await run("convert.ts", [
    "--in",
    `${FIX}stylegan2_1024.pt`,
    "--out",
    `${dir}/g.safetensors`,
  ]);
  assert(bad.code !== 0);
  errorLine(bad.stderr);
});

Deno.test("deno task score: embeddings and logits as the authors' networks give them, FRS of a set with itself 1", async () => {
  const dir = await Deno.makeTempDir();
  const common = [
    "--identity",
    `${FIX}ir_se50_w4.pth`,
    "--classifier",
    `${FIX}classifier_nets_ema.ckpt`,
  ];
  const r = await run("score.ts", [
    "--images",
    `${FIX}identity_images_256.npy`,
    "--reference",
    `${FIX}identity_images_256.npy`,
    ...common,
    "--embeddings",
    `${dir}/e.npy`,
    "--logits",
    `${dir}/l.npy`,
    "--json",
    `${dir}/s.json`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const e = await readNpy(`${dir}/e.npy`), l = await readNpy(`${dir}/l.npy`);
  assertEquals([e.shape, l.shape], [[2, 512], [2, 4]]);
  assert(
    maxAbsDiff(e.data, (await readNpy(`${FIX}identity_features.npy`)).data) < 1e-4,
    "embeddings",
  );
  assert(maxAbsDiff(l.data, (await readNpy(`${FIX}classifier_logits.npy`)).data) < 4e-3, "logits");
  const s = JSON.parse(await Deno.readTextFile(`${dir}/s.json`));
  assert(Math.abs(s.frs - 1) < 1e-5, `FRS of a set with itself: ${s.frs}`);
  assertEquals(Object.keys(s.rows[0].logits), ["Gender", "Glasses", "Age", "Expression"]);
  await writeNpy(`${dir}/bad.npy`, {
    dtype: "float32",
    shape: [1, 3, 100, 100],
    data: new Float32Array(30000),
  });
  const cases: [string[], string][] = [
    [["--images", `${dir}/bad.npy`, ...common, "--json", `${dir}/o.json`], "256"],
    [["--images", `${FIX}idstyle_d.npy`, ...common, "--json", `${dir}/o.json`], "[N, 3, H, W]"],
    [[
      "--images",
      `${FIX}identity_images_256.npy`,
      "--identity",
      `${FIX}stylegan2_1024.pt`,
      "--classifier",
      `${FIX}classifier_nets_ema.ckpt`,
      "--json",
      `${dir}/o.json`,
    ], "stylegan2_1024.pt"],
    [["--images", `${FIX}identity_images_256.npy`, ...common], "at least one"],
  ];
  for (const [args, fragment] of cases) {
    const res = await run("score.ts", args);
    assert(res.code !== 0, args.join(" "));
    assert(errorLine(res.stderr).includes(fragment), `${args.join(" ")}: ${res.stderr}`);
    assert(!(await Deno.stat(`${dir}/o.json`).catch(() => null)), "no output on error");
  }
});
