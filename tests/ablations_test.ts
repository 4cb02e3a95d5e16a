/**
 * Table 3 plumbing: each configuration trains its own resumable run with exactly its ablation,
 * and is scored by the evaluation protocol.
 */
import { assert, assertEquals } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { quickDataset } from "../lib/data/quick.ts";
import { TABLE3, table3, table3RunName, trainTable3 } from "../lib/eval/ablations.ts";
import { ABLATIONS } from "../lib/model/config.ts";

Deno.test("TABLE3: A plus one row per ablation, each removing exactly one part", () => {
  assertEquals(TABLE3.map((r) => r.id).join(""), "ABCDEF");
  assertEquals(TABLE3[0].ablations, []);
  assertEquals(TABLE3.slice(1).map((r) => r.ablations[0]).sort(), [...ABLATIONS].sort());
});

Deno.test({
  name: "trainTable3 trains each row's own run with its ablation, table3 scores them",
  sanitizeResources: false,
  fn: async () => {
    const world = await loadSynthFace();
    const dataset = await quickDataset(world);
    const runsDir = await Deno.makeTempDir();
    try {
      const opts = {
        schedule: "quick" as const,
        steps: 3,
        ids: ["A" as const, "F" as const],
        runsDir,
        silent: true,
      };
      const trained = await trainTable3(world, dataset, opts);
      assertEquals(trained.map((t) => t.config.id), ["A", "F"]);
      assertEquals(trained[0].editor.config.layerEmbedding, "fixed"); // official preset
      assertEquals(trained[1].editor.config.layerEmbedding, "none");
      for (const t of trained) assert(t.seconds > 0, `${t.config.id}: ${t.seconds} s`);
      for (const id of ["A", "F"]) {
        await Deno.stat(
          `${runsDir}/${table3RunName("official", "quick", id)}-3/editor.safetensors`,
        );
      }
      const rows = table3(world, dataset, trained, { limit: 2, silent: true });
      assertEquals(rows.length, 2);
      for (const r of rows) {
        assertEquals(r.summary.edits, 2 * 2 * world.attributes.length);
        assert(r.summary.frs > 0 && r.summary.frs <= 1 + 1e-6, `FRS ${r.summary.frs}`);
      }
    } finally {
      await Deno.remove(runsDir, { recursive: true });
    }
  },
});
