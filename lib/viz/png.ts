/**
 * Images to PNG (pngjs): tensors in [-1, 1] to RGBA pixels, grids of images with optional captions
 * (set in DejaVu Sans by resvg, as the charts are: rasterize.ts).
 */
import * as tf from "@tensorflow/tfjs";
import pngjs from "pngjs";
import { escapeXml, FONT_FAMILY, textWidth as fontWidth } from "./figure.ts";
import { svgToRaster } from "./rasterize.ts";
import { writeFileAtomic } from "../io/atomic.ts";

const { PNG } = pngjs;

/** An RGBA raster. */
export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

export function newRaster(
  width: number,
  height: number,
  rgb: [number, number, number] = [255, 255, 255],
): Raster {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return { width, height, data };
}

/** images [N, H, W, 3] in [-1, 1] -> N rasters. */
export function toRasters(images: tf.Tensor4D): Raster[] {
  const [N, H, W] = images.shape;
  const px = tf.tidy(() =>
    tf.cast(tf.round(tf.mul(tf.add(tf.clipByValue(images, -1, 1), 1), 127.5)), "int32")
  ).dataSync();
  return Array.from({ length: N }, (_, n) => {
    const r = newRaster(W, H);
    for (let i = 0; i < H * W; i++) {
      const s = (n * H * W + i) * 3;
      r.data.set([px[s], px[s + 1], px[s + 2], 255], i * 4);
    }
    return r;
  });
}

/** images as NCHW float values [N, 3, H, W] (PyTorch's layout), clamped to [-1, 1] -> N rasters. */
export function rastersFromNchw(data: Float32Array, n: number, h: number, w: number): Raster[] {
  const plane = h * w;
  return Array.from({ length: n }, (_, k) => {
    const r = newRaster(w, h);
    const base = k * 3 * plane;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.min(1, Math.max(-1, data[base + c * plane + i]));
        r.data[i * 4 + c] = Math.round((v + 1) * 127.5);
      }
    }
    return r;
  });
}

/** Copies `src` into `dst` at (x, y), scaled by an integer factor (nearest neighbour). */
export function blit(dst: Raster, src: Raster, x: number, y: number, scale = 1): void {
  for (let j = 0; j < src.height * scale; j++) {
    for (let i = 0; i < src.width * scale; i++) {
      const tx = x + i, ty = y + j;
      if (tx < 0 || ty < 0 || tx >= dst.width || ty >= dst.height) continue;
      const s = (Math.floor(j / scale) * src.width + Math.floor(i / scale)) * 4;
      dst.data.set(src.data.subarray(s, s + 4), (ty * dst.width + tx) * 4);
    }
  }
}

/** Size in px of grid captions and labels. */
const LABEL_SIZE = 10;

function textWidth(text: string): number {
  return Math.ceil(fontWidth(text, LABEL_SIZE));
}

/** A line of text whose top-left corner is at (x, y). */
export interface Label {
  text: string;
  x: number;
  y: number;
}

/**
 * Draws text lines onto a raster: resvg renders them to a transparent layer of the raster's size,
 * composited over it.
 */
export function drawLabels(
  r: Raster,
  labels: Label[],
  rgb: [number, number, number] = [20, 20, 20],
): void {
  if (labels.length === 0) return;
  const baseline = Math.round(LABEL_SIZE * 0.8);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${r.width}" height="${r.height}"` +
    ` font-family="${FONT_FAMILY}" font-size="${LABEL_SIZE}" fill="rgb(${rgb.join(",")})">` +
    labels.map((l) => `<text x="${l.x}" y="${l.y + baseline}">${escapeXml(l.text)}</text>`)
      .join("") +
    `</svg>`;
  const layer = svgToRaster(svg, { scale: 1, background: "transparent" });
  const src = layer.data, dst = r.data;
  for (let i = 0; i < src.length; i += 4) {
    const a = src[i + 3];
    if (a === 0) continue;
    for (let c = 0; c < 3; c++) {
      dst[i + c] = Math.round((src[i + c] * a + dst[i + c] * (255 - a)) / 255);
    }
  }
}

export interface GridOptions {
  cols: number;
  /** Integer upscaling of each tile. */
  scale?: number;
  gap?: number;
  /** A caption under each tile. */
  captions?: string[];
  /** Row labels to the left and column headers on top. */
  rowLabels?: string[];
  colLabels?: string[];
}

/** Lays tiles out in a grid with captions and labels. */
export function gridRaster(tiles: Raster[], opts: GridOptions): Raster {
  const scale = opts.scale ?? 1, gap = opts.gap ?? 4;
  const tw = tiles[0].width * scale, th = tiles[0].height * scale;
  const rows = Math.ceil(tiles.length / opts.cols);
  const capH = opts.captions ? 12 : 0;
  const left = opts.rowLabels ? Math.max(...opts.rowLabels.map((s) => textWidth(s))) + 8 : 0;
  const top = opts.colLabels ? 14 : 0;
  const out = newRaster(left + opts.cols * (tw + gap) + gap, top + rows * (th + capH + gap) + gap);
  const labels: Label[] = [];
  tiles.forEach((t, k) => {
    const c = k % opts.cols, r = Math.floor(k / opts.cols);
    const x = left + gap + c * (tw + gap), y = top + gap + r * (th + capH + gap);
    blit(out, t, x, y, scale);
    const caption = opts.captions?.[k];
    if (caption) {
      labels.push({
        text: caption,
        x: x + Math.max(0, (tw - textWidth(caption)) >> 1),
        y: y + th + 1,
      });
    }
  });
  opts.colLabels?.forEach((s, c) =>
    labels.push({
      text: s,
      x: left + gap + c * (tw + gap) + Math.max(0, (tw - textWidth(s)) >> 1),
      y: 3,
    })
  );
  opts.rowLabels?.forEach((s, r) =>
    labels.push({ text: s, x: 3, y: top + gap + r * (th + capH + gap) + (th >> 1) - 5 })
  );
  drawLabels(out, labels);
  return out;
}

export function encodePng(r: Raster): Uint8Array {
  const png = new PNG({ width: r.width, height: r.height });
  png.data.set(r.data);
  return new Uint8Array(PNG.sync.write(png));
}

export async function writePng(path: string, r: Raster): Promise<void> {
  await writeFileAtomic(path, encodePng(r));
}
