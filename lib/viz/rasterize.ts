/**
 * SVG to PNG with resvg (`@resvg/resvg-js`, a Rust renderer shipped as prebuilt napi binaries in
 * its npm platform packages). Text is drawn with the DejaVu Sans font shipped in lib/viz/fonts/
 * (Bitstream Vera licence, see LICENSE there), loaded explicitly and with system fonts off, so
 * that a figure rasterises the same on every machine, including one without fonts installed.
 * Charts are saved in notebooks, so PNGs are written with a palette of at most 256 colours
 * (`upng-js`): about a third of the bytes of a full-colour PNG of antialiased lines, and exact
 * wherever a chart has fewer colours.
 */
import { Resvg } from "@resvg/resvg-js";
import UPNG from "upng-js";
import { fileURLToPath } from "node:url";
import type { Raster } from "./png.ts";

/** Path of the shipped font file (resvg loads files much faster than buffers in Deno). */
export const FONT_FILE = fileURLToPath(new URL("./fonts/DejaVuSans.ttf", import.meta.url));
const FAMILY = "DejaVu Sans";

export interface RasterizeOptions {
  /** Pixels per SVG unit (default 2: crisp on high-density screens). */
  scale?: number;
  /** Background colour (default white); "transparent" for none. */
  background?: string;
  /** Palette size of the PNG (default 256); 0 writes full colour (lossless, larger). */
  colors?: number;
}

function render(svg: string, opts: RasterizeOptions) {
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    background: opts.background === "transparent" ? undefined : opts.background ?? "white",
    font: {
      loadSystemFonts: false,
      fontFiles: [FONT_FILE],
      defaultFontFamily: FAMILY,
      sansSerifFamily: FAMILY,
      serifFamily: FAMILY,
      monospaceFamily: FAMILY,
      cursiveFamily: FAMILY,
      fantasyFamily: FAMILY,
    },
  });
  const image = resvg.render();
  return {
    image,
    pixels: straight(new Uint8Array(image.pixels)),
    width: resvg.width,
    height: resvg.height,
  };
}

/** resvg's pixels are premultiplied by alpha; PNG and Raster hold straight RGBA. In place. */
function straight(px: Uint8Array): Uint8Array {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3];
    if (a === 255 || a === 0) continue;
    for (let c = 0; c < 3; c++) px[i + c] = Math.min(255, Math.round((px[i + c] * 255) / a));
  }
  return px;
}

export interface SvgPng {
  png: Uint8Array;
  /** Size in pixels of the PNG. */
  width: number;
  height: number;
  /** Size of the SVG in its own units (CSS px): the size to display the PNG at. */
  cssWidth: number;
  cssHeight: number;
}

/** Rasterises an SVG document to PNG bytes. */
export function svgToPng(svg: string, opts: RasterizeOptions = {}): SvgPng {
  const { image, pixels, width, height } = render(svg, opts);
  const colors = opts.colors ?? 256;
  const png = colors > 0
    ? new Uint8Array(UPNG.encode([pixels.buffer], image.width, image.height, colors))
    : new Uint8Array(image.asPng());
  return { png, width: image.width, height: image.height, cssWidth: width, cssHeight: height };
}

/** Rasterises an SVG document to RGBA pixels. */
export function svgToRaster(svg: string, opts: RasterizeOptions = {}): Raster {
  const { image, pixels } = render(svg, opts);
  return { width: image.width, height: image.height, data: pixels };
}
