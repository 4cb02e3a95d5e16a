/**
 * A real browser (GitHub issue 12): headless Chromium, driven by playwright-core, opens notebooks
 * in Jupyter Notebook 6.4 served from fresh (untrusted) copies, and checks
 *
 *   A. that an untrusted notebook's saved chart (lib/viz's `image/png` + `image/svg+xml`) is drawn
 *      as a PNG `<img>`, the unsafe SVG being skipped;
 *   B. that notebook 07's explorer, once its cells run in the Deno kernel, goes live, that
 *      moving one slider replaces the edited image (the slider-to-image latency is printed), and
 *      that the kernel then brings the cell's saved output up to that frame: the notebook saved
 *      afterwards holds the last image and the slider's setting, and the redrawn page is live.
 *
 * The copies live in a temporary directory at the repository's root (ignored by git, fmt and lint
 * through the `*.tmp-*` pattern), so that the notebooks' `../lib/mod.ts` and deno.json resolve as
 * they do from notebooks/. Jupyter's data, config and runtime directories are empty temporary
 * ones (no trust database: the notebooks are untrusted), with the Deno kernelspec on JUPYTER_PATH.
 * Without Chromium or Jupyter Notebook the test says how to install them and is ignored; under CI
 * (CI set) it must run.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { assert } from "./_util.ts";
import {
  assertCharts,
  available,
  chartCells,
  chartNotebook,
  chartsSeen,
  CI,
  EXPLORE,
  explorerLive,
  findChromium,
  freePort,
  holdsSetting,
  installKernelspec,
  JupyterServer,
  moveSlider,
  root,
  type SavedCell,
  savedFrameMatches,
  waitFor,
} from "./_browser.ts";

const chromiumPath = findChromium();
const hasNotebook = await available("jupyter-notebook", ["--version"]);
const kernelDataDir = chromiumPath && hasNotebook ? await installKernelspec() : null;
const INSTALL =
  "Chromium or Jupyter Notebook is missing: sudo apt-get install chromium jupyter-notebook (then deno jupyter --install)";
const ready = !!(chromiumPath && hasNotebook && kernelDataDir);
if (!ready && !CI) console.error(`browser test ignored. ${INSTALL}`);

/** What the page's `Jupyter` global offers (Notebook 6.4), as far as the test uses it. */
interface JupyterGlobal {
  notebook?: {
    _fully_loaded?: boolean;
    trusted?: boolean;
    kernel?: { is_connected(): boolean } | null;
    execute_cells(indices: number[]): void;
    set_autosave_interval(ms: number): void;
    get_cell(i: number): {
      output_area: {
        element: ArrayLike<HTMLElement>;
        outputs: { output_type: string; data?: Record<string, string> }[];
      };
    } | null;
    save_notebook(): Promise<unknown>;
  };
}

/** Opens a notebook and waits until Notebook 6.4 has loaded it (autosave off). */
async function openNotebook(page: Page, server: JupyterServer, name: string) {
  await page.goto(`${server.url}/notebooks/${name}?token=${server.token}`, { timeout: 120_000 });
  await page.waitForFunction(
    () => {
      const J = (globalThis as unknown as { Jupyter?: JupyterGlobal }).Jupyter;
      return !!J?.notebook?._fully_loaded;
    },
    undefined,
    { timeout: 120_000 },
  );
  await page.evaluate(() => {
    const J = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter;
    J.notebook!.set_autosave_interval(0);
  });
}

/** Marks the output areas of `cells` (data-test-cell) and returns a selector for each. */
async function markOutputs(page: Page, cells: number[]): Promise<string[]> {
  await page.evaluate((cells: number[]) => {
    const J = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter;
    for (const i of cells) {
      J.notebook!.get_cell(i)!.output_area.element[0].dataset.testCell = `${i}`;
    }
  }, cells);
  return cells.map((i) => `[data-test-cell="${i}"]`);
}

Deno.test({
  name:
    "Chromium in Jupyter Notebook: an untrusted notebook draws its charts, and notebook 07's explorer redraws on a slider",
  ignore: !ready && !CI,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (!ready) throw new Error(INSTALL);
    const t0 = performance.now();
    const lap = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const work = await Deno.makeTempDir({ dir: root, prefix: ".browser.tmp-" });
    const jupyterHome = await Deno.makeTempDir({ prefix: "idstyle-browser-jupyter-" });
    let server: JupyterServer | null = null;
    let browser: Browser | null = null;
    try {
      await Deno.copyFile(`${root}notebooks/${EXPLORE}`, `${work}/${EXPLORE}`);
      await Deno.writeTextFile(`${work}/chart.ipynb`, chartNotebook());
      for (const d of ["data", "config", "runtime"]) await Deno.mkdir(`${jupyterHome}/${d}`);

      const port = freePort();
      const token = crypto.randomUUID().replaceAll("-", "");
      const inherited = Deno.env.get("JUPYTER_PATH");
      server = new JupyterServer(
        "jupyter-notebook",
        [
          "--no-browser",
          "--ip=127.0.0.1",
          `--port=${port}`,
          "--port-retries=0",
          `--NotebookApp.token=${token}`,
          `--notebook-dir=${work}`,
          ...(Deno.uid() === 0 ? ["--allow-root"] : []),
        ],
        {
          JUPYTER_DATA_DIR: `${jupyterHome}/data`,
          JUPYTER_CONFIG_DIR: `${jupyterHome}/config`,
          JUPYTER_RUNTIME_DIR: `${jupyterHome}/runtime`,
          JUPYTER_PATH: [kernelDataDir, inherited].filter(Boolean).join(":"),
          IDSTYLE_QUICK: "1",
          IDSTYLE_QUIET: "1",
        },
        `http://127.0.0.1:${port}`,
        token,
      );
      await server.ready();
      console.log(`jupyter-notebook answers after ${lap()}`);

      browser = await chromium.launch({
        executablePath: chromiumPath!,
        headless: true,
        args: ["--no-sandbox", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      const consoleLines: string[] = [];
      const pageErrors: string[] = [];
      page.on("console", (m) => consoleLines.push(m.text()));
      page.on("pageerror", (e) => pageErrors.push(e.message));
      console.log(`Chromium ${browser.version()} up after ${lap()}`);

      // A: an untrusted notebook's saved chart is drawn (the PNG; the unsafe SVG is skipped).
      await openNotebook(page, server, "chart.ipynb");
      const trustedA = await page.evaluate(() =>
        (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook!.trusted
      );
      assert(trustedA === false, `chart.ipynb should open untrusted, trusted=${trustedA}`);
      const seenA = await chartsSeen(page, [0], await markOutputs(page, [0]));
      assertCharts("chart.ipynb", seenA);
      assert(
        consoleLines.some((l) => l.includes("Ignoring untrusted image/svg+xml")),
        `Notebook did not report skipping the untrusted SVG; console:\n${consoleLines.join("\n")}`,
      );
      console.log(`A: untrusted chart drawn ${JSON.stringify(seenA)} (${lap()})`);

      // Notebook 07 as saved: untrusted, its charts drawn, its explorer inert (script stripped).
      await openNotebook(page, server, EXPLORE);
      const saved = JSON.parse(await Deno.readTextFile(`${work}/${EXPLORE}`)).cells as SavedCell[];
      const charts07 = chartCells(saved);
      const seen07 = await chartsSeen(page, charts07, await markOutputs(page, charts07));
      assertCharts(EXPLORE, seen07);
      const before = await page.evaluate(() => {
        const J = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter;
        const roots = [...document.querySelectorAll<HTMLElement>("div.idstyle-explorer")];
        return { trusted: J.notebook!.trusted, live: roots.map((r) => r.dataset.live ?? null) };
      });
      assert(before.trusted === false, `${EXPLORE} should open untrusted`);
      assert(
        before.live.every((l) => l === null),
        `a saved explorer's script ran in the untrusted notebook: ${JSON.stringify(before)}`,
      );
      console.log(
        `07 as saved: untrusted, ${charts07.length} saved chart(s) drawn, ${before.live.length} inert explorer(s) (${lap()})`,
      );

      // B: run cells 1 (world, dataset) and 2 (showExplorer) in the Deno kernel.
      await page.waitForFunction(
        () => {
          const k = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook?.kernel;
          return !!k && k.is_connected();
        },
        undefined,
        { timeout: 180_000 },
      );
      console.log(`kernel connected after ${lap()}`);
      const tRun = performance.now();
      await page.evaluate(() =>
        (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook!.execute_cells([
          1,
          2,
        ])
      );
      await explorerLive(page, 900_000).catch(async (err) => {
        const errs = await page.evaluate(() =>
          [...document.querySelectorAll(".output_error, .output_stderr")].map((e) => e.textContent)
            .join("\n")
        );
        throw new Error(
          `the explorer never went live: ${(err as Error).message}\ncell errors: ${errs}\n` +
            `page errors: ${pageErrors.join("\n")}\nserver log: ${server!.log.slice(-3000)}`,
        );
      });
      const runS = (performance.now() - tRun) / 1000;
      console.log(`B: explorer live ${runS.toFixed(1)} s after running cells 1-2 (${lap()})`);

      // Move the smile slider to 2 and time the swap of the edited image in the page.
      const moved = await moveSlider(page, "smile", 2);
      console.log(
        `B: slider smile -> 2, edited image replaced ${
          moved.ms.toFixed(0)
        } ms after the input event ` +
          `(frames ${moved.frames}; status "${moved.status}") (${lap()})`,
      );

      // The kernel replaces the cell's output with the last frame once the controls rest
      // (lib/explore/show.ts SAVE_LAST_FRAME_MS); saved then, the notebook holds that frame.
      const explorerPng = () =>
        page.evaluate(() => {
          const J = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter;
          const outs = J.notebook!.get_cell(2)!.output_area.outputs;
          const o = outs.find((x) => x.data?.["text/html"]?.includes("idstyle-explorer"));
          return { png: o?.data?.["image/png"] ?? "", html: o?.data?.["text/html"] ?? "" };
        });
      const first = await explorerPng();
      assert(first.png.length > 1000, "the explorer's output carries a PNG");
      await waitFor("the saved output to follow the slider", 30_000, async () => {
        const now = await explorerPng();
        return holdsSetting(now.html, "smile", 2);
      });
      const updated = await explorerPng();
      assert(updated.png !== first.png, "the saved PNG is the new frame's");
      await explorerLive(page, 30_000);
      await page.evaluate(() =>
        (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook!.save_notebook()
      );
      await waitFor("the notebook on disk to hold the last frame", 30_000, async () => {
        const cells = JSON.parse(await Deno.readTextFile(`${work}/${EXPLORE}`))
          .cells as SavedCell[];
        return (cells[2].outputs ?? []).some((o) =>
          savedFrameMatches(o.data, updated.png, "smile", 2)
        );
      });
      console.log(
        `B: saved output follows the slider; notebook saved with the last frame (${lap()})`,
      );
      assert(pageErrors.length === 0, `page errors: ${pageErrors.join("\n")}`);
    } finally {
      await browser?.close().catch(() => {});
      await server?.stop();
      await Deno.remove(work, { recursive: true }).catch(() => {});
      await Deno.remove(jupyterHome, { recursive: true }).catch(() => {});
    }
  },
});
