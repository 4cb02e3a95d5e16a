/**
 * `deno task reproduce`: the plan's judgement of each step (lib/reproduce/plan.ts) on made-up steps
 * in a temporary root, and the quick chain end to end (every step but the notebooks, which the
 * notebook tests run in quick mode): outputs written under IDSTYLE_ARTIFACTS, nothing shipped
 * touched, a second run skips everything, and a changed input marks the steps that read it.
 */
import { assert, assertEquals } from "./_util.ts";
import { makePlan, type ReproduceState } from "../lib/reproduce/plan.ts";
import { type Step, type StepContext, STEPS } from "../lib/reproduce/steps.ts";
import { sha256File } from "../lib/io/hash.ts";

const fake = (id: string, inputs: string[], outputs: string[]): Step => ({
  id,
  title: id,
  code: [],
  inputs,
  outputs,
  command: () => ({ kind: "deno", target: "none.ts", args: [] }),
  minutes: { full: 1, quick: 1 },
});

Deno.test("reproduce plan: shipped, missing, up to date, changed, interrupted, upstream, forced", () => {
  const root = Deno.makeTempDirSync() + "/";
  const ctx: StepContext = { quick: false, fresh: false, root };
  const a = fake("a", [], ["a.bin"]);
  const b = fake("b", ["a.bin"], ["b.bin"]);
  const c = fake("c", ["b.bin"], ["c.bin"]);
  const steps = [a, b, c];
  const status = (state: ReproduceState, opts = {}) =>
    makePlan(steps, state, ctx, opts).map((p) =>
      `${p.step.id}:${p.status}:${p.run ? "run" : "skip"}`
    );
  // nothing there: every step missing
  assertEquals(status({ steps: {} }), ["a:missing:run", "b:missing:run", "c:missing:run"]);
  for (const f of ["a.bin", "b.bin", "c.bin"]) Deno.writeTextFileSync(root + f, f);
  // outputs present, no record: shipped, kept
  assertEquals(status({ steps: {} }), ["a:shipped:skip", "b:shipped:skip", "c:shipped:skip"]);
  // records from the same inputs: up to date
  const fp = Object.fromEntries(
    makePlan(steps, { steps: {} }, ctx).map((p) => [p.step.id, p.fingerprint]),
  );
  const done = (id: string) => ({
    fingerprint: fp[id],
    startedAt: "t",
    finishedAt: "t",
    seconds: 1,
  });
  const state: ReproduceState = { steps: { a: done("a"), b: done("b"), c: done("c") } };
  assertEquals(status(state), ["a:up to date:skip", "b:up to date:skip", "c:up to date:skip"]);
  // b's input changes: b is changed and runs; c reads b's output, so it runs after it (upstream)
  Deno.writeTextFileSync(root + "a.bin", "a, edited");
  assertEquals(status(state), ["a:up to date:skip", "b:changed:run", "c:upstream:run"]);
  Deno.writeTextFileSync(root + "a.bin", "a.bin");
  // an interrupted run resumes
  const interrupted: ReproduceState = {
    steps: { ...state.steps, b: { fingerprint: fp.b, startedAt: "t" } },
  };
  assertEquals(status(interrupted), ["a:up to date:skip", "b:interrupted:run", "c:upstream:run"]);
  // --only and --from force what they name, whatever their state, and run nothing else
  assertEquals(status(state, { only: ["a"] }), [
    "a:forced:run",
    "b:upstream:skip",
    "c:up to date:skip",
  ]);
  assertEquals(status(state, { from: "b" }), ["a:up to date:skip", "b:forced:run", "c:forced:run"]);
  // a missing output is missing even with a record
  Deno.removeSync(root + "c.bin");
  assertEquals(status(state), ["a:up to date:skip", "b:up to date:skip", "c:missing:run"]);
});

const repo = new URL("../", import.meta.url).pathname;

async function reproduce(root: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${repo}lib/cli/reproduce.ts`, "--quick", ...args],
    env: { IDSTYLE_ARTIFACTS: root, IDSTYLE_QUIET: "1" },
    cwd: repo,
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const CHAIN = "evaluators,data,idstyle-official,idstyle-paper,baselines,tables";

Deno.test({
  name:
    "reproduce --quick: the chain under IDSTYLE_ARTIFACTS, then nothing to do, then a changed input",
  sanitizeResources: false,
  fn: async () => {
    const shipped = `${repo}checkpoints/idstyle-synthface-official.safetensors`;
    const before = await sha256File(shipped);
    const root = Deno.makeTempDirSync() + "/";
    const first = await reproduce(root, ["--only", CHAIN]);
    assertEquals(first.code, 0, first.stdout.slice(-3000) + first.stderr.slice(-3000));
    for (
      const f of [
        "checkpoints/synthface/identity.safetensors",
        "data/synthface/test_w.npy",
        "checkpoints/idstyle-synthface-official.safetensors",
        "checkpoints/idstyle-synthface-paper.md",
        "checkpoints/baselines/styleflow.safetensors",
        "data/tables/table1.csv",
        "out/reproduce/state.json",
      ]
    ) {
      assert((await Deno.stat(root + f)).size > 0, `${f} written`);
    }
    assert(first.stdout.includes("time per step:"), first.stdout.slice(-2000));
    const table = await Deno.readTextFile(`${root}data/tables/table1.csv`);
    assert(table.includes("StyleFlow") && table.includes("ID-Style (paper)"), table.slice(0, 400));
    assertEquals(await sha256File(shipped), before, "the shipped editor is untouched");
    const second = await reproduce(root, ["--dry-run"]);
    assertEquals(second.code, 0, second.stderr);
    assert(second.stdout.includes(`0 of ${STEPS.length} steps to run`), second.stdout);
    // a new dataset file: everything that reads it is changed, the evaluators are not
    const f = `${root}data/synthface/test_w.npy`;
    const bytes = await Deno.readFile(f);
    bytes[bytes.length - 1] ^= 1;
    await Deno.writeFile(f, bytes);
    const third = await reproduce(root, ["--dry-run"]);
    const line = (id: string) => third.stdout.split("\n").find((l) => l.includes(` ${id} `)) ?? "";
    assert(line("evaluators").includes("up to date"), third.stdout);
    assert(
      line("idstyle-official").includes("changed") && line("idstyle-official").includes("run"),
      third.stdout,
    );
    assert(line("tables").includes("run"), third.stdout);
    const bad = await reproduce(root, ["--from", "nowhere"]);
    assert(bad.code !== 0 && bad.stderr.includes('unknown step "nowhere"'), bad.stderr);
  },
});
