/** Shared test helpers: numeric comparisons with useful messages, small fixtures. */
import { tf } from "../lib/backend.ts";

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg ? msg + ": " : ""}expected ${e}, got ${a}`);
}

/** |a - b| <= atol + rtol |b| element-wise. */
export function assertClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  atol = 1e-6,
  rtol = 0,
  msg = "",
): void {
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" ? [expected] : Array.from(expected);
  if (a.length !== e.length) throw new Error(`${msg}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) {
      throw new Error(
        `${msg ? msg + ": " : ""}at ${i}: got ${a[i]}, expected ${
          e[i]
        } (atol ${atol}, rtol ${rtol})`,
      );
    }
  }
}

/** Runs `fn` and checks it throws an error whose message contains every fragment. */
export function assertThrows(fn: () => unknown, ...fragments: string[]): Error {
  try {
    fn();
  } catch (err) {
    const m = (err as Error).message;
    for (const f of fragments) {
      if (!m.includes(f)) {
        throw new Error(`error message ${JSON.stringify(m)} lacks ${JSON.stringify(f)}`);
      }
    }
    return err as Error;
  }
  throw new Error(`expected an error mentioning ${fragments.join(", ")}`);
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  ...fragments: string[]
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    const m = (err as Error).message;
    for (const f of fragments) {
      if (!m.includes(f)) {
        throw new Error(`error message ${JSON.stringify(m)} lacks ${JSON.stringify(f)}`);
      }
    }
    return err as Error;
  }
  throw new Error(`expected a rejection mentioning ${fragments.join(", ")}`);
}

export function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Debian's python3 with numpy (an independent reference), or null when absent. */
export async function numpyPython(): Promise<string | null> {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      const out = await new Deno.Command(py, {
        args: ["-c", "import numpy"],
        stderr: "null",
        stdout: "null",
      }).output();
      if (out.success) return py;
    } catch { /* not there */ }
  }
  return null;
}

export async function runPython(py: string, code: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command(py, { args: ["-c", code, ...args] }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`python failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** Runs `lib/cli/<script>` in a fresh Deno process (quiet); its exit code and what it printed. */
export async function runCli(
  script: string,
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../lib/cli/${script}`, import.meta.url).pathname, ...args],
    env: { IDSTYLE_QUIET: "1" },
    cwd: opts.cwd,
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, out: text(o.stdout), err: text(o.stderr) };
}

export { tf };

/**
 * max |actual - ref| within 1e-3 of the reference's largest absolute value (the bar for matching
 * the upstream PyTorch outputs); returns the ratio.
 */
export function assertMatchesReference(
  actual: ArrayLike<number>,
  ref: ArrayLike<number>,
  what: string,
): number {
  assertEquals(actual.length, ref.length, `${what}: length`);
  let d = 0, m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(actual[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  assert(m > 0 && d <= 1e-3 * m, `${what}: max |diff| ${d} vs 1e-3 x ${m}`);
  return d / m;
}
