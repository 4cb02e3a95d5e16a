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

for (const nb of notebooks) {
  Deno.test({
    name: `notebook ${nb} runs headlessly in quick mode, every cell displays and none fails`,
    ignore: !hasJupyter && !Deno.env.get("CI"),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
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
          `${root}notebooks/${nb}`,
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
      const produced = `${out}/${nb}`;
      let cells: Cell[] = [];
      try {
        cells = JSON.parse(await Deno.readTextFile(produced)).cells;
      } catch {
        throw new Error(`${nb}: nbconvert produced no notebook:\n${log.slice(-3000)}`);
      }
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
        run.success && problems.length === 0,
        `${nb}:\n  ${problems.join("\n  ")}\n${run.success ? "" : log.slice(-3000)}`,
      );
    },
  });
}
