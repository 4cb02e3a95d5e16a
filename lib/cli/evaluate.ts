/**
 * `deno task evaluate [--limit N] [--space W,W+] [--skip-timing]`: the paper's Tables 1 and 2 in the
 * synthface world (lib/eval/tables.ts), printed and written to out/tables/ as parquet and CSV.
 * --limit N uses the first N test latents (a smoke run); the full run takes about 15 minutes here.
 */
import { backend } from "../backend.ts";
import { loadDataset } from "../data/dataset.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import {
  loadMethods,
  saveFrame,
  table1,
  table1Frame,
  table2,
  table2Frame,
} from "../eval/tables.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task evaluate [--limit N] [--space W,W+] [--skip-timing] [--out DIR]",
  flags: { "skip-timing": "skip Table 2", help: "this text" },
  options: {
    limit: "test latents to use (default: all 1,000)",
    space: "W, W+ or both (default)",
    out: "output directory (default out/tables)",
  },
});
const limit = args.options.limit === undefined ? undefined : Number(args.options.limit);
if (limit !== undefined && !(Number.isInteger(limit) && limit >= 2)) {
  args.fail(`--limit: expected an integer >= 2, got "${args.options.limit}"`);
}
const spaces = (args.options.space?.split(",") ?? ["W", "W+"]) as ("W" | "W+")[];
for (const s of spaces) {
  if (s !== "W" && s !== "W+") args.fail(`--space: expected W or W+, got "${s}"`);
}
const out = (args.options.out ?? "out/tables").replace(/\/$/, "");

const t0 = performance.now();
const world = await loadSynthFace();
const dataset = await loadDataset();
const methods = await loadMethods(world);
const rows = table1(world, dataset, methods, { limit, spaces });
const t1 = table1Frame(rows, world.attributes);
await saveFrame(t1, `${out}/table1`);
console.log(t1.toString());
if (!args.flags["skip-timing"]) {
  const t2 = table2Frame(await table2(world, methods));
  await saveFrame(t2, `${out}/table2`);
  console.log(t2.toString());
}
const seconds = (performance.now() - t0) / 1000;
await writeFileAtomic(
  `${out}/run.json`,
  JSON.stringify(
    {
      limit: limit ?? dataset.test.latents.size,
      spaces,
      seconds,
      backend: backend.name,
      date: new Date().toISOString(),
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `wrote ${out}/table1.{parquet,csv}${args.flags["skip-timing"] ? "" : " and table2"} in ${
    seconds.toFixed(0)
  } s`,
);
