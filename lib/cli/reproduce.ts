/**
 * `deno task reproduce [--quick] [--from STEP] [--only STEP,...] [--dry-run]`: the whole chain, in
 * order (lib/reproduce/steps.ts): evaluators, data, both ID-Style editors, the baselines, Tables 1
 * and 2, and the notebooks' full runs. It prints the plan first (each step, whether its inputs
 * changed since its outputs were made, its estimated time here), skips what is up to date, resumes
 * what was interrupted (every step's command is resumable), and ends with the time each step took.
 *
 * --quick runs the same chain at smoke size (a few minutes) under out/reproduce-quick/ (or
 * IDSTYLE_ARTIFACTS), leaving the shipped files alone; the notebooks run in quick mode there.
 */
import { parseArgs } from "./args.ts";
import { ARTIFACTS_ROOT, REPO_ROOT } from "../paths.ts";
import { type Step, stepById, type StepContext, STEPS } from "../reproduce/steps.ts";
import { makePlan, type PlannedStep, readState, writeState } from "../reproduce/plan.ts";
import { formatDuration } from "../util/progress.ts";

const args = parseArgs(Deno.args, {
  usage: "deno task reproduce [--quick] [--from STEP] [--only STEP,...] [--dry-run]",
  flags: {
    quick: "the same chain at smoke size, under out/reproduce-quick/ (shipped files untouched)",
    "dry-run": "print the plan and stop",
    help: "this text",
  },
  options: {
    from: `remake this step and every later one (${STEPS.map((s) => s.id).join(", ")})`,
    only: "remake just these steps (comma-separated)",
  },
});
for (const id of [args.options.from, ...(args.options.only?.split(",") ?? [])]) {
  if (id === undefined) continue;
  try {
    stepById(id.trim());
  } catch (err) {
    args.fail(`--${args.options.from === id ? "from" : "only"}: ${(err as Error).message}`);
  }
}
if (args.options.from && args.options.only) args.fail("--from and --only: give one of them");

const quick = args.flags.quick;
// Quick mode works beside the shipped files unless the user chose a root.
const envRoot = Deno.env.get("IDSTYLE_ARTIFACTS");
const root = quick && !envRoot ? `${REPO_ROOT}out/reproduce-quick/` : ARTIFACTS_ROOT;
const ctx: StepContext = { quick, fresh: false, root };
const state = await readState(root);
const plan = makePlan(STEPS, state, ctx, {
  only: args.options.only?.split(",").map((s) => s.trim()),
  from: args.options.from,
});
printPlan(plan);
if (args.flags["dry-run"]) Deno.exit(0);

const took: { id: string; seconds: number; result: string }[] = [];
for (const p of plan) {
  if (!p.run) continue;
  const t0 = performance.now();
  console.log(`\n== ${p.step.id}: ${p.step.title} (${p.status})`);
  const resume = p.status === "interrupted";
  // The fingerprint of the inputs as they are now (an earlier step may have rewritten them).
  const { fingerprint } = makePlan([p.step], { steps: {} }, ctx)[0];
  state.steps[p.step.id] = { fingerprint, startedAt: new Date().toISOString() };
  await writeState(root, state);
  const code = await runStep(p.step, { ...ctx, fresh: !resume && p.status !== "missing" });
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) {
    took.push({ id: p.step.id, seconds, result: `failed (exit ${code})` });
    printTimes();
    console.error(
      `error: step ${p.step.id} failed (exit ${code}); fix it and run the same command again: it resumes there`,
    );
    Deno.exit(1);
  }
  state.steps[p.step.id] = {
    ...state.steps[p.step.id],
    finishedAt: new Date().toISOString(),
    seconds,
  };
  await writeState(root, state);
  took.push({ id: p.step.id, seconds, result: "done" });
}
printTimes();

function printPlan(plan: PlannedStep[]): void {
  const total = plan.filter((p) => p.run).reduce((a, p) => a + p.minutes, 0);
  console.log(`reproduce${quick ? " --quick" : ""}: artifacts under ${root}`);
  const w = Math.max(...plan.map((p) => p.step.id.length));
  for (const p of plan) {
    const est = p.run ? `~${formatDuration(p.minutes * 60)}` : "";
    console.log(
      `  ${p.run ? "run " : "skip"}  ${p.step.id.padEnd(w)}  ${p.status.padEnd(11)}  ${
        est.padEnd(9)
      }  ${p.step.title}`,
    );
  }
  console.log(
    `  ${plan.filter((p) => p.run).length} of ${plan.length} steps to run, about ${
      formatDuration(total * 60)
    } on a 2-core machine`,
  );
}

function printTimes(): void {
  if (!took.length) {
    console.log("\nnothing to run: every step is up to date");
    return;
  }
  console.log("\ntime per step:");
  for (const t of took) {
    console.log(`  ${t.id.padEnd(20)} ${formatDuration(t.seconds).padStart(9)}  ${t.result}`);
  }
  const all = took.reduce((a, t) => a + t.seconds, 0);
  console.log(`  ${"total".padEnd(20)} ${formatDuration(all).padStart(9)}`);
}

async function runStep(step: Step, c: StepContext): Promise<number> {
  const cmd = step.command(c);
  const env: Record<string, string> = { ...(cmd.env ?? {}), IDSTYLE_ARTIFACTS: c.root };
  if (cmd.kind === "deno") {
    const p = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO_ROOT}lib/cli/${cmd.target}`, ...cmd.args],
      cwd: REPO_ROOT,
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await p.status).code;
  }
  // A notebook: in place for the full chain, into the artifacts root's notebooks/ otherwise.
  const inPlace = c.root === REPO_ROOT;
  const outDir = `${c.root}notebooks`;
  if (!inPlace) await Deno.mkdir(outDir, { recursive: true });
  const nb = [
    "--to",
    "notebook",
    "--execute",
    cmd.target.split("/").pop()!,
    "--ExecutePreprocessor.timeout=7200",
    ...(inPlace ? ["--inplace"] : ["--output-dir", outDir]),
  ];
  try {
    const p = new Deno.Command("jupyter-nbconvert", {
      args: nb,
      cwd: `${REPO_ROOT}notebooks`,
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await p.status).code;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      console.error(
        "jupyter-nbconvert is not installed: apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel, then deno task jupyter --install",
      );
      return 127;
    }
    throw err;
  }
}
