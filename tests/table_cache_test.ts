/**
 * Table 1's result cache (lib/eval/table_cache.ts): a key changes with any input file and with the
 * protocol's inputs; a cached row equals the computed one; --fresh recomputes.
 */
import { assert, assertEquals } from "./_util.ts";
import { readCached, resultKey, sha256FileSync } from "../lib/eval/table_cache.ts";
import { loadMethods, table1 } from "../lib/eval/tables.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { createHash } from "node:crypto";

Deno.test("result keys: stable, and changed by a file's content or an input", () => {
  const dir = Deno.makeTempDirSync();
  const f = `${dir}/ckpt.bin`;
  Deno.writeFileSync(f, new Uint8Array([1, 2, 3]));
  assertEquals(
    sha256FileSync(f),
    createHash("sha256").update(new Uint8Array([1, 2, 3])).digest("hex"),
  );
  const a = resultKey({ method: "m", n: 4 }, { checkpoint: f });
  assertEquals(resultKey({ method: "m", n: 4 }, { checkpoint: f }).key, a.key);
  assert(resultKey({ method: "m", n: 5 }, { checkpoint: f }).key !== a.key, "n is part of the key");
  Deno.writeFileSync(f, new Uint8Array([1, 2, 4, 5])); // new size: the memo sees the change
  assert(
    resultKey({ method: "m", n: 4 }, { checkpoint: f }).key !== a.key,
    "content is part of the key",
  );
  assertEquals(readCached(dir, a.key), null);
});

Deno.test("table1: a second run reads the cache with equal numbers; fresh recomputes", async () => {
  const world = await loadSynthFace();
  const dataset = await loadDataset();
  const methods = await loadMethods(world, { only: ["InterFaceGAN"] });
  assertEquals(methods.map((m) => m.name), ["InterFaceGAN"]);
  const cacheDir = Deno.makeTempDirSync();
  const opts = { limit: 2, spaces: ["W+" as const], silent: true, cacheDir };
  const [first] = table1(world, dataset, methods, opts);
  assertEquals(first.provenance?.cached, false);
  assertEquals([...Deno.readDirSync(cacheDir)].length, 1);
  const [second] = table1(world, dataset, methods, opts);
  assertEquals(second.provenance?.cached, true);
  assertEquals(second.summary!.mAcc, first.summary!.mAcc);
  assertEquals(second.summary!.frs, first.summary!.frs);
  const [third] = table1(world, dataset, methods, { ...opts, fresh: true });
  assertEquals(third.provenance?.cached, false);
  assertEquals(third.summary!.frs, first.summary!.frs);
  const [none] = table1(world, dataset, methods, { ...opts, cacheDir: null });
  assertEquals(none.provenance?.cached, false);
});

Deno.test("loadMethods: an unknown name is refused with the list", async () => {
  const world = await loadSynthFace({ evaluators: false });
  let msg = "";
  await loadMethods(world, { only: ["StyleGAN"] }).catch((e) => (msg = (e as Error).message));
  assert(msg.includes('unknown method "StyleGAN"') && msg.includes("StyleFlow"), msg);
});
