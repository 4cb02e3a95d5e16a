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
import { mimeOutput } from "../lib/viz/display.ts";
import { Plot, plotSvg } from "../lib/viz/plot.ts";

const root = new URL("../", import.meta.url).pathname;
const EXPLORE = "07_explore.ipynb";
const CI = !!Deno.env.get("CI");

async function available(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

function findChromium(): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const name of ["chromium", "chromium-browser"]) {
    for (const d of ["/usr/bin", ...dirs]) {
      try {
        if (Deno.statSync(`${d}/${name}`).isFile) return `${d}/${name}`;
      } catch { /* not there */ }
    }
  }
  return null;
}

/** Installs the Deno kernelspec; returns the Jupyter data directory that holds kernels/deno. */
async function installKernelspec(): Promise<string | null> {
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["jupyter", "--install", "--force"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) return null;
    const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    const m = said.match(/installed successfully at (\S+?)\.?\s*$/m);
    const home = Deno.env.get("HOME") ?? "";
    const spec = m?.[1] ??
      `${Deno.env.get("JUPYTER_DATA_DIR") ?? `${home}/.local/share/jupyter`}/kernels/deno`;
    Deno.statSync(`${spec}/kernel.json`);
    return spec.replace(/\/kernels\/deno\/?$/, "");
  } catch {
    return null;
  }
}

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

interface SavedCell {
  cell_type: string;
  outputs?: { output_type: string; data?: Record<string, unknown> }[];
}

/** Indices of the cells whose saved outputs hold a chart as image/png + image/svg+xml. */
function chartCells(cells: SavedCell[]): number[] {
  return cells.flatMap((c, i) =>
    (c.outputs ?? []).some((o) => o.data?.["image/png"] && o.data?.["image/svg+xml"]) ? [i] : []
  );
}

/** A one-cell notebook whose saved output is a small chart made by lib/viz. */
function chartNotebook(): string {
  const svg = plotSvg({
    width: 320,
    height: 200,
    marks: [
      Plot.lineY([0, 1, 4, 9, 16], { x: [0, 1, 2, 3, 4], stroke: "steelblue", strokeWidth: 3 }),
      Plot.dot([0, 1, 4, 9, 16], { x: [0, 1, 2, 3, 4], fill: "black", r: 4 }),
    ],
  });
  const out = mimeOutput(svg, "a small chart");
  return JSON.stringify({
    cells: [{
      cell_type: "code",
      execution_count: 1,
      metadata: {},
      source: ["// saved output: a chart from lib/viz (image/png + image/svg+xml)"],
      outputs: [{ output_type: "display_data", data: out.data, metadata: out.metadata }],
    }],
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Opens a notebook and waits until Notebook 6.4 has loaded it (autosave off). */
async function openNotebook(page: Page, base: string, name: string, token: string) {
  await page.goto(`${base}/notebooks/${name}?token=${token}`, { timeout: 120_000 });
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

interface ChartSeen {
  cell: number;
  pngs: number;
  width: number;
  inked: number;
  svgs: number;
}

/** For each cell, its output area's PNG images (widest one measured, inked pixels counted). */
function chartsSeen(page: Page, cells: number[]): Promise<ChartSeen[]> {
  return page.evaluate(async (cells: number[]) => {
    const J = (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter;
    const seen = [];
    for (const i of cells) {
      const el = J.notebook!.get_cell(i)!.output_area.element[0];
      const imgs = [...el.querySelectorAll("img")].filter((im) =>
        im.src.startsWith("data:image/png")
      );
      await Promise.all(imgs.map((im) => im.decode().catch(() => {})));
      const img = imgs.sort((a, b) => b.naturalWidth - a.naturalWidth)[0];
      let inked = 0;
      if (img && img.naturalWidth > 0) {
        const c = document.createElement("canvas");
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
        const g = c.getContext("2d")!;
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        for (let p = 0; p < px.length; p += 4) {
          if (px[p + 3] > 0 && px[p] + px[p + 1] + px[p + 2] < 600) inked++;
        }
      }
      seen.push({
        cell: i,
        pngs: imgs.length,
        width: img?.naturalWidth ?? 0,
        inked,
        svgs: el.querySelectorAll("svg").length,
      });
    }
    return seen;
  }, cells);
}

function assertCharts(label: string, seen: ChartSeen[]): void {
  for (const s of seen) {
    assert(
      s.pngs >= 1 && s.width > 100 && s.inked > 100 && s.svgs === 0,
      `${label}: cell ${s.cell}'s saved chart is not drawn as a PNG image: ${JSON.stringify(s)}`,
    );
  }
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
    let server: Deno.ChildProcess | null = null;
    let browser: Browser | null = null;
    let serverLog = "";
    const base = { url: "", token: crypto.randomUUID().replaceAll("-", "") };
    try {
      await Deno.copyFile(`${root}notebooks/${EXPLORE}`, `${work}/${EXPLORE}`);
      await Deno.writeTextFile(`${work}/chart.ipynb`, chartNotebook());
      for (const d of ["data", "config", "runtime"]) await Deno.mkdir(`${jupyterHome}/${d}`);

      const port = freePort();
      base.url = `http://127.0.0.1:${port}`;
      const inherited = Deno.env.get("JUPYTER_PATH");
      server = new Deno.Command("jupyter-notebook", {
        args: [
          "--no-browser",
          "--ip=127.0.0.1",
          `--port=${port}`,
          "--port-retries=0",
          `--NotebookApp.token=${base.token}`,
          `--notebook-dir=${work}`,
          ...(Deno.uid() === 0 ? ["--allow-root"] : []),
        ],
        env: {
          JUPYTER_DATA_DIR: `${jupyterHome}/data`,
          JUPYTER_CONFIG_DIR: `${jupyterHome}/config`,
          JUPYTER_RUNTIME_DIR: `${jupyterHome}/runtime`,
          JUPYTER_PATH: [kernelDataDir, inherited].filter(Boolean).join(":"),
          IDSTYLE_QUICK: "1",
          IDSTYLE_QUIET: "1",
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true,
      }).spawn();
      for (const s of [server.stdout, server.stderr]) {
        s.pipeThrough(new TextDecoderStream()).pipeTo(
          new WritableStream({ write: (t) => void (serverLog = (serverLog + t).slice(-20_000)) }),
        ).catch(() => {});
      }
      let serverExit: Deno.CommandStatus | null = null;
      server.status.then((st) => void (serverExit = st));
      await waitFor(`jupyter-notebook on ${base.url}`, 120_000, async () => {
        if (serverExit) throw new Error(`jupyter-notebook exited with ${serverExit.code}`);
        return await fetch(`${base.url}/api/status?token=${base.token}`)
          .then(async (r) => (await r.body?.cancel(), r.ok)).catch(() => false);
      }).catch((err) => {
        throw new Error(`${(err as Error).message}\n${serverLog.slice(-3000)}`);
      });
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
      await openNotebook(page, base.url, "chart.ipynb", base.token);
      const trustedA = await page.evaluate(() =>
        (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook!.trusted
      );
      assert(trustedA === false, `chart.ipynb should open untrusted, trusted=${trustedA}`);
      const seenA = await chartsSeen(page, [0]);
      assertCharts("chart.ipynb", seenA);
      assert(
        consoleLines.some((l) => l.includes("Ignoring untrusted image/svg+xml")),
        `Notebook did not report skipping the untrusted SVG; console:\n${consoleLines.join("\n")}`,
      );
      console.log(`A: untrusted chart drawn ${JSON.stringify(seenA)} (${lap()})`);

      // Notebook 07 as saved: untrusted, its charts drawn, its explorer inert (script stripped).
      await openNotebook(page, base.url, EXPLORE, base.token);
      const saved = JSON.parse(await Deno.readTextFile(`${work}/${EXPLORE}`)).cells as SavedCell[];
      const charts07 = chartCells(saved);
      const seen07 = await chartsSeen(page, charts07);
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
      const explorer = "div.idstyle-explorer[data-live]";
      await page.waitForFunction(
        (sel: string) =>
          [...document.querySelectorAll(sel)].some((r) =>
            (r.querySelector('[data-k="status"]')?.textContent ?? "").startsWith("live")
          ),
        explorer,
        { timeout: 900_000, polling: 500 },
      ).catch(async (err) => {
        const errs = await page.evaluate(() =>
          [...document.querySelectorAll(".output_error, .output_stderr")].map((e) => e.textContent)
            .join("\n")
        );
        throw new Error(
          `the explorer never went live: ${(err as Error).message}\ncell errors: ${errs}\n` +
            `page errors: ${pageErrors.join("\n")}\nserver log: ${serverLog.slice(-3000)}`,
        );
      });
      const runS = (performance.now() - tRun) / 1000;
      console.log(`B: explorer live ${runS.toFixed(1)} s after running cells 1-2 (${lap()})`);

      // Move the smile slider to 2 and time the swap of the edited image in the page.
      const probe = page.evaluate((sel: string) => {
        const roots = [...document.querySelectorAll<HTMLElement>(sel)];
        const root = roots[roots.length - 1];
        const img = root.querySelector<HTMLImageElement>('img[data-k="edited"]')!;
        const slider = root.querySelector<HTMLInputElement>('input[data-attr="smile"]')!;
        const src0 = img.src;
        const frames0 = Number(root.dataset.frames ?? 0);
        return new Promise<{ ms: number; frames: number; status: string; changed: boolean }>(
          (resolve, reject) => {
            let tInput = -1;
            slider.addEventListener("input", () => {
              if (tInput < 0) tInput = performance.now();
            }, { capture: true });
            const obs = new MutationObserver(() => {
              if (tInput >= 0 && img.src !== src0 && Number(root.dataset.frames ?? 0) > frames0) {
                obs.disconnect();
                resolve({
                  ms: performance.now() - tInput,
                  frames: Number(root.dataset.frames),
                  status: root.querySelector('[data-k="status"]')?.textContent ?? "",
                  changed: img.src !== src0,
                });
              }
            });
            obs.observe(root, { attributes: true, subtree: true });
            setTimeout(
              () => reject(new Error("the edited image did not change in 120 s")),
              120_000,
            );
          },
        );
      }, explorer);
      await page.locator(`${explorer} input[data-attr="smile"]`).last().fill("2");
      const moved = await probe;
      assert(moved.changed && moved.frames >= 1, `no new frame: ${JSON.stringify(moved)}`);
      const value = await page.locator(`${explorer} input[data-attr="smile"]`).last().inputValue();
      assert(Number(value) === 2, `the smile slider reads ${value}, expected 2`);
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
        return /data-attr="smile"[^>]*value="2"/.test(now.html);
      });
      const updated = await explorerPng();
      assert(updated.png !== first.png, "the saved PNG is the new frame's");
      await page.waitForFunction(
        (sel: string) =>
          [...document.querySelectorAll(sel)].some((r) =>
            (r.querySelector('[data-k="status"]')?.textContent ?? "").startsWith("live")
          ),
        explorer,
        { timeout: 30_000, polling: 250 },
      );
      await page.evaluate(() =>
        (globalThis as unknown as { Jupyter: JupyterGlobal }).Jupyter.notebook!.save_notebook()
      );
      await waitFor("the notebook on disk to hold the last frame", 30_000, async () => {
        const cells = JSON.parse(await Deno.readTextFile(`${work}/${EXPLORE}`)).cells as {
          outputs?: { data?: Record<string, string | string[]> }[];
        }[];
        const join = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";
        return (cells[2].outputs ?? []).some((o) =>
          join(o.data?.["image/png"]).replace(/\s/g, "") === updated.png.replace(/\s/g, "") &&
          /data-attr="smile"[^>]*value="2"/.test(join(o.data?.["text/html"]))
        );
      });
      console.log(
        `B: saved output follows the slider; notebook saved with the last frame (${lap()})`,
      );
      assert(pageErrors.length === 0, `page errors: ${pageErrors.join("\n")}`);
    } finally {
      await browser?.close().catch(() => {});
      if (server) {
        // Shut the kernels and the server down, then make sure the whole group is gone.
        await fetch(`${base.url}/api/shutdown?token=${base.token}`, { method: "POST" })
          .then((r) => r.body?.cancel()).catch(() => {});
        const exited = await Promise.race([
          server.status.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
        ]);
        for (const sig of exited ? ["SIGTERM"] as const : ["SIGTERM", "SIGKILL"] as const) {
          try {
            Deno.kill(-server.pid, sig);
          } catch { /* group gone */ }
          if (sig === "SIGTERM" && !exited) await new Promise((r) => setTimeout(r, 3000));
        }
        await server.status.catch(() => {});
      }
      await Deno.remove(work, { recursive: true }).catch(() => {});
      await Deno.remove(jupyterHome, { recursive: true }).catch(() => {});
    }
  },
});
