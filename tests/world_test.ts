/**
 * The synthface world: determinism, differentiability, the oracle, the shipped evaluators' bars
 * on fixed held-out sets, and bad input.
 */
import { assert, assertClose, assertEquals, assertThrows, tf, values } from "./_util.ts";
import { loadSynthFace, SYNTHFACE_DIR } from "../lib/world/synthface/world.ts";
import { ATTRIBUTES, FACTORS } from "../lib/world/synthface/spec.ts";
import { mapSamples } from "../lib/world/synthface/calibration.ts";
import { readNpy } from "../lib/io/npy.ts";
import { DATASET, DATASET_DIR } from "../lib/data/dataset.ts";
import { EVALUATOR_BARS, EVALUATOR_TRAINING } from "../lib/world/evaluators/config.ts";
import {
  evaluateClassifier,
  evaluateIdentity,
  heldOutValues,
} from "../lib/world/evaluators/train.ts";
import { Rng } from "../lib/util/rng.ts";
import { entanglement } from "../lib/world/synthface/properties.ts";

const world = await loadSynthFace();

async function hash(data: Float32Array | Int32Array): Promise<string> {
  const d = await crypto.subtle.digest(
    "SHA-256",
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
  );
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("determinism: the same seed gives the same latents and images (by hash), across world instances", async () => {
  const other = await loadSynthFace({ evaluators: false });
  const run = async (w: typeof world) => {
    const wp = tf.tidy(() => w.toWPlus(w.mapping(w.sampleZ(4, 123))));
    const img = w.synthesize(wp);
    const h = [
      await hash(wp.dataSync() as Float32Array),
      await hash(img.dataSync() as Float32Array),
    ];
    tf.dispose([wp, img]);
    return h;
  };
  assertEquals(await run(other), await run(world));
  const w2 = tf.tidy(() => world.mapping(world.sampleZ(4, 124)));
  const w1 = tf.tidy(() => world.mapping(world.sampleZ(4, 123)));
  assert(
    await hash(w1.dataSync() as Float32Array) !== await hash(w2.dataSync() as Float32Array),
    "another seed differs",
  );
});

Deno.test("determinism: regenerating the first test latents reproduces the committed dataset bit for bit", async () => {
  const stored = (await readNpy(`${DATASET_DIR}/test_w.npy`)).data as Float32Array;
  const fresh = mapSamples(world.mappingNet, 64, DATASET.testSeed);
  // The z stream is one block; the first 64 rows of a 64-sample stream equal the dataset's.
  assertEquals(await hash(fresh), await hash(stored.slice(0, 64 * 512)));
});

Deno.test("images are [N, H, W, 3] in [-1, 1] at any resolution", () => {
  const wp = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(2, 5))));
  for (const r of [32, 64, 96]) {
    const img = world.synthesize(wp, { resolution: r });
    assertEquals(img.shape, [2, r, r, 3]);
    const [lo, hi] = [tf.min(img).dataSync()[0], tf.max(img).dataSync()[0]];
    assert(lo >= -1 && hi <= 1 && hi - lo > 0.5, `range ${lo}..${hi}`);
    img.dispose();
  }
});

Deno.test("gradient from image to W+ matches finite differences", () => {
  const wp = tf.variable(tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(2, 9)))));
  const rng = new Rng(3);
  const R = tf.tensor4d(rng.normals(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  const f = () =>
    tf.sum(
      tf.mul(world.synthesize(wp as tf.Variable<tf.Rank.R3>, { resolution: 32 }), R),
    ) as tf.Scalar;
  const { grads } = tf.variableGrads(f, [wp]);
  const g = grads[wp.name];
  assert(tf.sum(tf.abs(g)).dataSync()[0] > 0, "non-zero gradient");
  const orig = wp.clone();
  for (let t = 0; t < 3; t++) {
    const dir = tf.tidy(() => {
      const d = tf.tensor3d(rng.normals(wp.size), wp.shape as [number, number, number]);
      return tf.div(d, tf.norm(d));
    });
    const h = 0.05;
    wp.assign(tf.add(orig, tf.mul(dir, h)));
    const fp = f().dataSync()[0];
    wp.assign(tf.sub(orig, tf.mul(dir, h)));
    const fm = f().dataSync()[0];
    wp.assign(orig);
    const numeric = (fp - fm) / (2 * h);
    const analytic = tf.sum(tf.mul(g, dir)).dataSync()[0];
    assertClose(analytic, numeric, 0.05 * Math.abs(numeric) + 0.05, 0, `direction ${t}`);
  }
});

Deno.test("oracle: labels are the attribute scores thresholded at 0.5; identity similarity is 1 with itself", () => {
  const wp = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(200, 11))));
  const scores = values(world.oracle.attributeScores(wp));
  const labels = values(world.oracle.labels(wp));
  assertEquals(Array.from(labels), Array.from(scores, (s) => (s > 0.5 ? 1 : 0)));
  const f = values(world.factors(wp));
  const F = FACTORS.length;
  ATTRIBUTES.forEach((a, m) => {
    const j = FACTORS.findIndex((x) => x.name === a);
    for (let i = 0; i < 200; i++) assertClose(scores[i * ATTRIBUTES.length + m], f[i * F + j], 0);
  });
  const id = world.oracle.identity(wp);
  assertClose(values(world.oracle.identitySimilarity(id, id)), new Array(200).fill(1), 1e-5);
  const shuffled = tf.reverse(id, 0) as tf.Tensor2D;
  const cross = tf.mean(world.oracle.identitySimilarity(id, shuffled)).dataSync()[0];
  assert(Math.abs(cross) < 0.2, `random pairs are dissimilar (mean ${cross})`);
});

Deno.test(`shipped classifiers: at least ${100 * EVALUATOR_BARS.accuracy}% per attribute on 2,000 held-out renders`, () => {
  const held = heldOutValues(
    world,
    EVALUATOR_TRAINING.heldOut.renders,
    EVALUATOR_TRAINING.heldOut.seed,
  );
  for (const net of [world.evaluators.classifier, world.evaluators.evalClassifier]) {
    const acc = evaluateClassifier(world, net, held);
    for (const [a, v] of Object.entries(acc)) {
      assert(v >= EVALUATOR_BARS.accuracy, `${net.spec.name} ${a}: ${v}`);
    }
  }
});

const recordedIdentity = JSON.parse(
  Deno.readTextFileSync(new URL("../checkpoints/synthface/identity.metrics.json", import.meta.url)),
).heldOut as { rocAuc: number; identities: number };
let heldOutIdentity: ReturnType<typeof evaluateIdentity> | null = null;
// The recorded check's identities (300), evaluated once for both tests.
const identityHeldOut = () =>
  heldOutIdentity ??= evaluateIdentity(
    world,
    world.evaluators.identity,
    EVALUATOR_TRAINING.heldOut.identitySeed,
    EVALUATOR_TRAINING.heldOut.identities,
  );

Deno.test("shipped identity network: reproduces its recorded held-out AUC and separates same from different identities", () => {
  const m = identityHeldOut();
  assertEquals(m.identities, recordedIdentity.identities);
  assertClose(m.rocAuc, recordedIdentity.rocAuc, 1e-4);
  assert(
    m.meanCosSame > m.meanCosDifferent + 0.3,
    `same ${m.meanCosSame}, different ${m.meanCosDifferent}`,
  );
});

Deno.test(`shipped identity network: verification ROC AUC at least ${EVALUATOR_BARS.rocAuc} on ${EVALUATOR_TRAINING.heldOut.identities} held-out identities`, () => {
  const m = identityHeldOut();
  assert(m.rocAuc >= EVALUATOR_BARS.rocAuc, `AUC ${m.rocAuc}`);
});

Deno.test("entanglement: naive directions lose identity that the ideal ones keep, and flip correlated attributes", () => {
  const w = mapSamples(world.mappingNet, 300, 555);
  const rows = entanglement(world, w);
  for (const a of world.attributes) {
    const naive = rows.find((r) => r.attribute === a && r.direction === "class-mean")!;
    const ideal = rows.find((r) => r.attribute === a && r.direction === "ideal")!;
    assert(
      naive.flipRate >= 0.9 && ideal.flipRate >= 0.9,
      `${a}: both directions flip the attribute`,
    );
    assert(
      naive.oracleIdentity < ideal.oracleIdentity - 0.01,
      `${a}: naive ${naive.oracleIdentity} vs ideal ${ideal.oracleIdentity}`,
    );
    assert(
      Object.values(ideal.otherFlips).every((f) => f < 0.06),
      `${a}: ideal flips others ${JSON.stringify(ideal.otherFlips)}`,
    );
  }
  // Glasses and age are entangled: the naive glasses direction flips age for many.
  assert(
    rows.find((r) => r.attribute === "glasses" && r.direction === "class-mean")!.otherFlips.age >
      0.15,
  );
});

Deno.test("bad input: shapes, NaN latents, unknown names, resolution", () => {
  assertThrows(() => world.mapping(tf.zeros([2, 511]) as tf.Tensor2D), "z", "[?, 512]", "[2, 511]");
  assertThrows(
    () => world.synthesize(tf.zeros([2, 17, 512]) as tf.Tensor3D),
    "wPlus",
    "[?, 18, 512]",
    "[2, 17, 512]",
  );
  const nan = tf.tensor3d(new Float32Array(18 * 512).fill(NaN), [1, 18, 512]);
  assertThrows(() => world.synthesize(nan), "wPlus", "finite", "9216 NaN");
  assertThrows(
    () => world.attributeIndex("beard"),
    'unknown name "beard"',
    "gender, glasses, age, smile",
  );
  assertThrows(
    () => world.renderFactors(tf.zeros([1, FACTORS.length]) as tf.Tensor2D, 3),
    "resolution",
    "8..1024",
  );
  assertThrows(
    () => world.renderFactors(tf.zeros([1, 5]) as tf.Tensor2D),
    "values",
    `[?, ${FACTORS.length}]`,
  );
});

Deno.test("the calibration file matches a recalibration from the seed", async () => {
  const { calibrate } = await import("../lib/world/synthface/calibration.ts");
  const fresh = calibrate(world.seed, world.mappingNet, world.design);
  assertClose(fresh.threshold, world.calibration.threshold, 1e-4, 1e-4, "thresholds");
  assertClose(fresh.wAvg, world.calibration.wAvg, 1e-5, 0, "wAvg");
  assert(SYNTHFACE_DIR.endsWith("checkpoints/synthface/"));
});
