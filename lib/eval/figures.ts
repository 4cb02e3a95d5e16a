/**
 * The paper's qualitative figures as image grids, in any world with an oracle or a classifier:
 *
 *   toggleFigure        Figure 1: each attribute toggled (flipped from the face's own label) on
 *                       several faces, then all of them at once
 *   combinationFigure   Figure 6: the combinations of FIGURE6_COMBINATIONS applied to one face by
 *                       each multi-attribute editor (absmax or sequential), one row per editor
 */
import * as tf from "@tensorflow/tfjs";
import type { World } from "../world/types.ts";
import type { IDStyleEditor } from "../model/editor.ts";
import { editGrid, labelCode } from "../viz/faces.ts";
import type { Raster } from "../viz/png.ts";
import { FIGURE6_COMBINATIONS, type MultiEditor } from "./combinations.ts";

/** Labels of W+ [N, L, D] as 0/1 [N * M]: the oracle's, else the training classifier's. */
export function faceLabels(world: World, w: tf.Tensor3D): Float32Array {
  return tf.tidy(() =>
    world.oracle
      ? world.oracle.labels(w)
      : tf.cast(tf.greater(world.classifier(world.synthesize(w)), 0), "float32")
  ).dataSync() as Float32Array;
}

/** Figure 1: rows are faces, columns the original, each attribute toggled, and all toggled. */
export function toggleFigure(
  world: World,
  editor: IDStyleEditor,
  w: tf.Tensor3D,
  opts: { resolution?: number } = {},
): Raster {
  const res = opts.resolution ?? 128;
  const A = world.attributes, M = A.length, N = w.shape[0];
  const labels = faceLabels(world, w);
  const flip = (m: number, i: number) => (labels[i * M + m] > 0.5 ? -1 : 1);
  const columns = [world.synthesize(w, { resolution: res })];
  const headers = ["original"];
  const all = Array.from({ length: N }, (_, i) => A.map((_, m) => flip(m, i)));
  for (let m = 0; m <= M; m++) {
    const attr = m < M ? all.map((v) => v.map((x, j) => (j === m ? x : 0))) : all;
    const r = editor.edit(w, tf.tensor2d(attr), {});
    columns.push(world.synthesize(r.combined, { resolution: res }));
    tf.dispose([r.perAttribute, r.combined]);
    headers.push(m < M ? `${A[m]} toggled` : "all toggled");
  }
  const rowLabels = Array.from(
    { length: N },
    (_, i) => labelCode(labels.subarray(i * M, (i + 1) * M), A),
  );
  const grid = editGrid(columns, headers, { rowLabels });
  tf.dispose(columns);
  return grid;
}

/**
 * Figure 6 for one face: a row per editor, columns the original and each combination (every
 * attribute of it flipped from the face's label).
 */
export function combinationFigure(
  world: World,
  editors: readonly MultiEditor[],
  w: tf.Tensor3D,
  opts: { resolution?: number; combinations?: readonly (readonly string[])[] } = {},
): Raster {
  if (w.shape[0] !== 1) throw new Error(`combinationFigure: expected one face, got ${w.shape[0]}`);
  const res = opts.resolution ?? 112;
  const combos = opts.combinations ?? FIGURE6_COMBINATIONS;
  const A = world.attributes;
  const labels = faceLabels(world, w);
  const rows: tf.Tensor4D[] = [];
  for (const ed of editors) {
    const cells = [world.synthesize(w, { resolution: res })];
    for (const c of combos) {
      const attr = [A.map((a, m) => (c.includes(a) ? (labels[m] > 0.5 ? -1 : 1) : 0))];
      const x = ed.edit(w, attr);
      cells.push(world.synthesize(x, { resolution: res }));
      x.dispose();
    }
    rows.push(tf.concat(cells, 0) as tf.Tensor4D); // [1 + C, H, W, 3]: one row
    tf.dispose(cells);
  }
  // editGrid takes columns of N faces: transpose rows of cells into columns of editors
  const C = combos.length + 1;
  const columns = Array.from(
    { length: C },
    (_, k) =>
      tf.concat(rows.map((r) => tf.slice(r, [k, 0, 0, 0], [1, -1, -1, -1])), 0) as tf.Tensor4D,
  );
  const headers = [
    "original",
    ...combos.map((c) => c.map((a) => `${a[0].toUpperCase()}${a.slice(1, 3)}`).join("+")),
  ];
  const grid = editGrid(columns, headers, {
    rowLabels: editors.map((e) => `${e.name} (${e.rule})`),
  });
  tf.dispose([...rows, ...columns]);
  return grid;
}
