/**
 * Figures of faces: a grid of renders with their oracle labels, and edit grids (rows are faces,
 * columns are edits).
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import { gridRaster, type Raster, toRasters } from "./png.ts";

/** Short label codes: M(ale) G(lasses) O(ld) S(mile), "-" where absent. */
export function labelCode(labels: ArrayLike<number>, attributes: readonly string[]): string {
  const code: Record<string, string> = { gender: "M", glasses: "G", age: "O", smile: "S" };
  return attributes.map((a, i) => (labels[i] > 0.5 ? code[a] ?? a[0].toUpperCase() : "-")).join("");
}

/** Renders W+ latents [N, L, D] in a grid, each captioned with its oracle labels. */
export function faceGrid(
  world: SynthFace,
  wPlus: tf.Tensor3D,
  opts: { cols: number; resolution?: number; scale?: number },
): Raster {
  const [images, labels] = tf.tidy(
    () => [
      world.synthesize(wPlus, { resolution: opts.resolution ?? 64 }),
      world.oracle.labels(wPlus),
    ],
  );
  const M = world.attributes.length;
  const lab = labels.dataSync();
  const captions = Array.from(
    { length: wPlus.shape[0] },
    (_, i) => labelCode(lab.subarray(i * M, (i + 1) * M), world.attributes),
  );
  const raster = gridRaster(toRasters(images as tf.Tensor4D), {
    cols: opts.cols,
    scale: opts.scale ?? 1,
    captions,
  });
  tf.dispose([images, labels]);
  return raster;
}

/**
 * An edit grid: `columns[c]` is a batch of images [N, H, W, 3] (the same N faces), laid out with
 * one row per face and one column per entry, with headers.
 */
export function editGrid(
  columns: tf.Tensor4D[],
  headers: string[],
  opts: { scale?: number; rowLabels?: string[] } = {},
): Raster {
  const N = columns[0].shape[0];
  const tiles = columns.map((c) => toRasters(c));
  const ordered: Raster[] = [];
  for (let i = 0; i < N; i++) for (const col of tiles) ordered.push(col[i]);
  return gridRaster(ordered, {
    cols: columns.length,
    scale: opts.scale ?? 1,
    colLabels: headers,
    rowLabels: opts.rowLabels,
  });
}
