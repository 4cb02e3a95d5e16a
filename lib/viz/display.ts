/**
 * Displaying results in Jupyter (Deno kernel). The kernel sometimes reports a cell idle before its
 * last output arrives (DESIGN.md section 4), so notebooks display every output explicitly with
 * `show` and end such cells with `await flush()`. Outside Jupyter, `show` prints text.
 */
import pl from "nodejs-polars";
import { encodeBase64 } from "./base64.ts";
import { encodePng, type Raster } from "./png.ts";
import { jupyterDisplay } from "../util/progress.ts";

export type Showable =
  | Raster
  | pl.DataFrame
  | string
  | number
  | Record<string, unknown>
  | unknown[];

function isFrame(x: unknown): x is pl.DataFrame {
  return typeof (x as { toHTML?: unknown })?.toHTML === "function" &&
    typeof (x as { getColumn?: unknown }).getColumn === "function";
}

function isRaster(x: unknown): x is Raster {
  return typeof x === "object" && x !== null && "width" in x && "height" in x && "data" in x;
}

/** A MIME bundle for a value: PNG for rasters, HTML for DataFrames and SVG/HTML strings, JSON otherwise. */
export function bundle(x: Showable, title?: string): Record<string, string> {
  const head = title ? `<b>${title}</b><br/>` : "";
  if (isRaster(x)) {
    return {
      "image/png": encodeBase64(encodePng(x)),
      "text/plain": `${title ?? "image"} ${x.width}x${x.height}`,
    };
  }
  if (isFrame(x)) {
    return {
      "text/html": head + x.toHTML(),
      "text/plain": (title ? `${title}\n` : "") + x.toString(),
    };
  }
  if (typeof x === "string") {
    const markup = x.trimStart().startsWith("<");
    return markup
      ? { "text/html": head + x, "text/plain": title ?? "figure" }
      : { "text/plain": (title ? `${title}: ` : "") + x };
  }
  return {
    "text/plain": (title ? `${title}: ` : "") +
      (typeof x === "number" ? String(x) : JSON.stringify(x, null, 2)),
  };
}

export async function show(x: Showable, title?: string): Promise<void> {
  const display = jupyterDisplay();
  const b = bundle(x, title);
  if (display) await display(b, { raw: true });
  else console.log(b["text/plain"]);
}

/** Ends a cell: lets the kernel deliver the last output before it reports idle. */
export function flush(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** Quick mode for notebook smoke runs: IDSTYLE_QUICK=1. */
export function quickMode(): boolean {
  return ["1", "true", "yes"].includes((Deno.env.get("IDSTYLE_QUICK") ?? "").toLowerCase());
}
