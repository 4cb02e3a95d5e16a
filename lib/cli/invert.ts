/**
 * `deno task invert --in photos.npy|photo.png --out wplus.npy [--steps N] [--png grid.png]
 *  [--world real --real-config F.json] [--candidates K] [--restarts R]`:
 * inverts images into W+ by optimisation (lib/invert/invert.ts), with progress, and writes the
 * latents [N, 18, 512] (float32 .npy) for `deno task edit`. Images: a .npy of [N, H, W, 3] (NHWC)
 * or [N, 3, H, W] (NCHW) floats in [-1, 1], or a PNG (RGB or RGBA); either is resized to the
 * world's resolution (synthface 64 px; the real world 256, StyleGAN2's output pooled) when it is
 * another size. In the real world the perceptual term uses the identity network's stage features
 * (IR-SE), as the paper's pipeline would. --png writes each image beside its inversion's render.
 * Every input is checked before anything runs; errors are one line.
 */
import { Buffer } from "node:buffer";
import pngjs from "pngjs";
import { tf } from "../backend.ts";
import { readNpy } from "../io/npy.ts";
import { writeLatents } from "../io/latents.ts";
import { loadWorldChoice, WORLD_OPTIONS } from "./world_args.ts";
import { INVERT, invert } from "../invert/invert.ts";
import { editGrid } from "../viz/faces.ts";
import { writePng } from "../viz/png.ts";
import { ssim } from "../metrics/ssim.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task invert --in photos.npy|photo.png --out wplus.npy [--steps N] [--seed S] [--png grid.png] [--world real --real-config F.json]",
  flags: { help: "this text" },
  options: {
    in: "images: .npy [N, H, W, 3] or [N, 3, H, W] in [-1, 1], or a .png",
    out: "output .npy of W+ latents [N, 18, 512], float32",
    steps: `optimisation steps (default ${INVERT.steps}; the first ${INVERT.wSteps} in W)`,
    seed: `seed of the start search (default ${INVERT.seed})`,
    png: "also write a grid: each image and its inversion's render",
    candidates: `mapping samples tried for the start (default ${INVERT.candidates})`,
    restarts: `starts optimised per image, the best kept (default ${INVERT.restarts})`,
    ...WORLD_OPTIONS,
  },
});

/** Images [N, H, W, 3] in [-1, 1] from a .npy or a .png. */
async function readImages(path: string): Promise<tf.Tensor4D> {
  if (path.endsWith(".png")) {
    let png;
    try {
      png = pngjs.PNG.sync.read(Buffer.from(await Deno.readFile(path)));
    } catch (err) {
      throw new Error(`--in: ${path}: not a readable PNG (${(err as Error).message})`);
    }
    const { width: W, height: H, data } = png;
    const rgb = new Float32Array(H * W * 3);
    for (let i = 0; i < H * W; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * 4 + c] / 127.5 - 1;
    }
    return tf.tensor4d(rgb, [1, H, W, 3]);
  }
  if (!path.endsWith(".npy")) throw new Error(`--in: expected a .npy or .png path, got "${path}"`);
  const a = await readNpy(path);
  if (a.shape.length !== 4 || !(a.shape[3] === 3 || a.shape[1] === 3)) {
    throw new Error(`--in: expected [N, H, W, 3] or [N, 3, H, W], got [${a.shape.join(", ")}]`);
  }
  if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) {
    throw new Error(`--in: expected float32 or float64 values, got ${a.dtype}`);
  }
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i];
    if (!Number.isFinite(v)) throw new Error(`--in: value ${i} is ${v}`);
    if (v < -1.01 || v > 1.01) throw new Error(`--in: value ${i} is ${v}, outside [-1, 1]`);
  }
  const t = tf.tensor4d(Float32Array.from(a.data), a.shape as [number, number, number, number]);
  if (a.shape[3] === 3) return t;
  const nhwc = tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
  t.dispose();
  return nhwc;
}

async function main(): Promise<void> {
  const { in: input, out } = args.options;
  if (!input) throw new Error("--in is required (images .npy or .png)");
  if (!out) throw new Error("--out is required (output .npy)");
  if (!out.endsWith(".npy")) throw new Error(`--out: expected a .npy path, got "${out}"`);
  const steps = args.options.steps === undefined ? INVERT.steps : Number(args.options.steps);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`--steps: expected a positive integer, got "${args.options.steps}"`);
  }
  const seed = args.options.seed === undefined ? INVERT.seed : Number(args.options.seed);
  if (!Number.isInteger(seed)) {
    throw new Error(`--seed: expected an integer, got "${args.options.seed}"`);
  }
  const count = (name: "candidates" | "restarts", min: number) => {
    const v = args.options[name] === undefined ? INVERT[name] : Number(args.options[name]);
    if (!Number.isInteger(v) || v < min) {
      throw new Error(`--${name}: expected an integer >= ${min}, got "${args.options[name]}"`);
    }
    return v;
  };
  const candidates = count("candidates", 0), restarts = count("restarts", 1);
  const raw = await readImages(input);
  const choice = await loadWorldChoice(args.options, (msg) => {
    throw new Error(msg);
  });
  const world = choice.world;
  const R = world.resolution;
  const images = raw.shape[1] === R && raw.shape[2] === R
    ? raw
    : tf.tidy(() =>
      tf.clipByValue(tf.image.resizeBilinear(raw, [R, R], true), -1, 1) as tf.Tensor4D
    );
  const N = images.shape[0];
  const r = invert(world, images, {
    config: {
      steps,
      wSteps: Math.min(INVERT.wSteps, Math.floor(steps / 3)),
      seed,
      candidates,
      restarts,
    },
    ...(choice.kind === "real"
      ? { features: (x: tf.Tensor4D) => choice.world.identityFeatures(x) }
      : {}),
  });
  const render = world.synthesize(r.wPlus);
  const s = Array.from(ssim(images, render).dataSync());
  await writeLatents(out, r.wPlus.dataSync() as Float32Array, N, "wplus", {
    numLatents: world.numLayers,
    latentDim: world.latentDim,
  });
  if (args.options.png) {
    await writePng(
      args.options.png,
      editGrid([images, render], ["image", "inversion"], { scale: 2 }),
    );
  }
  const meanSsim = s.reduce((a, b) => a + b, 0) / N;
  console.log(
    `inverted ${N} image${N > 1 ? "s" : ""} in ${
      r.seconds.toFixed(0)
    } s (${steps} steps): re-render SSIM ${meanSsim.toFixed(3)} -> ${out}${
      args.options.png ? ` and ${args.options.png}` : ""
    }`,
  );
}

try {
  await main();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
