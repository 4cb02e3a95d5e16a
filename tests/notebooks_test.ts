/**
 * Every notebook runs headlessly through the real Deno kernel (Debian's nbconvert) in quick mode
 * (IDSTYLE_QUICK=1), and fails on any cell error, or on a code cell that displayed nothing unless
 * it is tagged "silent". Without Jupyter the test says how to install it and is ignored; under CI
 * (CI set) it must run.
 */
import { assert } from "./_util.ts";

const root = new URL("../", import.meta.url).pathname;
const notebooks = [...Deno.readDirSync(`${root}notebooks`)].map((e) => e.name).filter((n) =>
  /^\d\d_.*\.ipynb$/.test(n)
).sort();

async function available(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

const hasJupyter = await available("jupyter-nbconvert", ["--version"]);
const INSTALL =
  "Jupyter is missing: sudo apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel (then deno jupyter --install)";
if (!hasJupyter && !Deno.env.get("CI")) console.error(`notebook tests ignored. ${INSTALL}`);

interface Cell {
  cell_type: string;
  source: string[] | string;
  metadata?: { tags?: string[] };
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
}

/** Installs the Deno kernelspec, then runs `path` through nbconvert into a temporary directory. */
async function execute(path: string): Promise<{ cells: Cell[]; ok: boolean; log: string }> {
  if (!hasJupyter) throw new Error(INSTALL);
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--install", "--force"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert(
    install.success,
    `deno jupyter --install failed: ${new TextDecoder().decode(install.stderr)}`,
  );
  const out = await Deno.makeTempDir();
  const run = await new Deno.Command("jupyter-nbconvert", {
    args: [
      "--to",
      "notebook",
      "--execute",
      path,
      "--output-dir",
      out,
      "--ExecutePreprocessor.timeout=1200",
      "--ExecutePreprocessor.kernel_name=deno",
    ],
    env: { IDSTYLE_QUICK: "1", IDSTYLE_QUIET: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(run.stderr);
  const produced = `${out}/${path.split("/").pop()}`;
  try {
    const cells: Cell[] = JSON.parse(await Deno.readTextFile(produced)).cells;
    return { cells, ok: run.success, log };
  } catch {
    throw new Error(`${path}: nbconvert produced no notebook:\n${log.slice(-3000)}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

for (const nb of notebooks) {
  Deno.test({
    name: `notebook ${nb} runs headlessly in quick mode, every cell displays and none fails`,
    ignore: !hasJupyter && !Deno.env.get("CI"),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { cells, ok, log } = await execute(`${root}notebooks/${nb}`);
      const problems: string[] = [];
      cells.forEach((c, i) => {
        if (c.cell_type !== "code") return;
        const src = Array.isArray(c.source) ? c.source.join("") : c.source;
        const head = src.split("\n")[0].slice(0, 60);
        for (const o of c.outputs ?? []) {
          if (o.output_type === "error") {
            problems.push(`cell ${i} (${head}): ${o.ename}: ${o.evalue}`);
          }
        }
        const silent = c.metadata?.tags?.includes("silent");
        if (!silent && !(c.outputs ?? []).some((o) => o.output_type !== "error")) {
          problems.push(`cell ${i} (${head}) displayed nothing`);
        }
      });
      assert(
        ok && problems.length === 0,
        `${nb}:\n  ${problems.join("\n  ")}\n${ok ? "" : log.slice(-3000)}`,
      );
    },
  });
}

// Deno's kernel reports a cell idle without waiting for its outputs to be published (display.ts,
// `flush`); large outputs lost that race in up to 2 of 5 cells when a cell ended with only a
// setTimeout(0). Each of these cells displays 4 MB then a line, and ends with `flush`.
Deno.test({
  name: "flush: every output of cells that display 4 MB reaches nbclient",
  ignore: !hasJupyter && !Deno.env.get("CI"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const CELLS = 8;
    const dir = await Deno.makeTempDir({ dir: root, prefix: ".flush.tmp-" });
    const code = (i: number) =>
      [
        `import { displayOutput, flush } from "../lib/viz/display.ts";`,
        `await displayOutput({ data: { "image/png": "A".repeat(4e6), "text/plain": "big ${i}" }, metadata: {} });`,
        `await displayOutput({ data: { "text/plain": "line ${i}" }, metadata: {} });`,
        `await flush();`,
      ].join("\n");
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
      cells: Array.from({ length: CELLS }, (_, i) => ({
        id: `flush-${i}`,
        cell_type: "code",
        source: code(i),
        metadata: {},
        outputs: [],
        execution_count: null,
      })),
    };
    try {
      await Deno.writeTextFile(`${dir}/flush.ipynb`, JSON.stringify(notebook));
      const { cells, ok, log } = await execute(`${dir}/flush.ipynb`);
      assert(ok, log.slice(-3000));
      const got = cells.map((c) =>
        (c.outputs ?? []).map((o) => (o as { data?: Record<string, string> }).data?.["text/plain"])
      );
      const lost = got.flatMap((texts, i) =>
        texts.join() === `big ${i},line ${i}` ? [] : [`cell ${i}: [${texts.join(", ")}]`]
      );
      assert(lost.length === 0, `outputs lost:\n  ${lost.join("\n  ")}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
