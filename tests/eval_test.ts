/**
 * The evaluation protocol on a tiny set with hand-checkable editors, and the tables' schema.
 */
import { assert, assertClose, assertEquals, tf } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { evaluate, IDENTITY_EDITOR } from "../lib/eval/evaluate.ts";
import { table1Frame } from "../lib/eval/tables.ts";
import { idealDirection } from "../lib/world/synthface/properties.ts";

const world = await loadSynthFace();
const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(6, 77))));
const batch = (rows: number[]) => tf.gather(w, rows) as tf.Tensor3D;

Deno.test("identity editor: SSIM 1, FRS 1, distances 0, accuracy = the fraction of targets already met (1/2)", () => {
  const { summary, records } = evaluate(IDENTITY_EDITOR, world, 6, batch, {
    silent: true,
    batch: 4,
  });
  assertEquals(records.length, 6 * 4 * 2);
  assertClose(summary.ssim, 1, 1e-5);
  assertClose(summary.frs, 1, 1e-5);
  assertClose(summary.perceptual, 0, 1e-6);
  assertClose(summary.oracleIdentity!, 1, 1e-5);
  assertClose(summary.othersKept!, 1, 0);
  // Two eigendecompositions of covariances with traces in the hundreds: round-off ~1e-4.
  assertClose(summary.frechet, 0, 1e-3);
  // Each face meets exactly one of its two targets (+1 if it has the attribute, -1 if not).
  for (const a of world.attributes) assertClose(summary.accuracy[a], 0.5, 0);
});

Deno.test("an editor that sets every attribute (by the oracle) scores 100% oracle accuracy", () => {
  // Moves w far along each attribute's ideal direction: the oracle must follow.
  const dirs = world.attributes.map((a) =>
    tf.tensor1d(idealDirection(world, world.factorNames.indexOf(a)))
  );
  const editor = {
    name: "ideal x 12",
    editAttribute: (wp: tf.Tensor3D, m: number, d: number[]) =>
      tf.tidy(() => {
        const sign = tf.tensor3d(d, [d.length, 1, 1]);
        // Sign of the ideal direction towards "more": the oracle score must rise along it.
        const up = tf.tidy(() => {
          const s0 = world.oracle.attributeScores(wp).arraySync() as number[][];
          const s1 = world.oracle.attributeScores(tf.add(wp, tf.mul(dirs[m], 0.5)) as tf.Tensor3D)
            .arraySync() as number[][];
          return s1.reduce((acc, r, i) => acc + r[m] - s0[i][m], 0) >= 0 ? 1 : -1;
        });
        return tf.add(wp, tf.mul(tf.mul(sign, up * 12), dirs[m])) as tf.Tensor3D;
      }),
  };
  const { summary } = evaluate(editor, world, 6, batch, { silent: true });
  assert(summary.oracleMAcc! > 0.95, `oracle mACC ${summary.oracleMAcc}`);
  assert(summary.mAcc > 0.9, `eval-classifier mACC ${summary.mAcc}`);
});

Deno.test("Table 1's schema: one row per space and method, every metric column, notes", () => {
  const { summary } = evaluate(IDENTITY_EDITOR, world, 2, batch, { silent: true });
  const df = table1Frame([{ space: "W", method: "identity", summary }, {
    space: "W+",
    method: "StyleFlow",
    summary: null,
    note: "not yet implemented",
  }], world.attributes);
  assertEquals(df.columns, [
    "space",
    "method",
    "SSIM",
    "FRS",
    "FD (eval features)",
    "PD (perceptual)",
    "mACC %",
    ...world.attributes.map((a) => `${a} %`),
    "oracle mACC %",
    "oracle identity",
    "others kept %",
    "edits",
    "eval min",
    "evaluated",
    "note",
  ]);
  assertEquals(df.height, 2);
  assertEquals(df.getColumn("mACC %").toArray() as unknown[], [50, null]);
});
