/**
 * The small dataset for quick runs (512 training, 128 test latents; same procedure as the full
 * one), built on first use and cached under out/cache/ (about 10 s).
 */
import {
  buildDataset,
  type Dataset,
  DATASET_FILES,
  loadDataset,
  QUICK_DATASET,
} from "./dataset.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { artifactPath } from "../paths.ts";

export const QUICK_DATASET_DIR = artifactPath("out/cache/synthface-quick/");

export async function quickDataset(world: SynthFace, dir = QUICK_DATASET_DIR): Promise<Dataset> {
  const missing = await Promise.all(
    DATASET_FILES.map((f) => Deno.stat(`${dir}/${f}`).then(() => false, () => true)),
  );
  if (missing.some((m) => m)) await buildDataset(world, dir, QUICK_DATASET, { silent: true });
  return loadDataset(dir);
}
