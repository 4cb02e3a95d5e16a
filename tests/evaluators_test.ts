/**
 * Training the identity network: a run split over two processes (stopped, then resumed from its
 * state file) takes exactly the steps of an uninterrupted one; a state file from other options is
 * refused; a phase starts from the previous network; and the shipped network's first phase is
 * what this code computes (its recorded loss curve, reproduced bit for bit).
 */
import { assertEquals, assertRejects } from "./_util.ts";
import { EVALUATOR_TRAINING } from "../lib/world/evaluators/config.ts";
import { IDENTITY_NET } from "../lib/world/evaluators/specs.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import type { NetSpec } from "../lib/world/evaluators/convnet.ts";
import { type IdentityOptions, trainIdentity } from "../lib/world/evaluators/train.ts";

const world = await loadSynthFace({ evaluators: false });
const TINY: NetSpec = {
  name: "identity",
  resolution: 16,
  layers: [
    { kind: "conv", filters: 4, kernel: 3, stride: 2, relu: true },
    { kind: "flatten" },
    { kind: "dense", units: 8, relu: false, bias: false },
    { kind: "center" },
  ],
  normalize: true,
  seed: 5,
};
const OPTS: IdentityOptions = {
  steps: 6,
  batch: 8,
  lr: 1e-2,
  seed: 3,
  identities: 12,
  variants: 2,
  scale: 16,
  margin: 0.3,
  marginWarmup: 0.5,
  resolution: 16,
  silent: true,
};

Deno.test("identity training: stop at step 3 and resume = the uninterrupted run (losses, validation, weights)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const validation = { seed: 9, identities: 6, every: 2 };
    const whole = await trainIdentity(world, TINY, OPTS, { validation });
    const path = `${dir}/state.safetensors`;
    const first = await trainIdentity(world, TINY, OPTS, {
      statePath: path,
      validation,
      until: 3,
      checkpointEvery: 2,
    });
    assertEquals(first.losses.length, 3);
    first.net.dispose();
    const second = await trainIdentity(world, TINY, OPTS, { statePath: path, validation });
    assertEquals(second.resumedFrom, 3);
    assertEquals(second.losses, whole.losses);
    assertEquals(second.validation, whole.validation);
    for (const [k, v] of whole.net.params) {
      assertEquals(
        Array.from(second.net.params.get(k)!.dataSync()),
        Array.from(v.dataSync()),
        `parameter ${k}`,
      );
    }
    whole.net.dispose();
    second.net.dispose();
    // A state saved with other options is refused, not silently mixed in.
    await assertRejects(
      () => trainIdentity(world, TINY, { ...OPTS, lr: 2e-2 }, { statePath: path }),
      "other options",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("identity training: a phase starts from the previous network's weights", async () => {
  const first = await trainIdentity(world, TINY, { ...OPTS, steps: 2 });
  const zero = await trainIdentity(world, TINY, { ...OPTS, steps: 0, seed: 4 }, {
    init: first.net,
  });
  for (const [k, v] of first.net.params) {
    assertEquals(Array.from(zero.net.params.get(k)!.dataSync()), Array.from(v.dataSync()), k);
  }
  first.net.dispose();
  zero.net.dispose();
});

Deno.test("shipped identity network: its phase 1 is this code's (first 50 losses = the recorded mean)", async () => {
  const recorded = JSON.parse(
    await Deno.readTextFile(
      new URL("../checkpoints/synthface/identity.metrics.json", import.meta.url),
    ),
  );
  const phase1 = EVALUATOR_TRAINING.identity[0];
  assertEquals(recorded.phases[0].training, phase1);
  const every = Math.max(1, Math.floor(phase1.steps / 50));
  const run = await trainIdentity(world, IDENTITY_NET, { ...phase1, silent: true }, {
    until: every,
  });
  const mean = run.losses.reduce((a, b) => a + b, 0) / run.losses.length;
  assertEquals(mean, recorded.phases[0].lossCurve[0].loss);
  run.net.dispose();
});
