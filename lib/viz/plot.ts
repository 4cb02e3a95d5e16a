/**
 * Observable Plot outside a browser: figures rendered against a linkedom document to SVG strings
 * (with the xmlns attribute, so that saved files open in any viewer), for Jupyter displays
 * (`image/svg+xml`) and files.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

const { document } = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>");

/** Renders Plot options to an SVG (or figure HTML, when Plot wraps it with a legend) string. */
export function plotSvg(options: Plot.PlotOptions): string {
  const el = Plot.plot(
    { ...options, document } as Plot.PlotOptions & { document: unknown },
  ) as unknown as Element;
  const svg = el.tagName.toLowerCase() === "svg" ? el : el.querySelector("svg");
  svg?.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  svg?.setAttribute("xmlns:xlink", "http://www.w3.org/1999/xlink");
  return el.outerHTML;
}

export { Plot };
