/**
 * Photographs and inversion (lib/invert/): a photograph without jitter, blur and noise is the
 * generator's render with the oracle's labels (closed form); the blur keeps a constant image and
 * the mean; an inversion of renders of test latents recovers them in the image (re-render SSIM; the
 * oracle identity against the latent it came from is printed: it stays well below the 0.95,
 * see the README); `deno task invert` writes latents and refuses bad input.
 */
import { assert, assertEquals, maxAbsDiff, runCli, tf } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { blur3, photographs } from "../lib/invert/photo.ts";
import { invert } from "../lib/invert/invert.ts";
import { ssim } from "../lib/metrics/ssim.ts";
import { readNpy, writeNpy } from "../lib/io/npy.ts";
import { factorErrors, identityVisibility, scoreReconstruction } from "../lib/invert/measure.ts";
import { IDENTITY_FACTORS } from "../lib/world/synthface/spec.ts";

const world = await loadSynthFace();
const dataset = await loadDataset();

Deno.test("photographs: without jitter, blur and noise they are the renders; the blur is a mean filter", () => {
  const w = dataset.test.latents.batch([0, 1, 2]);
  const p = photographs(world, w, { jitter: 0, noise: 0, blur: false });
  const r = world.synthesize(w);
  assert(maxAbsDiff(p.images.dataSync(), r.dataSync()) < 1e-5, "same image");
  assertEquals([...p.labels.dataSync()], [...world.oracle.labels(w).dataSync()]);
  const q = photographs(world, w, { seed: 3 });
  assert(maxAbsDiff(q.factors.dataSync(), p.factors.dataSync()) > 0.01, "jitter moves the factors");
  assert(maxAbsDiff(q.images.dataSync(), r.dataSync()) > 0.05, "a photograph is not the render");
  const c = blur3(tf.fill([1, 8, 8, 3], 0.3) as tf.Tensor4D);
  assert(maxAbsDiff(c.dataSync(), new Float32Array(192).fill(0.3)) < 1e-6, "constant kept");
  const b = blur3(r);
  assert(Math.abs(tf.mean(b).dataSync()[0] - tf.mean(r).dataSync()[0]) < 0.01, "mean kept");
  tf.dispose([
    w,
    p.images,
    p.factors,
    p.labels,
    p.identity,
    q.images,
    q.factors,
    q.labels,
    q.identity,
    r,
    c,
    b,
  ]);
});

Deno.test("invert: renders of test latents are recovered in the image (SSIM); oracle identity printed", () => {
  const w = dataset.test.latents.batch([10, 11]);
  const x = world.synthesize(w);
  const r = invert(world, x, { silent: true, config: { steps: 150, wSteps: 50 } });
  const s = ssim(x, world.synthesize(r.wPlus)).dataSync();
  const oid = world.oracle.identitySimilarity(
    world.oracle.identity(w),
    world.oracle.identity(r.wPlus),
  ).dataSync();
  console.log(
    `invert 2 renders: SSIM ${[...s].map((v) => v.toFixed(3))}, oracle identity ${
      [...oid].map((v) => v.toFixed(3))
    }, ${r.seconds.toFixed(0)} s`,
  );
  assert(r.losses.at(-1)!.loss < r.losses[0].loss, "the objective fell");
  for (let i = 0; i < 2; i++) assert(s[i] > 0.85, `SSIM ${s[i]}`);
  tf.dispose([w, x, r.wPlus]);
});

Deno.test("visibility and factor errors: the source latent scores exactly; a factor step shows as its own error", () => {
  const w = dataset.test.latents.batch([0, 1, 2, 3]);
  const truth = {
    images: world.synthesize(w),
    identity: world.oracle.identity(w),
    labels: world.oracle.labels(w),
  };
  const rec = scoreReconstruction(world, w, truth);
  assert(Math.abs(rec.ssim - 1) < 1e-4 && Math.abs(rec.frs - 1) < 1e-4, JSON.stringify(rec));
  assert(Math.abs(rec.oracleIdentity - 1) < 1e-5 && rec.labelsAgree === 1, JSON.stringify(rec));
  for (const row of factorErrors(world, w, truth)) assert(Math.max(...row) < 1e-5, String(row));
  // a truth whose skin tone is one sd darker: the error is 1 on that factor alone
  const k = IDENTITY_FACTORS.indexOf("skinTone");
  const sd = world.calibration.identityStd[k];
  const moved = tf.add(
    truth.identity,
    tf.mul(tf.oneHot(tf.tensor1d([k], "int32"), IDENTITY_FACTORS.length), sd),
  ) as tf.Tensor2D;
  for (const row of factorErrors(world, w, { ...truth, identity: moved })) {
    row.forEach((e, j) =>
      assert(Math.abs(e - (j === k ? 1 : 0)) < 1e-4, `${IDENTITY_FACTORS[j]}: ${e}`)
    );
  }
  // what the renderer shows: skin tone moves the image far more than the iris hue or lip thickness
  const vis = identityVisibility(world, w);
  const avg = (name: string) =>
    vis.reduce((s, r) => s + r[IDENTITY_FACTORS.indexOf(name)], 0) / vis.length;
  assert(vis.every((r) => r.every((x) => x >= 0 && Number.isFinite(x))));
  assert(
    avg("skinTone") > 20 * avg("irisHue") && avg("skinTone") > 20 * avg("lipThickness"),
    `skin ${avg("skinTone")} iris ${avg("irisHue")} lips ${avg("lipThickness")}`,
  );
  tf.dispose([w, truth.images, truth.identity, truth.labels, moved]);
});

Deno.test("deno task invert: writes W+ latents; bad input is one line", async () => {
  const dir = await Deno.makeTempDir();
  const w = dataset.test.latents.batch([3]);
  const x = world.synthesize(w);
  await writeNpy(`${dir}/img.npy`, {
    dtype: "float32",
    shape: [1, 64, 64, 3],
    data: x.dataSync() as Float32Array,
  });
  const run = (args: string[]) => runCli("invert.ts", args);
  const ok = await run([
    "--in",
    `${dir}/img.npy`,
    "--out",
    `${dir}/w.npy`,
    "--steps",
    "20",
    "--png",
    `${dir}/g.png`,
  ]);
  assertEquals(ok.code, 0, ok.err);
  assertEquals((await readNpy(`${dir}/w.npy`)).shape, [1, 18, 512]);
  assert((await Deno.stat(`${dir}/g.png`)).size > 1000);
  for (
    const [args, frag] of [
      [["--in", `${dir}/none.npy`, "--out", `${dir}/o.npy`], "no such file"],
      [["--in", `${dir}/img.npy`, "--out", `${dir}/o.txt`], "--out: expected a .npy"],
      [["--in", `${dir}/img.npy`, "--out", `${dir}/o.npy`, "--steps", "0"], "--steps"],
      [["--in", `${dir}/w.npy`, "--out", `${dir}/o.npy`], "expected [N, H, W, 3]"],
    ] as [string[], string][]
  ) {
    const r = await run(args);
    const lines = r.err.trim().split("\n").filter((l) => !l.startsWith("[idstyle]"));
    assert(
      r.code !== 0 && lines.length === 1 && lines[0].includes(frag),
      `${args.join(" ")}: ${r.err}`,
    );
  }
  tf.dispose([w, x]);
});
