/**
 * What `deno task reproduce` will do: for each step, the fingerprint of its inputs (the content of
 * its code and of the artifacts it reads, and its command), compared with the fingerprint recorded
 * when reproduce last made its outputs (out/reproduce/state.json under the artifacts root).
 *
 *   up to date     outputs present, made by reproduce from the same inputs: skipped
 *   shipped        outputs present, not made by reproduce (as in a fresh clone): kept
 *   changed        outputs made from other inputs: run
 *   missing        an output is absent: run
 *   interrupted    a run started and did not finish: run (the step's command resumes)
 *   upstream       an earlier step of this invocation writes one of its inputs: run
 *   forced         named by --only / at or after --from: run
 */
import { createHash } from "node:crypto";
import { REPO_ROOT } from "../paths.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { Step, StepContext } from "./steps.ts";

export type StepStatus =
  | "up to date"
  | "shipped"
  | "changed"
  | "missing"
  | "interrupted"
  | "upstream"
  | "forced";

export interface StepRecord {
  fingerprint: string;
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
}

export interface ReproduceState {
  steps: Record<string, StepRecord>;
}

export interface PlannedStep {
  step: Step;
  status: StepStatus;
  run: boolean;
  fingerprint: string;
  minutes: number;
  /** What changed, when it can be said (the first differing input). */
  why?: string;
}

export function statePath(root: string): string {
  return `${root}out/reproduce/state.json`;
}

export async function readState(root: string): Promise<ReproduceState> {
  try {
    const s = JSON.parse(await Deno.readTextFile(statePath(root)));
    return { steps: s.steps ?? {} };
  } catch {
    return { steps: {} };
  }
}

export async function writeState(root: string, state: ReproduceState): Promise<void> {
  await Deno.mkdir(`${root}out/reproduce`, { recursive: true });
  await writeFileAtomic(statePath(root), JSON.stringify(state, null, 2) + "\n");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Files under a path (itself if a file), sorted; code directories count their .ts and .ipynb. */
function filesUnder(path: string, code: boolean): string[] {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch {
    return [];
  }
  if (st.isFile) return [path];
  const out: string[] = [];
  for (const e of Deno.readDirSync(path)) {
    const p = `${path.replace(/\/$/, "")}/${e.name}`;
    if (e.isDirectory) out.push(...filesUnder(p, code));
    else if (!code || /\.(ts|ipynb|json)$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** The fingerprint of a step's inputs: code, artifacts read, and its command. */
export function fingerprint(step: Step, ctx: StepContext): string {
  const h = createHash("sha256");
  const cmd = step.command({ ...ctx, fresh: false });
  h.update(JSON.stringify({ id: step.id, cmd: [cmd.kind, cmd.target, cmd.args, cmd.env ?? {}] }));
  for (const c of step.code) {
    for (const f of filesUnder(REPO_ROOT + c, true)) {
      h.update(f.slice(REPO_ROOT.length));
      h.update(Deno.readFileSync(f));
    }
  }
  for (const i of step.inputs) {
    for (const f of filesUnder(ctx.root + i, false)) {
      h.update(f.slice(ctx.root.length));
      h.update(Deno.readFileSync(f));
    }
  }
  return h.digest("hex").slice(0, 24);
}

export interface PlanOptions {
  /** Remake these steps (and only these). */
  only?: string[];
  /** Remake this step and every later one. */
  from?: string;
}

/**
 * The plan for `steps` now. Fingerprints of later steps are computed before earlier ones run, so a
 * step whose inputs an earlier step writes is marked "upstream" rather than judged on stale files.
 */
export function makePlan(
  steps: readonly Step[],
  state: ReproduceState,
  ctx: StepContext,
  opts: PlanOptions = {},
): PlannedStep[] {
  const fromIndex = opts.from ? steps.findIndex((s) => s.id === opts.from) : -1;
  const written = new Set<string>();
  const plan: PlannedStep[] = [];
  steps.forEach((step, i) => {
    const fp = fingerprint(step, ctx);
    const rec = state.steps[step.id];
    const missing = step.outputs.some((o) => !exists(ctx.root + o));
    // --only / --from choose what runs; otherwise the state of each step does.
    const selected = opts.only
      ? opts.only.includes(step.id)
      : fromIndex >= 0
      ? i >= fromIndex
      : null;
    let status: StepStatus;
    if (rec && !rec.finishedAt) status = "interrupted";
    else if (missing) status = "missing";
    else if (step.inputs.some((x) => written.has(x))) status = "upstream";
    else if (!rec) status = "shipped";
    else status = rec.fingerprint === fp ? "up to date" : "changed";
    if (selected && status !== "interrupted") status = "forced";
    const run = selected ?? ["interrupted", "missing", "upstream", "changed"].includes(status);
    if (run) step.outputs.forEach((o) => written.add(o));
    plan.push({
      step,
      status,
      run,
      fingerprint: fp,
      minutes: ctx.quick ? step.minutes.quick : step.minutes.full,
    });
  });
  return plan;
}
