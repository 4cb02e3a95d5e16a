/**
 * A small command-line parser for the project's tasks: `--flag`, `--option value` or
 * `--option=value`, and positional arguments; unknown options and missing values end the
 * program with a one-line error and exit code 2; `--help` prints the usage.
 */

export interface ArgSpec<F extends string, O extends string> {
  usage: string;
  flags: Record<F, string>;
  options: Record<O, string>;
}

export interface ParsedArgs<F extends string, O extends string> {
  flags: Record<F, boolean>;
  options: Partial<Record<O, string>>;
  positional: string[];
  /** Prints `error: msg` and exits with status 2. */
  fail(msg: string): never;
}

export function parseArgs<F extends string, O extends string>(
  argv: string[],
  spec: ArgSpec<F, O>,
): ParsedArgs<F, O> {
  const fail = (msg: string): never => {
    console.error(`error: ${msg}\nusage: ${spec.usage}`);
    Deno.exit(2);
  };
  const flags = Object.fromEntries(Object.keys(spec.flags).map((k) => [k, false])) as Record<
    F,
    boolean
  >;
  const options: Partial<Record<O, string>> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (name in spec.flags) {
      flags[name as F] = true;
    } else if (name in spec.options) {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith("--")) {
        fail(`--${name} needs a value (${spec.options[name as O]})`);
      }
      options[name as O] = v;
    } else {
      fail(`unknown option --${name}`);
    }
  }
  if ((flags as Record<string, boolean>).help) {
    console.log(`usage: ${spec.usage}\n`);
    for (const [k, d] of Object.entries({ ...spec.flags, ...spec.options })) {
      console.log(`  --${k.padEnd(14)} ${d}`);
    }
    Deno.exit(0);
  }
  return { flags, options, positional, fail };
}
