/**
 * Training mechanics on the quick dataset: the run directory, resuming with the same losses as an
 * uninterrupted run, Ctrl-C saving a resumable checkpoint, and batches that depend on the step only.
 */
import { assert, assertEquals, tf } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { quickDataset } from "../lib/data/quick.ts";
import { trainConfig } from "../lib/train/config.ts";
import { train } from "../lib/train/train.ts";
import { makeBatch, targetsFor } from "../lib/train/batches.ts";
import { RunDir } from "../lib/train/run_dir.ts";

const world = await loadSynthFace();
const dataset = await quickDataset(world);
const root = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "a resumed run logs exactly the losses of an uninterrupted one",
  sanitizeResources: false,
  fn: async () => {
    const runs = await Deno.makeTempDir();
    const cfg = trainConfig("official", "quick", {
      steps: 8,
      logEvery: 1,
      evalEvery: 1000,
      checkpointEvery: 1000,
      warmupSteps: 2,
    });
    const full = await train(cfg, {
      world,
      dataset,
      name: "full",
      runsDir: runs,
      silent: true,
      resume: false,
    });
    const part = await train(cfg, {
      world,
      dataset,
      name: "split",
      runsDir: runs,
      silent: true,
      resume: false,
      stopAfter: 3,
    });
    assertEquals(part.steps, 3);
    const rest = await train(cfg, { world, dataset, name: "split", runsDir: runs, silent: true });
    assertEquals(rest.steps, 8);
    const losses = (rows: { type: string }[]) =>
      rows.filter((r) => r.type === "train").map((r) =>
        JSON.stringify({ ...r, stepsPerSecond: 0 })
      );
    assertEquals(losses(rest.metrics), losses(full.metrics));
    for (
      const f of [
        "config.json",
        "world.json",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "editor.safetensors",
      ]
    ) {
      await Deno.stat(`${runs}/split/${f}`);
    }
    // The identity network the run trained against, by the hash of the shipped file.
    const recorded = JSON.parse(await Deno.readTextFile(`${runs}/split/world.json`));
    const bytes = await Deno.readFile(
      new URL("../checkpoints/synthface/identity.safetensors", import.meta.url),
    );
    const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals(recorded.world, "synthface");
    assertEquals(recorded.identity.includes(`sha256 ${hex.slice(0, 16)}`), true, recorded.identity);
    const a = full.editor.params()[2].variable.dataSync(),
      b = rest.editor.params()[2].variable.dataSync();
    assertEquals(Array.from(a), Array.from(b));
  },
});

Deno.test("targets: flip-all toggles every attribute; joint draws a label vector (0 where unchanged)", () => {
  const src = Float32Array.from([1, 0, 1, 0]);
  const flip = targetsFor(src, 4, "flip-all", () => new Float32Array(4));
  assertEquals(Array.from(flip.attr), [-1, 1, -1, 1]);
  assertEquals(Array.from(flip.targets), [0, 1, 0, 1]);
  const joint = targetsFor(src, 4, "joint", () => Float32Array.from([1, 1, 0, 0]));
  assertEquals(Array.from(joint.attr), [0, 1, -1, 0]);
  assertEquals(Array.from(joint.targets), [1, 1, 0, 0]);
});

Deno.test("a batch depends only on (seed, step)", () => {
  const a = makeBatch(dataset.train, 5, 3, "flip-all", 7, 4),
    b = makeBatch(dataset.train, 5, 3, "flip-all", 7, 4);
  const c = makeBatch(dataset.train, 6, 3, "flip-all", 7, 4);
  assertEquals(a.rows, b.rows);
  assert(a.rows.join() !== c.rows.join(), "another step, another batch");
  assertEquals(Array.from(a.wPlus.dataSync()), Array.from(b.wPlus.dataSync()));
  tf.dispose([a.wPlus, b.wPlus, c.wPlus, a.attr, b.attr, c.attr, a.targets, b.targets, c.targets]);
});

Deno.test({
  name:
    "Ctrl-C during `deno task train` saves a checkpoint, exits cleanly, and the run resumes from it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const name = `sigint-test-${Date.now()}`;
    const runDir = `${root}checkpoints/runs/${name}`;
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${root}lib/cli/train.ts`,
          "--schedule",
          "quick",
          "--steps",
          "5000",
          "--name",
          name,
        ],
        env: { IDSTYLE_QUIET: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Wait until training has started (the run's metrics exist), then interrupt.
      for (let i = 0; i < 600; i++) {
        const rows = await new RunDir(runDir).readMetrics();
        if (rows.length >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill("SIGINT");
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, `exit code (stdout: ${text})`);
      assert(text.includes("stopped after"), text);
      const f = await Deno.stat(`${runDir}/checkpoint.safetensors`);
      assert(f.isFile);
      const { readSafetensors } = await import("../lib/io/safetensors.ts");
      const step = Number(
        (await readSafetensors(`${runDir}/checkpoint.safetensors`)).metadata["train.step"],
      );
      assert(step > 0 && step < 5000, `checkpoint at step ${step}`);
    } finally {
      await Deno.remove(runDir, { recursive: true }).catch(() => {});
    }
  },
});
