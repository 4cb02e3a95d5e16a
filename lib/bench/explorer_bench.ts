/**
 * The explorer's redraw: one frame (the edit with strengths on two attributes, its 256 px render
 * and PNG, the oracle's labels and identity, FRS and both classifiers) per method, timed
 * interleaved with tfjs's matMul. Target: each change redraws within 150 ms on the 2-core build
 * machine (the absolute figure; the ratio to the same run's matMul time is recorded too,
 * so runs on other machines compare).
 */
import type { SynthFace } from "../world/synthface/world.ts";
import type { BenchRow } from "./report.ts";
import { interleaved } from "./timing.ts";
import { matmulRate, tfjsMatmul } from "./yardsticks.ts";
import { loadExplorerMethods } from "../explore/show.ts";
import { ExplorerSession } from "../explore/session.ts";

export async function benchExplorer(world: SynthFace, quick = false): Promise<BenchRow[]> {
  const { methods } = await loadExplorerMethods(world);
  const session = new ExplorerSession(world, methods, {});
  const names = Object.keys(methods);
  let k = 0;
  // a new setting each call (as a slider moves), the same face (its original is cached)
  const frame = (method: string) => () => {
    k++;
    const q = new URLSearchParams({
      face: "seed:7",
      method,
      smile: String((k % 20) / 10),
      age: "-1",
    });
    session.frame(session.parse(q));
  };
  session.frame(session.parse(new URLSearchParams({ face: "seed:7" })));
  const mm = tfjsMatmul();
  const t = await interleaved(
    names.map((m) => ({ figure: frame(m), yardstick: mm.run, reps: 3 })),
    { warmup: 1, minRounds: 3, budgetMs: quick ? 2000 : 10000 },
  );
  mm.dispose();
  session.dispose();
  const rows: BenchRow[] = [];
  names.forEach((m, i) => {
    const f = t[i].figure;
    rows.push({
      key: `explorer_frame_ms_${m.replace(/-/g, "_")}`,
      value: f.minMs,
      unit: "ms",
      note: `edit + 256 px render + PNG + scores; median ${
        f.medianMs.toFixed(0)
      } ms of ${f.runs}; target < 150 ms`,
    });
    rows.push({
      key: `explorer_frame_${m.replace(/-/g, "_")}_over_matmul`,
      value: f.minMs / t[i].yardstick.minMs,
      unit: "x",
      note: "frame time / one 1024^3 tfjs matMul of the same run",
    });
  });
  rows.push({
    key: "matmul_gflops_tfjs",
    value: Math.max(...t.map((x) => matmulRate(x.yardstick.minMs))),
    unit: "GFLOP/s",
    note: "tfjs 1024^3 matMul, interleaved with the figures",
    yardstick: true,
  });
  return rows;
}
