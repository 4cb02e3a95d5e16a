/** Progress lines: rate and ETA of a resumed run, durations. */
import { assert, assertEquals } from "./_util.ts";
import { formatDuration, Progress } from "../lib/util/progress.ts";

const assertIncludes = (s: string, part: string) =>
  assert(s.includes(part), `"${s}" lacks "${part}"`);

Deno.test("Progress: a resumed bar leaves the earlier process's work out of its rate and ETA", () => {
  const resumed = new Progress("train", 1000, { unit: "steps", silent: true });
  resumed.resume(400, "resumed at step 400");
  const line = resumed.line();
  assertIncludes(line, "400/1000 40%");
  // nothing done in this process yet: no rate, so no ETA (set() would claim ~400 / 1e-6 s)
  assertIncludes(line, "0.0 steps/s");
  assertIncludes(line, "eta ?");
  assertIncludes(line, "resumed at step 400");
  const set = new Progress("train", 1000, { unit: "steps", silent: true });
  set.set(400);
  assert(!set.line().includes("0.0 steps/s"));
});

Deno.test("formatDuration: seconds, minutes, hours", () => {
  assertEquals(formatDuration(42.4), "42s");
  assertEquals(formatDuration(125), "2m05s");
  assertEquals(formatDuration(3 * 3600 + 29 * 60), "3h29m");
  assertEquals(formatDuration(Infinity), "?");
});
