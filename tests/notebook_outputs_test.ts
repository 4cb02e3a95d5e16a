/**
 * Every figure a committed notebook shows carries `image/png`: a freshly cloned notebook is not
 * trusted, so Jupyter skips its `image/svg+xml` and sanitizes its `text/html` (stripping the SVG
 * inside), and static viewers that sanitize do the same; a PNG is shown everywhere. An output
 * carries an image when it has `image/svg+xml`, or `text/html` holding `<svg` or `<img`.
 *
 * Also, every committed notebook's cell ids agree with its nbformat version (Jupyter validates it).
 *
 * Also a script: `deno run -A tests/notebook_outputs_test.ts NB.ipynb...` checks the given files.
 */

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
}

interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  cells: { cell_type: string; id?: string; outputs?: Output[] }[];
}

/**
 * What is wrong with a notebook's format as nbformat validates it for cell ids: from 4.5 on every
 * cell needs a unique id, before 4.5 none may have one (Jupyter then refuses the file as invalid).
 */
export function formatProblems(path: string): string[] {
  const nb = JSON.parse(Deno.readTextFileSync(path)) as Notebook;
  const ids = nb.cells.map((c) => c.id);
  const withIds = nb.nbformat > 4 || (nb.nbformat === 4 && nb.nbformat_minor >= 5);
  const problems: string[] = [];
  if (withIds) {
    ids.forEach((id, i) => {
      if (!id) problems.push(`cell ${i} has no id (nbformat ${nb.nbformat}.${nb.nbformat_minor})`);
    });
    const dup = ids.filter((id, i) => id && ids.indexOf(id) !== i);
    if (dup.length) problems.push(`duplicate cell ids: ${[...new Set(dup)].join(", ")}`);
  } else if (ids.some((id) => id !== undefined)) {
    problems.push(`cells carry ids but the file says nbformat ${nb.nbformat}.${nb.nbformat_minor}`);
  }
  return problems;
}

function text(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join("") : v ?? "";
}

/** Whether an output's bundle shows an image (SVG, or HTML with an SVG or an <img>). */
export function carriesImage(data: Record<string, string | string[]>): boolean {
  if ("image/svg+xml" in data) return true;
  const html = text(data["text/html"]);
  return /<svg[\s>]/i.test(html) || /<img[\s>]/i.test(html);
}

/**
 * The figure outputs of a notebook file that lack `image/png`, each as "cell N, output K: types".
 * Empty when every figure carries a PNG.
 */
export function figuresWithoutPng(path: string): string[] {
  const nb = JSON.parse(Deno.readTextFileSync(path)) as Notebook;
  const bad: string[] = [];
  nb.cells.forEach((cell, c) =>
    (cell.outputs ?? []).forEach((o, k) => {
      if (o.data && carriesImage(o.data) && !("image/png" in o.data)) {
        bad.push(`cell ${c}, output ${k}: ${Object.keys(o.data).join(", ")}`);
      }
    })
  );
  return bad;
}

/** How many outputs of a notebook file carry an image, and how many of those a PNG. */
export function figureCounts(path: string): { figures: number; withPng: number } {
  const nb = JSON.parse(Deno.readTextFileSync(path)) as Notebook;
  let figures = 0, withPng = 0;
  for (const cell of nb.cells) {
    for (const o of cell.outputs ?? []) {
      if (!o.data) continue;
      if (carriesImage(o.data) || "image/png" in o.data) figures++;
      if ("image/png" in o.data) withPng++;
    }
  }
  return { figures, withPng };
}

const root = new URL("../notebooks/", import.meta.url);

if (import.meta.main) {
  let failed = 0;
  for (const path of Deno.args) {
    const bad = figuresWithoutPng(path);
    const { figures, withPng } = figureCounts(path);
    console.log(`${path}: ${figures} figures, ${withPng} with image/png, ${bad.length} without`);
    for (const b of bad) console.log(`  ${b}`);
    if (bad.length) failed++;
  }
  Deno.exit(failed ? 1 : 0);
} else {
  const notebooks = [...Deno.readDirSync(root)].map((e) => e.name).filter((n) =>
    n.endsWith(".ipynb")
  ).sort();

  Deno.test("the checker finds SVG and HTML figures without a PNG, and passes those with one", () => {
    const dir = Deno.makeTempDirSync();
    const nb = (outputs: Output[]) => JSON.stringify({ cells: [{ cell_type: "code", outputs }] });
    const svg = "<svg xmlns='http://www.w3.org/2000/svg'></svg>";
    Deno.writeTextFileSync(
      `${dir}/bad.ipynb`,
      nb([
        { output_type: "display_data", data: { "image/svg+xml": svg, "text/plain": "f" } },
        { output_type: "display_data", data: { "text/html": ["<b>t</b>", svg] } },
        { output_type: "display_data", data: { "text/html": "<img src='x.png'>" } },
        { output_type: "display_data", data: { "text/html": "<table></table>" } },
        { output_type: "stream" },
      ]),
    );
    Deno.writeTextFileSync(
      `${dir}/good.ipynb`,
      nb([
        { output_type: "display_data", data: { "image/svg+xml": svg, "image/png": "iVBOR" } },
        { output_type: "display_data", data: { "image/png": "iVBOR", "text/plain": "grid" } },
        { output_type: "display_data", data: { "text/html": "<table></table>" } },
      ]),
    );
    const bad = figuresWithoutPng(`${dir}/bad.ipynb`);
    if (bad.length !== 3 || !bad[0].startsWith("cell 0, output 0")) {
      throw new Error(`expected outputs 0-2 flagged, got ${JSON.stringify(bad)}`);
    }
    const good = figuresWithoutPng(`${dir}/good.ipynb`);
    if (good.length !== 0) throw new Error(`expected none flagged, got ${JSON.stringify(good)}`);
    Deno.removeSync(dir, { recursive: true });
  });

  for (const name of notebooks) {
    Deno.test(`notebook ${name}: its cells' ids agree with its nbformat version`, () => {
      const problems = formatProblems(new URL(name, root).pathname);
      if (problems.length) throw new Error(`${name}: ${problems.join("; ")}`);
    });
    Deno.test(`notebook ${name}: every figure output carries image/png`, () => {
      const bad = figuresWithoutPng(new URL(name, root).pathname);
      if (bad.length) {
        throw new Error(
          `${bad.length} figure outputs of ${name} lack image/png (rerun the notebook so that ` +
            `show() saves PNGs):\n  ${bad.join("\n  ")}`,
        );
      }
    });
  }
}
