/**
 * `deno task bench [--quick] [--only editor,...]`: prints a table and merges the numbers into
 * out/bench/bench.json. Every time is a median; the machine's own plain matMul rate is measured in
 * the same run so that numbers from different (shared, noisy) machines can be compared.
 */
import { backend } from "../backend.ts";
import { matmulGflops } from "../bench/timing.ts";
import { benchEditor } from "../bench/editor_bench.ts";
import { benchWorld } from "../bench/world_bench.ts";
import { benchTraining } from "../bench/train_bench.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { type BenchRow, printBench, writeBench } from "../bench/report.ts";
import { parseArgs } from "./args.ts";

const SECTIONS: Record<string, (gflops: number, quick: boolean) => Promise<BenchRow[]>> = {
  editor: (g, q) => benchEditor(g, "official", q),
  world: async (g, q) => benchWorld(await loadSynthFace(), g, q),
  training: async (g, q) => benchTraining(await loadSynthFace(), g, q),
};

const args = parseArgs(Deno.args, {
  usage: "deno task bench [--quick] [--only editor,world,training]",
  flags: { quick: "shorter time budgets", help: "this text" },
  options: { only: "comma-separated sections (default: all)" },
});
const only = args.options.only ? args.options.only.split(",") : Object.keys(SECTIONS);
for (const s of only) {
  if (!(s in SECTIONS)) {
    args.fail(`--only: unknown section "${s}"; expected ${Object.keys(SECTIONS).join(", ")}`);
  }
}
const quick = args.flags.quick;
const gflops = await matmulGflops();
const base: BenchRow[] = [{
  key: "matmul_gflops_tfjs",
  value: gflops,
  unit: "GFLOP/s",
  note: "plain 1024x1024x1024 matMul, same run",
}];
printBench(`backend ${backend.name}`, base);
let all = base;
for (const s of only) {
  const rows = await SECTIONS[s](gflops, quick);
  printBench(s, rows);
  all = [...all, ...rows];
}
await writeBench(all, {
  backend: backend.name,
  date: new Date().toISOString(),
  cpus: navigator.hardwareConcurrency,
  quick,
});
console.log("\nwrote out/bench/bench.json");
