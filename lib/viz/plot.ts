/**
 * Observable Plot outside a browser: figures rendered against a linkedom document to standalone
 * SVG strings (one `<svg>` with xmlns, the title, legend and caption of Plot's `<figure>` laid out
 * inside it: figure.ts), which open in any viewer, rasterise with resvg and display in Jupyter
 * as `image/png` + `image/svg+xml` (display.ts).
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { figureSvg } from "./figure.ts";

const { document } = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>");

/** Renders Plot options to a standalone SVG string. */
export function plotSvg(options: Plot.PlotOptions): string {
  const el = Plot.plot(
    { ...options, document } as Plot.PlotOptions & { document: unknown },
  ) as unknown as Element;
  return figureSvg(el.outerHTML);
}

export { Plot };
