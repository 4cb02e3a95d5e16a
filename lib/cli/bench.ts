/**
 * `deno task bench [--quick] [--only editor,...] [--out path]`: prints a table and merges the
 * numbers into out/bench/bench.json. The machines are shared: every figure is timed in
 * repetitions interleaved with a yardstick of its own runtime (a plain 1024^3 matrix product in
 * tfjs, or in onnxruntime at the figure's thread count), and times, rates and ratios quote the
 * minima of both (the uncontended speed). A yardstick measured by several sections is written
 * with its highest rate.
 */
import { backend } from "../backend.ts";
import { benchEditor } from "../bench/editor_bench.ts";
import { benchWorld } from "../bench/world_bench.ts";
import { benchTraining } from "../bench/train_bench.ts";
import { benchStyleGAN2 } from "../bench/stylegan2_bench.ts";
import { benchExplorer } from "../bench/explorer_bench.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { type BenchRow, mergeRows, printBench, writeBench } from "../bench/report.ts";
import { parseArgs } from "./args.ts";

const SECTIONS: Record<string, (quick: boolean) => Promise<BenchRow[]>> = {
  editor: (q) => benchEditor("official", q),
  world: async (q) => benchWorld(await loadSynthFace(), q),
  training: async (q) => benchTraining(await loadSynthFace(), q),
  stylegan2: (q) => benchStyleGAN2(q),
  explorer: async (q) => benchExplorer(await loadSynthFace(), q),
};

const args = parseArgs(Deno.args, {
  usage: "deno task bench [--quick] [--only editor,world,training,stylegan2,explorer] [--out path]",
  flags: { quick: "shorter time budgets", help: "this text" },
  options: {
    only: "comma-separated sections (default: all)",
    out: "the JSON file to merge into (default out/bench/bench.json)",
  },
});
const only = args.options.only ? args.options.only.split(",") : Object.keys(SECTIONS);
for (const s of only) {
  if (!(s in SECTIONS)) {
    args.fail(`--only: unknown section "${s}"; expected ${Object.keys(SECTIONS).join(", ")}`);
  }
}
const quick = args.flags.quick;
const out = args.options.out ?? "out/bench/bench.json";
console.log(`backend ${backend.name}, ${navigator.hardwareConcurrency} CPUs`);
let all: BenchRow[] = [];
for (const s of only) {
  const rows = await SECTIONS[s](quick);
  printBench(s, rows);
  all = [...all, ...rows];
}
await writeBench(mergeRows(all), {
  backend: backend.name,
  date: new Date().toISOString(),
  cpus: navigator.hardwareConcurrency,
  quick,
}, out);
console.log(`\nwrote ${out}`);
