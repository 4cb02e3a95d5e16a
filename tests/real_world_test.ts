/**
 * The real world end to end on the fixture networks (the narrowed 1024 generator, IR-SE50 and the
 * StarGAN-v2 classifier, random weights in the real formats): the World interface (shapes, ranges,
 * gradients from the identity and class losses back to W+), a dataset labelled by the classifier,
 * two training steps, an evaluation of 4 latents and an edit rendered; bad configs named.
 */
import { assert, assertEquals, assertRejects, runCli, tf } from "./_util.ts";
import { loadStyleGAN2World, type StyleGAN2World } from "../lib/world/real/world.ts";
import { buildWorldDataset } from "../lib/data/world_dataset.ts";
import { trainConfig } from "../lib/train/config.ts";
import { train } from "../lib/train/train.ts";

const FIX = new URL("./fixtures/real/", import.meta.url).pathname;

let cached: StyleGAN2World | null = null;
const world = async () => cached ??= await loadStyleGAN2World(`${FIX}world.json`);

Deno.test("real world: the interface's shapes and ranges; a face's identity similarity with itself is 1", async () => {
  const w = await world();
  assertEquals([w.numLayers, w.latentDim, w.resolution], [18, 512, 256]);
  assertEquals([...w.attributes], ["gender", "glasses", "age", "smile"]);
  assert(w.scoredByTrainingClassifier, "no evalClassifier: scored by the training one");
  const wp = tf.tidy(() => w.toWPlus(w.mapping(w.sampleZ(2, 1))));
  const img = w.synthesize(wp);
  assertEquals(img.shape, [2, 256, 256, 3]);
  const logits = w.classifier(img), evalLogits = w.evalClassifier(img);
  assertEquals(logits.shape, [2, 4]);
  assertEquals(Array.from(evalLogits.dataSync()), Array.from(logits.dataSync()));
  const e = w.identity(img);
  assertEquals(e.shape, [2, 512]);
  const self = tf.tidy(() => tf.sum(tf.mul(e, w.identity(img)), 1).dataSync());
  for (const s of self) assert(Math.abs(s - 1) < 1e-5, `self-similarity ${s}`);
  const feats = w.evalFeatures(img);
  assertEquals(feats.pooled.shape[0], 2);
  assert(feats.maps.length > 0, "feature maps");
  // 1024 images are pooled to 256 first, as the authors do.
  const full = w.synthesize(wp, { resolution: 1024 });
  const pooled = tf.tidy(() => tf.max(tf.abs(tf.sub(w.classifier(full), logits))).dataSync()[0]);
  assert(pooled < 1e-4, `classifier on the 1024 image vs the 256 one: ${pooled}`);
  const prov = await w.provenance();
  assert(prov.generator.includes("stylegan2_1024.pt sha256"), JSON.stringify(prov));
  tf.dispose([wp, img, logits, evalLogits, e, full, feats.pooled, ...feats.maps]);
});

Deno.test("real world: gradients of the identity and class losses reach W+", async () => {
  const w = await world();
  const wp0 = tf.tidy(() => w.toWPlus(w.mapping(w.sampleZ(1, 2))));
  const e0 = tf.tidy(() => w.identity(w.synthesize(wp0)));
  const probe = tf.tensor3d(new Float32Array(18 * 512).map((_, i) => Math.sin(i)), [1, 18, 512]);
  const wp = tf.add(wp0, tf.mul(probe, 0.1)) as tf.Tensor3D;
  const idGrad = tf.grad((x) =>
    tf.sub(1, tf.sum(tf.mul(w.identity(w.synthesize(x as tf.Tensor3D)), e0))) as tf.Scalar
  )(wp);
  const clsGrad = tf.grad((x) =>
    tf.sum(tf.slice(w.classifier(w.synthesize(x as tf.Tensor3D)), [0, 0], [1, 1])) as tf.Scalar
  )(wp);
  for (const [name, g] of [["identity", idGrad], ["class", clsGrad]] as const) {
    const v = g.dataSync();
    assert(v.every(Number.isFinite), `${name}: finite`);
    const perRow = tf.tidy(() => tf.sum(tf.abs(g), [0, 2]).dataSync());
    assert(Array.from(perRow).filter((x) => x > 0).length >= 16, `${name}: rows reached ${perRow}`);
  }
  tf.dispose([wp0, e0, probe, wp, idGrad, clsGrad]);
});

Deno.test({
  name:
    "real world: a labelled dataset, 2 training steps, an evaluation of 4 latents, an edit rendered",
  sanitizeResources: false,
  fn: async () => {
    const w = await world();
    const dir = await Deno.makeTempDir();
    const cfg = { numTrain: 4, numTest: 4, trainMixes: 1, testMixes: 1, seed: 3, chunk: 4 };
    const dataset = await buildWorldDataset(w, cfg, { cacheDir: `${dir}/cache`, silent: true });
    assertEquals(dataset.train.latents.size, 8);
    assertEquals(dataset.test.latents.size, 4);
    assert(dataset.train.labels.every((v) => v === 0 || v === 1), "labels are 0/1");
    // The labels are cached and reused.
    const again = await buildWorldDataset(w, cfg, { cacheDir: `${dir}/cache`, silent: true });
    assertEquals(Array.from(again.test.labels), Array.from(dataset.test.labels));
    const tc = trainConfig("official", "quick", {
      steps: 2,
      resolution: 256,
      logEvery: 1,
      evalEvery: 2,
      checkpointEvery: 2,
      evalSamples: 4,
      imageChunk: 1, // (M + 1) B = 10 renders at 1024 with a tape would pass tfjs-wasm's 4 GB
    });
    const result = await train(tc, { world: w, dataset, runsDir: dir, name: "real", silent: true });
    assertEquals(result.steps, 2);
    const rows = result.metrics;
    assert(
      rows.filter((r) => r.type === "train").every((r) => Number.isFinite(r.total as number)),
      "finite losses",
    );
    // The run's evaluation: the protocol on the 4 test latents (each attribute both ways).
    const ev = rows.find((r) => r.type === "eval")!;
    assertEquals(ev.samples, 4);
    assert(Number.isFinite(ev.frs as number) && (ev.frs as number) <= 1, JSON.stringify(ev));
    assert(Number.isFinite(ev.mAcc as number) && ev.oracleMAcc === null, JSON.stringify(ev));
    for (const f of ["config.json", "metrics.jsonl", "world.json", "editor.safetensors"]) {
      assert(await Deno.stat(`${dir}/real/${f}`).then(() => true, () => false), `${f} written`);
    }
    const edited = tf.tidy(() => {
      const wp = dataset.test.latents.batch([0]);
      return w.synthesize(result.editor.edit(wp, { smile: 1 }).combined);
    });
    assertEquals(edited.shape, [1, 256, 256, 3]);
    assert(edited.dataSync().every(Number.isFinite), "no NaN in the edit's render");
    edited.dispose();
    result.editor.dispose();
  },
});

Deno.test("real world: bad configs name the key and the file", async () => {
  const dir = await Deno.makeTempDir();
  const write = (o: unknown) => Deno.writeTextFile(`${dir}/c.json`, JSON.stringify(o));
  await assertRejects(() => loadStyleGAN2World(`${dir}/none.json`), "none.json", "no such file");
  await write({ generator: `${FIX}stylegan2_1024.pt`, identity: `${FIX}ir_se50_w4.pth` });
  await assertRejects(() => loadStyleGAN2World(`${dir}/c.json`), '"classifier" is required');
  await write({
    generator: `${FIX}stylegan2_1024.pt`,
    identity: "missing.pth",
    classifier: `${FIX}classifier_nets_ema.ckpt`,
  });
  await assertRejects(
    () => loadStyleGAN2World(`${dir}/c.json`),
    '"identity"',
    "missing.pth",
    "does not exist",
  );
  await write({
    generator: `${FIX}stylegan2_1024.pt`,
    identity: `${FIX}ir_se50_w4.pth`,
    classifier: `${FIX}classifier_nets_ema.ckpt`,
    extra: 1,
  });
  await assertRejects(() => loadStyleGAN2World(`${dir}/c.json`), 'unknown key(s) "extra"');
  // A file of the wrong network: the generator given as the identity network.
  await write({
    generator: `${FIX}stylegan2_1024.pt`,
    identity: `${FIX}stylegan2_1024.pt`,
    classifier: `${FIX}classifier_nets_ema.ckpt`,
  });
  await assertRejects(() => loadStyleGAN2World(`${dir}/c.json`), "stylegan2_1024.pt");
  await write({
    generator: `${FIX}ir_se50_w4.pth`,
    identity: `${FIX}ir_se50_w4.pth`,
    classifier: `${FIX}classifier_nets_ema.ckpt`,
  });
  await assertRejects(() => loadStyleGAN2World(`${dir}/c.json`), "not a StyleGAN2 generator");
});

Deno.test("deno task demo / edit / evaluate --world real: the fixture world and the authors' checkpoint", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/world.json`;
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({
      generator: `${FIX}stylegan2_1024.pt`,
      identity: `${FIX}ir_se50_w4.pth`,
      classifier: `${FIX}classifier_nets_ema.ckpt`,
      latents: `${FIX}authors_test_latents.npy`,
      attributes: `${FIX}idstyle_d.npy`,
    }),
  );
  const run = async (script: string, args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}lib/cli/${script}`, ...args],
      env: { IDSTYLE_QUIET: "1" },
      cwd: dir,
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const ckpt = `${FIX}idstyle_official.ckpt`;
  const demo = await run("demo.ts", [
    "--world",
    "real",
    "--real-config",
    cfg,
    "--checkpoint",
    ckpt,
    "--faces",
    "1",
  ]);
  assertEquals(demo.code, 0, demo.stderr);
  assert(demo.stdout.includes("training classifier"), demo.stdout);
  const m = JSON.parse(await Deno.readTextFile(`${dir}/out/demo/real-metrics.json`));
  assertEquals([m.faces, m.edits], [1, 8]);
  assert((await Deno.stat(`${dir}/out/demo/real-edits.png`)).size > 50_000);
  const edit = await run("edit.ts", [
    "--world",
    "real",
    "--real-config",
    cfg,
    "--checkpoint",
    ckpt,
    "--in",
    `${FIX}stylegan2_1024_wplus.npy`,
    "--edit",
    "age=1",
    "--out",
    `${dir}/e.npy`,
    "--png",
    `${dir}/e.png`,
  ]);
  assertEquals(edit.code, 0, edit.stderr);
  assert((await Deno.stat(`${dir}/e.png`)).size > 50_000);
  const bad = await run("demo.ts", [
    "--world",
    "real",
    "--real-config",
    `${dir}/none.json`,
    "--checkpoint",
    ckpt,
  ]);
  assert(
    bad.code !== 0 && bad.stderr.includes("none.json") && bad.stderr.includes("no such file"),
    bad.stderr,
  );
  const noCkpt = await run("evaluate.ts", ["--world", "real", "--real-config", cfg]);
  assert(noCkpt.code !== 0 && noCkpt.stderr.includes("--checkpoint is required"), noCkpt.stderr);
});

Deno.test("deno task train-baselines --world real: InterFaceGAN's boundaries from sampled latents scored by the classifier (cached)", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  const run = async (extra: string[] = []) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}lib/cli/train_baselines.ts`,
        "--world",
        "real",
        "--real-config",
        `${FIX}world.json`,
        "--samples",
        "100",
        "--out",
        dir,
        ...extra,
      ],
      env: { IDSTYLE_QUIET: "1" },
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const r = await run();
  assertEquals(r.code, 0, r.stderr);
  const m = JSON.parse(await Deno.readTextFile(`${dir}/interfacegan.metrics.json`));
  assertEquals([m.world, m.samples, m.boundaries.length], ["stylegan2", 100, 4]);
  assert((await Deno.stat(`${dir}/interfacegan.safetensors`)).size > 4 * 512 * 4);
  const cached = (await Deno.stat(`${dir}/cache/logits.npy`)).mtime?.getTime();
  const again = await run(); // the scores are cached: nothing is rendered or rewritten
  assertEquals(again.code, 0, again.stderr);
  assertEquals((await Deno.stat(`${dir}/cache/logits.npy`)).mtime?.getTime(), cached);
  const bad = await run(["--only", "isfgan"]);
  assert(bad.code !== 0 && bad.stderr.includes("synthface only"), bad.stderr);
});

Deno.test("real world: inversion with the identity network's stage features, in the library and `deno task invert`", async () => {
  const w = await world();
  const wp = tf.tidy(() => w.toWPlus(w.mapping(w.sampleZ(1, 5))));
  const img = w.synthesize(wp);
  const maps = w.identityFeatures(img);
  assert(maps.length >= 2, `stages: ${maps.length}`);
  assertEquals(maps[0].shape.slice(0, 3), [1, 56, 56]);
  for (let i = 1; i < maps.length; i++) {
    assert(maps[i].shape[1] < maps[i - 1].shape[1], `stage ${i} is coarser`);
  }
  assert(maps.every((m) => m.dataSync().every(Number.isFinite)), "finite features");
  const { invert } = await import("../lib/invert/invert.ts");
  const r = invert(w, img, {
    config: { steps: 4, wSteps: 1, candidates: 2, restarts: 1 },
    features: (x) => w.identityFeatures(x),
    silent: true,
  });
  assertEquals(r.wPlus.shape, [1, 18, 512]);
  const [first, last] = [r.losses[0].loss, r.losses.at(-1)!.loss];
  assert(last < first, `the objective falls: ${first} -> ${last}`);
  tf.dispose([wp, img, ...maps, r.wPlus]);

  const dir = await Deno.makeTempDir();
  const real = ["--world", "real", "--real-config", `${FIX}world.json`];
  const run = (extra: string[]) => runCli("invert.ts", [...real, ...extra]);
  // the fixture generator's random weights overshoot [-1, 1]: the images, clipped (NCHW)
  const { readNpy, writeNpy } = await import("../lib/io/npy.ts");
  const raw = await readNpy(`${FIX}stylegan2_1024_image_256.npy`);
  const clipped = Float32Array.from(raw.data as Float32Array, (v) => Math.max(-1, Math.min(1, v)));
  await writeNpy(`${dir}/img.npy`, { dtype: "float32", shape: raw.shape, data: clipped });
  const input = ["--in", `${dir}/img.npy`];
  const small = ["--steps", "2", "--candidates", "1", "--restarts", "1"];
  const ok = await run([...input, "--out", `${dir}/w.npy`, ...small]);
  const said = ok.out + ok.err;
  assertEquals(ok.code, 0, said);
  assert(said.includes("inverted 2 images"), said);
  assertEquals((await readNpy(`${dir}/w.npy`)).shape, [2, 18, 512]);
  const bad = await run([...input, "--out", `${dir}/x.npy`, "--restarts", "0"]);
  assert(bad.code !== 0 && bad.err.includes("--restarts: expected an integer >= 1"), bad.err);
  await Deno.remove(dir, { recursive: true });
});
