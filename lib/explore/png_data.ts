/** A `data:image/png;base64,...` URL back into a raster (for the explorer's static PNG). */
import { Buffer } from "node:buffer";
import pngjs from "pngjs";
import type { Raster } from "../viz/png.ts";

const { PNG } = pngjs;

export function decodePngDataUrl(url: string): Raster {
  const prefix = "data:image/png;base64,";
  if (!url.startsWith(prefix)) {
    throw new Error("decodePngDataUrl: expected a data:image/png;base64 URL");
  }
  const png = PNG.sync.read(Buffer.from(url.slice(prefix.length), "base64"));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) } as Raster;
}
