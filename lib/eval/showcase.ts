/**
 * The demo's figure: faces from a fixed seed (W mode) or given latents, each attribute added and
 * removed, then all four toggled at once (absmax): rows are faces (labelled with their oracle
 * labels, or the training classifier's where the world has no oracle), columns the original and
 * each edit. Works in any world.
 */
import * as tf from "@tensorflow/tfjs";
import type { IDStyleEditor } from "../model/editor.ts";
import type { World } from "../world/types.ts";
import { editGrid, labelCode } from "../viz/faces.ts";
import type { Raster } from "../viz/png.ts";

export function editShowcase(
  world: World,
  editor: IDStyleEditor,
  opts: { faces?: number; seed?: number; resolution?: number; latents?: tf.Tensor3D } = {},
): Raster {
  const n = opts.latents?.shape[0] ?? opts.faces ?? 8, res = opts.resolution ?? 96;
  const M = world.attributes.length;
  const w = opts.latents
    ? tf.clone(opts.latents)
    : tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(n, opts.seed ?? 2024))));
  const labels = tf.tidy(() =>
    world.oracle
      ? world.oracle.labels(w)
      : tf.cast(tf.greater(world.classifier(world.synthesize(w)), 0), "float32")
  ).dataSync();
  const columns: tf.Tensor4D[] = [world.synthesize(w, { resolution: res })];
  const headers = ["original"];
  for (let m = 0; m < M; m++) {
    for (const dir of [1, -1]) {
      columns.push(
        tf.tidy(() =>
          world.synthesize(
            editor.edit(w, world.attributes.map((_, j) => (j === m ? dir : 0))).combined,
            { resolution: res },
          )
        ),
      );
      headers.push(`${world.attributes[m]}${dir > 0 ? "+" : "-"}`);
    }
  }
  columns.push(
    tf.tidy(() =>
      world.synthesize(
        editor.edit(
          w,
          tf.tensor2d(Array.from(labels, (l) => 1 - 2 * l), [n, M]),
        ).combined,
        { resolution: res },
      )
    ),
  );
  headers.push("all toggled");
  const rowLabels = Array.from(
    { length: n },
    (_, i) => labelCode(labels.subarray(i * M, (i + 1) * M), world.attributes),
  );
  const raster = editGrid(columns, headers, { rowLabels });
  tf.dispose([w, ...columns]);
  return raster;
}
