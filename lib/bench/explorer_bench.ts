/**
 * The explorer's redraw: one frame (the edit with two sliders or one away from 0, its 256 px
 * render and PNG, the oracle's labels and identity, FRS and both classifiers) per method, timed
 * interleaved with tfjs's matMul. Target: each change redraws within 150 ms on the 2-core build
 * machine (the issue's absolute figure; the ratio to the same run's matMul time is recorded too,
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
  // A new setting each call (as a slider moves; values never repeat, so no memo answers a whole
  // chain), the same face (its original is cached). Three gestures:
  //   first   age moving, smile held at 1: a baseline's chain computes both steps (the worst case)
  //   last    age held at -1, smile moving: the age step is remembered (memo.ts), smile's computed
  //   one     smile alone
  type Gesture = "first" | "last" | "one";
  const LABEL: Record<Gesture, string> = {
    first: "age moving, smile held",
    last: "age held, smile moving",
    one: "smile alone",
  };
  const frame = (method: string, g: Gesture) => () => {
    const moving = String(-2 + ((k++ * 0.0173) % 4));
    const q = new URLSearchParams({
      face: "seed:7",
      method,
      ...(g === "first" ? { age: moving, smile: "1" } : {}),
      ...(g === "last" ? { age: "-1", smile: moving } : {}),
      ...(g === "one" ? { smile: moving } : {}),
    });
    session.frame(session.parse(q));
  };
  session.frame(session.parse(new URLSearchParams({ face: "seed:7" })));
  const cases = names.flatMap((m) => (["first", "last", "one"] as const).map((g) => ({ m, g })));
  const mm = tfjsMatmul();
  const t = await interleaved(
    cases.map((c) => ({ figure: frame(c.m, c.g), yardstick: mm.run, reps: 3 })),
    { warmup: 1, minRounds: 3, budgetMs: quick ? 2000 : 15000 },
  );
  mm.dispose();
  session.dispose();
  const rows: BenchRow[] = [];
  cases.forEach(({ m, g }, i) => {
    const f = t[i].figure;
    const name = `${m.replace(/-/g, "_")}${g === "first" ? "" : `_${g}`}`;
    rows.push({
      key: `explorer_frame_ms_${name}`,
      value: f.minMs,
      unit: "ms",
      note: `${LABEL[g]}: edit + 256 px render + PNG + scores; median ${
        f.medianMs.toFixed(0)
      } ms of ${f.runs}; target < 150 ms`,
    });
    rows.push({
      key: `explorer_frame_${name}_over_matmul`,
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
