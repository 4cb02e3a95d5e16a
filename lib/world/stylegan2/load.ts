/**
 * Loading a StyleGAN2 generator from the files users have: rosinality's PyTorch checkpoints
 * (`stylegan2-ffhq-config-f.pt`: `{"g_ema": state_dict, "latent_avg": [512]}`, sometimes with
 * `g`, `d` and optimizer states; or a bare generator state_dict), read without Python, or a
 * safetensors file with the same names (with or without the `g_ema.` prefix).
 */
import { readTorch, stateDictAt, type TorchTensor } from "../../io/torch.ts";
import { readSafetensors, toFloat32 } from "../../io/safetensors.ts";
import {
  type ArrayTensor,
  GeneratorFormatError,
  parseGenerator,
  type StyleGAN2Weights,
} from "./weights.ts";
import { StyleGAN2 } from "./generator.ts";

const TORCH_EXT = /\.(pt|pth|ckpt|bin)$/i;

/** Reads and checks a generator file's weights (no tfjs tensors yet). */
export async function readGeneratorWeights(path: string): Promise<StyleGAN2Weights> {
  let tensors: Map<string, ArrayTensor>;
  let latentAvg: ArrayTensor | undefined;
  if (TORCH_EXT.test(path)) {
    const obj = await readTorch(path);
    const top = (obj && typeof obj === "object" ? obj : {}) as Record<string, unknown>;
    const key = "g_ema" in top ? "g_ema" : undefined;
    tensors = floatTensors(stateDictAt(obj, key, path));
    const avg = top["latent_avg"];
    if (avg && typeof avg === "object" && "shape" in (avg as object)) {
      latentAvg = avg as TorchTensor as ArrayTensor;
    }
  } else if (/\.safetensors$/i.test(path)) {
    const file = await readSafetensors(path);
    tensors = new Map();
    for (const [name, t] of file.tensors) {
      if (t.dtype === "I64" || t.dtype === "I32") continue;
      const short = name.startsWith("g_ema.") ? name.slice(6) : name;
      const value = { shape: t.shape, data: toFloat32(t, name) };
      if (short === "latent_avg") latentAvg = value;
      else tensors.set(short, value);
    }
  } else {
    throw new GeneratorFormatError(
      `${path}: expected a PyTorch file (.pt, .pth, .ckpt) or .safetensors generator`,
    );
  }
  return parseGenerator(tensors, path, latentAvg);
}

function floatTensors(m: Map<string, TorchTensor>): Map<string, ArrayTensor> {
  const out = new Map<string, ArrayTensor>();
  for (const [k, t] of m) {
    if (t.data instanceof Float32Array) out.set(k, { shape: t.shape, data: t.data });
  }
  return out;
}

/** Reads a generator file and builds the tfjs generator. */
export async function loadGenerator(path: string): Promise<StyleGAN2> {
  return new StyleGAN2(await readGeneratorWeights(path));
}
