/**
 * Displaying results in Jupyter (Deno kernel). The kernel sometimes reports a cell idle before its
 * last output arrives (DESIGN.md section 4; `flush` says why and how long to wait), so notebooks
 * display every output explicitly with `show` and end such cells with `await flush()`. Outside
 * Jupyter, `show` prints text.
 *
 * Every figure carries `image/png`, the one image type that every front end shows, trusted or
 * not. Charts (SVG, or Plot's HTML figures) are laid out as one SVG (figure.ts), rasterised at 2x
 * (rasterize.ts) and emitted as `image/png` (displayed at 1x through the `width`/`height`
 * metadata) plus `image/svg+xml`, never as `text/html`: Jupyter Notebook and JupyterLab prefer
 * `text/html` and, for an untrusted notebook (any freshly cloned one), sanitize it, which strips
 * the SVG inside it. `image/svg+xml` ranks above `image/png` but is unsafe: trusted notebooks show
 * the SVG, untrusted ones skip it (Notebook 6: "Ignoring untrusted image/svg+xml output";
 * JupyterLab: `preferredMimeType(data, "ensure")`) and show the PNG.
 */
import pl from "nodejs-polars";
import { encodeBase64 } from "./base64.ts";
import { figureSvg } from "./figure.ts";
import { encodePng, type Raster } from "./png.ts";
import { type RasterizeOptions, svgToPng } from "./rasterize.ts";
import { jupyterDisplay } from "../util/progress.ts";

export type Showable =
  | Raster
  | pl.DataFrame
  | string
  | number
  | Record<string, unknown>
  | unknown[];

/** A display_data message's content: the MIME bundle and its metadata. */
export interface MimeOutput {
  data: Record<string, string>;
  metadata: Record<string, Record<string, unknown>>;
}

function isFrame(x: unknown): x is pl.DataFrame {
  return typeof (x as { toHTML?: unknown })?.toHTML === "function" &&
    typeof (x as { getColumn?: unknown }).getColumn === "function";
}

function isRaster(x: unknown): x is Raster {
  return typeof x === "object" && x !== null && "width" in x && "height" in x && "data" in x;
}

/** Markup that holds a figure: SVG, or HTML with an SVG in it (a Plot `<figure>`). */
export function isFigureMarkup(x: string): boolean {
  const s = x.trimStart();
  return s.startsWith("<") && /<svg[\s>]/i.test(s);
}

/**
 * The output of a chart: `image/png` at `scale`x shown at the chart's size, `image/svg+xml` (one
 * standalone SVG, the title drawn on top), and `text/plain`.
 */
export function figureOutput(
  markup: string,
  title?: string,
  opts: RasterizeOptions = {},
): MimeOutput {
  const svg = figureSvg(markup, title);
  const r = svgToPng(svg, opts);
  return {
    data: {
      "image/png": encodeBase64(r.png),
      "image/svg+xml": svg,
      "text/plain": title ?? "figure",
    },
    metadata: { "image/png": { width: r.cssWidth, height: r.cssHeight } },
  };
}

/**
 * The output for a value: PNG for rasters, PNG + SVG for charts (SVG strings or HTML holding SVG),
 * HTML for DataFrames and other markup, text otherwise.
 */
export function mimeOutput(x: Showable, title?: string): MimeOutput {
  const head = title ? `<b>${title}</b><br/>` : "";
  if (isRaster(x)) {
    return {
      data: {
        "image/png": encodeBase64(encodePng(x)),
        "text/plain": `${title ?? "image"} ${x.width}x${x.height}`,
      },
      metadata: {},
    };
  }
  if (isFrame(x)) {
    return {
      data: {
        "text/html": head + x.toHTML(),
        "text/plain": (title ? `${title}\n` : "") + x.toString(),
      },
      metadata: {},
    };
  }
  if (typeof x === "string") {
    if (isFigureMarkup(x)) return figureOutput(x, title);
    const markup = x.trimStart().startsWith("<");
    return {
      data: markup
        ? { "text/html": head + x, "text/plain": title ?? "figure" }
        : { "text/plain": (title ? `${title}: ` : "") + x },
      metadata: {},
    };
  }
  return {
    data: {
      "text/plain": (title ? `${title}: ` : "") +
        (typeof x === "number" ? String(x) : JSON.stringify(x, null, 2)),
    },
    metadata: {},
  };
}

/** The MIME bundle of `mimeOutput` (without its metadata). */
export function bundle(x: Showable, title?: string): Record<string, string> {
  return mimeOutput(x, title).data;
}

type Broadcast = (msgType: string, content: Record<string, unknown>) => Promise<void>;

function jupyterBroadcast(): Broadcast | null {
  try {
    const j = (Deno as unknown as { jupyter?: { broadcast?: Broadcast } }).jupyter;
    return typeof j?.broadcast === "function" ? j.broadcast : null;
  } catch {
    return null;
  }
}

export interface DisplayOptions {
  /** Display id: a later call with the same id and `update: true` replaces the output. */
  displayId?: string;
  update?: boolean;
}

/** Characters of an output's bundle and metadata (its size on the wire, near enough). */
function outputBytes(out: MimeOutput): number {
  let n = JSON.stringify(out.metadata).length;
  for (const v of Object.values(out.data)) n += v.length;
  return n;
}

/** The time the kernel is given to publish displays: a floor, and a time per MB. */
export const FLUSH_BASE_MS = 30;
export const FLUSH_MS_PER_MB = 50;

function publishMs(bytes: number): number {
  return FLUSH_BASE_MS + FLUSH_MS_PER_MB * bytes / 1e6;
}

/**
 * Characters displayed that the kernel may still be publishing, and when the last of them was
 * sent (performance.now()); `flush` waits for them.
 */
let unflushedBytes = 0;
let lastDisplayAt = 0;

function noteDisplayed(out: MimeOutput): void {
  const now = performance.now();
  if (now - lastDisplayAt > publishMs(unflushedBytes)) unflushedBytes = 0; // published by now
  unflushedBytes += outputBytes(out);
  lastDisplayAt = now;
}

/**
 * Sends an output to Jupyter with its metadata (`Deno.jupyter.display` sends none, and the PNG
 * needs its display size). Returns false outside Jupyter.
 */
export async function displayOutput(out: MimeOutput, opts: DisplayOptions = {}): Promise<boolean> {
  const broadcast = jupyterBroadcast();
  const display = broadcast ? null : jupyterDisplay();
  if (!broadcast && !display) return false;
  noteDisplayed(out);
  if (broadcast) {
    await broadcast(opts.update ? "update_display_data" : "display_data", {
      data: out.data,
      metadata: out.metadata,
      transient: opts.displayId ? { display_id: opts.displayId } : {},
    });
    return true;
  }
  await display!(out.data, { raw: true, display_id: opts.displayId, update: opts.update });
  return true;
}

/** Displays a value in Jupyter (see `mimeOutput`); prints its text elsewhere. */
export async function show(x: Showable, title?: string, opts: DisplayOptions = {}): Promise<void> {
  if (!jupyterBroadcast() && !jupyterDisplay()) {
    // No figure to rasterise outside Jupyter: the text line is all that is printed.
    const text = typeof x === "string" && isFigureMarkup(x)
      ? title ?? "figure"
      : mimeOutput(x, title).data["text/plain"];
    console.log(text);
    return;
  }
  await displayOutput(mimeOutput(x, title), opts);
}

/** How long `flush` would wait now, ms: until the last display plus `publishMs` of what is pending. */
export function flushDelayMs(): number {
  if (unflushedBytes === 0) return 0;
  return Math.max(0, lastDisplayAt + publishMs(unflushedBytes) - performance.now());
}

/**
 * Ends a cell: waits until the kernel has published the cell's outputs. Deno 2.9's kernel hands
 * each display from the cell's thread to a publisher on its own thread, and reports the cell idle
 * when the code returns, without waiting for that queue; nbclient and the front ends drop what
 * comes after idle. The publisher's time grows with the message: measured from broadcast to a
 * Python client on the 2-core build machine under load, 11-16 ms for 1 MB, 31-104 ms for 4 MB.
 * Cells that returned at once lost an output 3 times in 20 at 1 MB and 10 in 25 at 4 MB; after a
 * `setTimeout(0)` (this function's earlier body) 1 in 30 at 1 MB; after 190 ms at 4 MB (this
 * delay's value) none in 25. The wait therefore grows with what was displayed, and counts from
 * the last display (outputs sent long before, such as the explorer's saved frame, cost nothing).
 */
export async function flush(): Promise<void> {
  const ms = flushDelayMs();
  unflushedBytes = 0;
  await new Promise((r) => setTimeout(r, ms));
}

/** Quick mode for notebook smoke runs: IDSTYLE_QUICK=1. */
export function quickMode(): boolean {
  return ["1", "true", "yes"].includes((Deno.env.get("IDSTYLE_QUICK") ?? "").toLowerCase());
}
