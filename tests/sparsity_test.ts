/**
 * The sparsity–entanglement analysis: angles, mass curves and Hoyer's sparsity against values
 * worked out by hand; the top-k editor against the unrestricted edit; the Figure 9 sweep's points
 * against the evaluation protocol run directly.
 */
import { assert, assertClose, assertEquals, assertThrows, tf } from "./_util.ts";
import {
  angleMatrix,
  entriesForShare,
  globalDirections,
  hoyerSparsity,
  massCurve,
  realizedEdits,
  topKSweep,
} from "../lib/eval/sparsity.ts";
import { evaluate, idStyleAttributeEditor } from "../lib/eval/evaluate.ts";
import { loadEditor } from "../lib/io/checkpoint.ts";
import { SHIPPED_CHECKPOINTS } from "../lib/train/shipped.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";

Deno.test("angleMatrix: 90 for orthogonal, 45 and 60 degrees by hand, symmetric, 0 on the diagonal", () => {
  const a = angleMatrix([[1, 0, 0], [0, 2, 0], [1, 1, 0], [1, Math.sqrt(3), 0], [-3, 0, 0]]);
  assertClose(a[0][1], 90, 1e-9);
  assertClose(a[0][2], 45, 1e-9);
  assertClose(a[1][2], 45, 1e-9);
  assertClose(a[0][3], 60, 1e-9);
  assertClose(a[0][4], 180, 1e-9);
  for (let i = 0; i < 5; i++) {
    assertEquals(a[i][i], 0);
    for (let j = 0; j < 5; j++) assertClose(a[i][j], a[j][i], 1e-12);
  }
  assertThrows(() => angleMatrix([[1, 0], [1, 0, 0]]), "vectors[1]", "length 2");
  assertThrows(() => angleMatrix([[1, 0], [0, 0]]), "vectors[1]", "non-zero");
});

Deno.test("massCurve, entriesForShare, hoyerSparsity by hand", () => {
  assertEquals(Array.from(massCurve([0, -1, 3, 0])), [0.75, 1, 1, 1]);
  assertEquals(entriesForShare([0, -1, 3, 0], 0.75), 1);
  assertEquals(entriesForShare([0, -1, 3, 0], 0.8), 2);
  assertEquals(entriesForShare([1, 1, 1, 1], 1), 4);
  assertClose(hoyerSparsity([0, 0, 5, 0]), 1, 1e-12);
  assertClose(hoyerSparsity([2, -2, 2, 2]), 0, 1e-12);
  // [1, 1, 0, 0]: L1 / L2 = 2 / sqrt(2); (2 - sqrt(2)) / (2 - 1).
  assertClose(hoyerSparsity([1, 1, 0, 0]), 2 - Math.SQRT2, 1e-12);
  assertThrows(() => entriesForShare([1, 2], 0), "share", "(0, 1]");
});

const world = await loadSynthFace();
const { editor } = await loadEditor(SHIPPED_CHECKPOINTS.official);
const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(3, 5))));
const batch = (rows: number[]) => tf.gather(w, rows) as tf.Tensor3D;
const D = world.latentDim;

Deno.test("globalDirections: the L1-normalised LGD rows, one per attribute", () => {
  const dirs = globalDirections(editor);
  assertEquals(dirs.length, world.attributes.length);
  const raw = editor.lgd.raw().arraySync() as number[][];
  dirs.forEach((d, m) => {
    const l1 = raw[m].reduce((s, v) => s + Math.abs(v), 0);
    assertClose(d.reduce((s, v) => s + Math.abs(v), 0), 1, 1e-5);
    for (const k of [0, 100, 511]) assertClose(d[k], raw[m][k] / l1, 1e-6);
  });
});

Deno.test("top-k attribute editor: k = D is the plain edit; small k keeps k entries per row, scaled by the intensity", () => {
  const plain = idStyleAttributeEditor(editor);
  const all = idStyleAttributeEditor(editor, "all", { topK: D });
  const top3 = idStyleAttributeEditor(editor, "top3", { topK: 3, intensity: 2 });
  const [e0, eAll, e3] = [plain, all, top3].map((m) => m.editAttribute(w, 1, [1, -1, 1]));
  assertEquals(Array.from(eAll.dataSync()), Array.from(e0.dataSync()));
  const delta = (tf.sub(e0, w).arraySync() as number[][][]).flat();
  const delta3 = (tf.sub(e3, w).arraySync() as number[][][]).flat();
  delta3.forEach((row, r) => {
    const kept = row.map((v, k) => [v, k] as const).filter(([v]) => v !== 0);
    assert(kept.length <= 3, `row ${r}: ${kept.length} non-zero entries`);
    const largest = Math.max(...delta[r].map(Math.abs));
    // The delta is w + d - w in float32, so compare with a tolerance.
    for (const [v, k] of kept) assertClose(v, 2 * delta[r][k], 1e-4);
    if (largest > 1e-3) assert(kept.length > 0, `row ${r}: nothing kept`);
  });
  tf.dispose([e0, eAll, e3]);
  assertThrows(() => idStyleAttributeEditor(editor, "x", { topK: 0 }), "topK");
  assertThrows(() => idStyleAttributeEditor(editor, "x", { intensity: -1 }), "intensity");
});

Deno.test("topKSweep: one point per setting, k = D at intensity 1 equals the protocol run on the plain editor", () => {
  const points = topKSweep(editor, world, 3, batch, {
    ks: [1, D],
    smallKs: [2],
    intensities: [1, 5],
    silent: true,
  });
  assertEquals(points.map((p) => `${p.experiment}:${p.k}x${p.intensity}`), [
    "k:1x1",
    `k:${D}x1`,
    "intensity:2x1",
    "intensity:2x5",
  ]);
  const { summary } = evaluate(idStyleAttributeEditor(editor), world, 3, batch, { silent: true });
  const full = points[1];
  assertEquals(full.mAcc, summary.mAcc);
  assertEquals(full.frs, summary.frs);
  assertEquals(full.oracleIdentity, summary.oracleIdentity);
  // Editing one entry per row changes the face less than the full edit.
  assert(
    points[0].oracleIdentity! >= full.oracleIdentity!,
    "top-1 keeps identity at least as well",
  );
});

Deno.test("realizedEdits (official preset): rows edited = StyleFlow's masks; disjoint rows give 90 degrees", () => {
  const r = realizedEdits(editor, w);
  // DESIGN.md section 3: gender rows 0-7, glasses 2-3, age 4-7, smile 4-5.
  assertEquals(r.rowsEdited, [8, 2, 4, 2]);
  const [gender, glasses, age, smile] = [0, 1, 2, 3];
  assertClose(r.angles[glasses][age], 90, 1e-3);
  assertClose(r.angles[glasses][smile], 90, 1e-3);
  assertClose(r.angles[age][glasses], 90, 1e-3);
  // Rows shared (gender and age: 4-7) make the angle a measurement, not a given.
  assert(Math.abs(r.angles[gender][age] - 90) > 1e-3, "gender and age share rows 4-7");
  for (const e of r.entries90) assert(e >= 1 && e <= D, `entries90 ${e}`);
});
