/**
 * What the real-browser tests share (tests/browser_test.ts: Jupyter Notebook 6.4;
 * tests/jupyterlab_test.ts: JupyterLab 3.6): finding Chromium and the Deno kernelspec, a Jupyter
 * server as a child process, the saved chart notebook, counting the ink of a chart's PNG as the
 * page draws it, and driving notebook 07's explorer (going live, moving a slider).
 */
import type { Page } from "playwright-core";
import { assert } from "./_util.ts";
import { mimeOutput } from "../lib/viz/display.ts";
import { Plot, plotSvg } from "../lib/viz/plot.ts";

export const root = new URL("../", import.meta.url).pathname;
export const EXPLORE = "07_explore.ipynb";
export const CI = !!Deno.env.get("CI");

export async function available(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

export function findChromium(): string | null {
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
export async function installKernelspec(): Promise<string | null> {
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

export interface SavedCell {
  cell_type: string;
  outputs?: { output_type: string; data?: Record<string, unknown> }[];
}

/** Indices of the cells whose saved outputs hold a chart as image/png + image/svg+xml. */
export function chartCells(cells: SavedCell[]): number[] {
  return cells.flatMap((c, i) =>
    (c.outputs ?? []).some((o) => o.data?.["image/png"] && o.data?.["image/svg+xml"]) ? [i] : []
  );
}

/** A one-cell notebook whose saved output is a small chart made by lib/viz. */
export function chartNotebook(): string {
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

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** A Jupyter server run as a detached child process, its output kept (the last 20,000 chars). */
export class JupyterServer {
  readonly proc: Deno.ChildProcess;
  log = "";
  private exit: Deno.CommandStatus | null = null;

  constructor(
    cmd: string,
    args: string[],
    env: Record<string, string>,
    readonly url: string,
    readonly token: string,
  ) {
    this.proc = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    for (const s of [this.proc.stdout, this.proc.stderr]) {
      s.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (t) => void (this.log = (this.log + t).slice(-20_000)) }),
      ).catch(() => {});
    }
    this.proc.status.then((st) => void (this.exit = st));
  }

  /** Waits until `/api/status` answers. */
  async ready(ms = 120_000): Promise<void> {
    await waitFor(`the Jupyter server on ${this.url}`, ms, async () => {
      if (this.exit) throw new Error(`the Jupyter server exited with ${this.exit.code}`);
      return await fetch(`${this.url}/api/status?token=${this.token}`)
        .then(async (r) => (await r.body?.cancel(), r.ok)).catch(() => false);
    }).catch((err) => {
      throw new Error(`${(err as Error).message}\n${this.log.slice(-3000)}`);
    });
  }

  /** Shuts the kernels and the server down, then makes sure the whole process group is gone. */
  async stop(): Promise<void> {
    await fetch(`${this.url}/api/shutdown?token=${this.token}`, { method: "POST" })
      .then((r) => r.body?.cancel()).catch(() => {});
    const exited = await Promise.race([
      this.proc.status.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
    ]);
    for (const sig of exited ? ["SIGTERM"] as const : ["SIGTERM", "SIGKILL"] as const) {
      try {
        Deno.kill(-this.proc.pid, sig);
      } catch { /* group gone */ }
      if (sig === "SIGTERM" && !exited) await new Promise((r) => setTimeout(r, 3000));
    }
    await this.proc.status.catch(() => {});
  }
}

export interface ChartSeen {
  cell: number;
  pngs: number;
  width: number;
  inked: number;
  svgs: number;
}

/**
 * For each selector (one cell's output area), its PNG images as drawn: how many, the widest one's
 * width, its inked pixels (decoded and read back through a canvas) and the SVG elements beside.
 */
export function chartsSeen(page: Page, cells: number[], selectors: string[]): Promise<ChartSeen[]> {
  return page.evaluate(async ({ cells, selectors }) => {
    const seen = [];
    for (let k = 0; k < cells.length; k++) {
      const el = document.querySelector(selectors[k]);
      const imgs = [...(el?.querySelectorAll("img") ?? [])].filter((im) =>
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
        cell: cells[k],
        pngs: imgs.length,
        width: img?.naturalWidth ?? 0,
        inked,
        svgs: el?.querySelectorAll("svg").length ?? 0,
      });
    }
    return seen;
  }, { cells, selectors });
}

export function assertCharts(label: string, seen: ChartSeen[]): void {
  for (const s of seen) {
    assert(
      s.pngs >= 1 && s.width > 100 && s.inked > 100 && s.svgs === 0,
      `${label}: cell ${s.cell}'s saved chart is not drawn as a PNG image: ${JSON.stringify(s)}`,
    );
  }
}

/** A live explorer's root in the page (its script ran and set data-live). */
export const LIVE_EXPLORER = "div.idstyle-explorer[data-live]";

/** Waits until an explorer on the page says it is live. */
export function explorerLive(page: Page, ms: number): Promise<unknown> {
  return page.waitForFunction(
    (sel: string) =>
      [...document.querySelectorAll(sel)].some((r) =>
        (r.querySelector('[data-k="status"]')?.textContent ?? "").startsWith("live")
      ),
    LIVE_EXPLORER,
    { timeout: ms, polling: 250 },
  );
}

export interface SliderMove {
  /** From the slider's input event to the edited image's replacement in the page. */
  ms: number;
  frames: number;
  status: string;
  changed: boolean;
}

/** Moves one attribute's slider of the last live explorer and times the edited image's swap. */
export async function moveSlider(page: Page, attr: string, value: number): Promise<SliderMove> {
  const probe = page.evaluate(({ sel, attr }) => {
    const roots = [...document.querySelectorAll<HTMLElement>(sel)];
    const root = roots[roots.length - 1];
    const img = root.querySelector<HTMLImageElement>('img[data-k="edited"]')!;
    const slider = root.querySelector<HTMLInputElement>(`input[data-attr="${attr}"]`)!;
    const src0 = img.src;
    const frames0 = Number(root.dataset.frames ?? 0);
    return new Promise<SliderMove>((resolve, reject) => {
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
      setTimeout(() => reject(new Error("the edited image did not change in 120 s")), 120_000);
    });
  }, { sel: LIVE_EXPLORER, attr });
  const slider = page.locator(`${LIVE_EXPLORER} input[data-attr="${attr}"]`).last();
  await slider.fill(String(value));
  const moved = await probe;
  assert(moved.changed && moved.frames >= 1, `no new frame: ${JSON.stringify(moved)}`);
  const now = await slider.inputValue();
  assert(Number(now) === value, `the ${attr} slider reads ${now}, expected ${value}`);
  return moved;
}

/** Whether an explorer page's HTML has `attr`'s slider set to `value`. */
export function holdsSetting(html: string, attr: string, value: number): boolean {
  return new RegExp(`data-attr="${attr}"[^>]*value="${value}"`).test(html);
}

/** Whether a saved output (its data, strings or line arrays) holds `png` and the slider setting. */
export function savedFrameMatches(
  data: Record<string, unknown> | undefined,
  png: string,
  attr: string,
  value: number,
): boolean {
  const join = (v: unknown) => Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "";
  return join(data?.["image/png"]).replace(/\s/g, "") === png.replace(/\s/g, "") &&
    holdsSetting(join(data?.["text/html"]), attr, value);
}
