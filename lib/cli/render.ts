/**
 * `deno task render --generator G.pt (--in wplus.npy | --z z.npy [--truncation PSI]) [--size 256|full]
 *  [--runtime ort|tfjs] [--noise stored|none] [--out images.npy] [--png grid.png]`: renders latents
 * with a real StyleGAN2 generator (rosinality's PyTorch file, read without Python). `--out` holds
 * [N, 3, H, W] float32 (PyTorch's layout, the generator's raw values); the PNG shows the images
 * clamped to [-1, 1]. Latents: W+ with the generator's number of rows, [N, 1, L, 512] (the
 * authors' and StyleFlow's layout) or W [N, 512]. Everything is checked before anything is
 * written; errors are one line with a non-zero exit, and outputs are written atomically.
 */
import { tf } from "../backend.ts";
import { readNpy, writeNpy } from "../io/npy.ts";
import { readLatents } from "../io/latents.ts";
import { readGeneratorWeights } from "../world/stylegan2/load.ts";
import { renderLatents, type Runtime } from "../world/stylegan2/render.ts";
import { MappingNetwork } from "../world/stylegan2/mapping.ts";
import { gridRaster, rastersFromNchw, writePng } from "../viz/png.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task render --generator G.pt (--in wplus.npy | --z z.npy [--truncation PSI]) [--size 256|full] [--runtime ort|tfjs] [--out images.npy] [--png grid.png]",
  flags: { help: "this text" },
  options: {
    generator: "StyleGAN2 generator: rosinality's .pt ({g_ema, latent_avg}) or .safetensors",
    in: "W+ latents .npy: [N, L, 512], [N, 1, L, 512] or W [N, 512]",
    z: "z .npy [N, 512]: mapped by the generator's mapping network",
    truncation: "with --z: psi in [0, 1] towards latent_avg (default 1, none)",
    size: "256 (average-pooled, as the authors score) or full (default)",
    runtime: "ort (onnxruntime, default) or tfjs",
    noise: "stored (the file's noise buffers, default) or none",
    out: "images .npy, [N, 3, H, W] float32",
    png: "a grid of the images (clamped to [-1, 1])",
  },
});

async function main(): Promise<void> {
  const o = args.options;
  if (!o.generator) throw new Error("--generator is required (rosinality's stylegan2-*.pt)");
  if (!o.in === !o.z) throw new Error("give exactly one of --in (W+ latents) and --z (z vectors)");
  if (!o.out && !o.png) throw new Error("give --out images.npy and/or --png grid.png");
  if (o.out && !o.out.endsWith(".npy")) {
    throw new Error(`--out: expected a .npy path, got "${o.out}"`);
  }
  if (o.png && !o.png.endsWith(".png")) {
    throw new Error(`--png: expected a .png path, got "${o.png}"`);
  }
  const runtime = (o.runtime ?? "ort") as Runtime;
  if (!["ort", "tfjs"].includes(runtime)) {
    throw new Error(`--runtime: expected ort or tfjs, got "${o.runtime}"`);
  }
  const noise = (o.noise ?? "stored") as "stored" | "none";
  if (!["stored", "none"].includes(noise)) {
    throw new Error(`--noise: expected stored or none, got "${o.noise}"`);
  }
  const psi = o.truncation === undefined ? 1 : Number(o.truncation);
  if (!(psi >= 0 && psi <= 1)) {
    throw new Error(`--truncation: expected a number in [0, 1], got "${o.truncation}"`);
  }
  if (o.truncation !== undefined && !o.z) throw new Error("--truncation applies to --z only");

  const weights = await readGeneratorWeights(o.generator);
  const { numLatents: L, styleDim: D } = weights;
  let size = weights.size;
  if (o.size !== undefined && o.size !== "full") {
    size = Number(o.size);
    if (!(Number.isInteger(Math.log2(size)) && size <= weights.size)) {
      throw new Error(
        `--size: expected full or a power of two up to ${weights.size}, got "${o.size}"`,
      );
    }
  }
  let wplus: Float32Array, n: number;
  if (o.in) {
    const lat = await readLatents(o.in, "--in", { numLatents: L, latentDim: D });
    wplus = lat.data;
    n = lat.n;
  } else {
    const z = await readNpy(o.z!);
    if (z.dtype !== "float32" || z.shape.length !== 2 || z.shape[1] !== D) {
      throw new Error(`--z: expected float z [N, ${D}], got ${z.dtype} [${z.shape.join(", ")}]`);
    }
    if ((z.data as Float32Array).some((v) => !Number.isFinite(v))) {
      throw new Error("--z: holds NaN or Inf");
    }
    if (psi < 1 && !weights.latentAvg) {
      throw new Error(`--truncation: ${o.generator} has no latent_avg`);
    }
    n = z.shape[0];
    const mapping = new MappingNetwork(weights);
    wplus = tf.tidy(() => {
      let w = mapping.map(tf.tensor2d(z.data as Float32Array, [n, D]));
      if (psi < 1) w = mapping.truncate(w, psi);
      return tf.tile(tf.expandDims(w, 1), [1, L, 1]).dataSync() as Float32Array;
    });
    mapping.dispose();
  }
  const { images } = await renderLatents(weights, wplus, n, { runtime, size, noise });
  const bad = images.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new Error(
      `the generator produced NaN or Inf (image ${Math.floor(bad / (3 * size * size))})`,
    );
  }
  if (o.out) await writeNpy(o.out, { dtype: "float32", shape: [n, 3, size, size], data: images });
  if (o.png) {
    await writePng(
      o.png,
      gridRaster(rastersFromNchw(images, n, size, size), { cols: Math.min(n, 8) }),
    );
  }
  console.log(
    `rendered ${n} images at ${size} px (${runtime}) -> ${
      [o.out, o.png].filter(Boolean).join(" and ")
    }`,
  );
}

try {
  await main();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
