/**
 * Figure 6's measurements (lib/eval/combinations.ts) and the Figure 1 / 6 grids: a no-op editor
 * scores 0 accuracy (every attribute is flipped from its label) and FRS 1; for a single attribute
 * absmax and sequential ID-Style are the same edit; grids have the expected size.
 */
import { assert, assertEquals, tf } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { loadEditor } from "../lib/io/checkpoint.ts";
import { SHIPPED_CHECKPOINTS } from "../lib/train/shipped.ts";
import { idStyleAttributeEditor } from "../lib/eval/evaluate.ts";
import {
  absmaxEditor,
  evaluateCombinations,
  type MultiEditor,
  sequentialEditor,
} from "../lib/eval/combinations.ts";
import { combinationFigure, toggleFigure } from "../lib/eval/figures.ts";

Deno.test("combinations: a no-op scores 0 and FRS 1; one attribute by absmax = sequential", async () => {
  const world = await loadSynthFace();
  const dataset = await loadDataset();
  const { editor } = await loadEditor(SHIPPED_CHECKPOINTS.official);
  const noop: MultiEditor = { name: "none", rule: "sequential", edit: (w) => tf.clone(w) };
  const order = [0, 1, 2, 3];
  const editors = [
    noop,
    absmaxEditor(editor, "ID-Style"),
    sequentialEditor(idStyleAttributeEditor(editor), "ID-Style", order),
  ];
  const n = 6;
  const r = evaluateCombinations(
    world,
    editors,
    n,
    (rows) => dataset.test.latents.batch(rows),
    dataset.test.labels,
    { combinations: [["smile"], ["gender", "glasses"]], silent: true },
  );
  assertEquals(r.length, 6);
  const get = (i: number, c: string) =>
    r.find((x) =>
      x.method === editors[i].name && x.rule === editors[i].rule && x.combination === c
    )!;
  assert(get(0, "smile").accuracy < 0.2, `no-op accuracy ${get(0, "smile").accuracy}`);
  assert(Math.abs(get(0, "smile").frs - 1) < 1e-4, `no-op FRS ${get(0, "smile").frs}`);
  assertEquals(get(0, "gender + glasses").othersKept, 1);
  const a = get(1, "smile"), s = get(2, "smile");
  assert(Math.abs(a.frs - s.frs) < 1e-4 && a.accuracy === s.accuracy, `${a.frs} vs ${s.frs}`);
  assert(
    get(1, "gender + glasses").accuracy > 0.7,
    `ID-Style edits: ${get(1, "gender + glasses").accuracy}`,
  );
  for (const x of r) assertEquals(x.latents, n);
  // the grids
  const w = dataset.test.latents.batch([0, 1]);
  const g1 = toggleFigure(world, editor, w, { resolution: 64 });
  assert(g1.width > 6 * 64 && g1.height > 2 * 64, `${g1.width}x${g1.height}`);
  const one = dataset.test.latents.batch([0]);
  const g6 = combinationFigure(world, editors.slice(1), one, { resolution: 48 });
  assert(g6.width > 5 * 48 && g6.height > 2 * 48, `${g6.width}x${g6.height}`);
  tf.dispose([w, one]);
});
