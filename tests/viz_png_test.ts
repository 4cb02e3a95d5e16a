/**
 * Figures rasterise to PNG (resvg with the shipped DejaVu Sans, system fonts off): a Plot chart
 * becomes a PNG of twice its size with drawn marks and text, Plot's HTML figures (legends,
 * captions) become one standalone SVG, and `bundle` gives every chart `image/png` beside
 * `image/svg+xml`, never `text/html`, so that untrusted notebooks show the PNG.
 */
import { Buffer } from "node:buffer";
import pngjs from "pngjs";
import { assert, assertEquals } from "./_util.ts";
import { Plot, plotSvg } from "../lib/viz/plot.ts";
import { figureSvg, textWidth } from "../lib/viz/figure.ts";
import { svgToPng, svgToRaster } from "../lib/viz/rasterize.ts";
import { bundle, mimeOutput } from "../lib/viz/display.ts";
import { gridRaster, newRaster, type Raster } from "../lib/viz/png.ts";
import { lossPlot } from "../lib/train/monitor.ts";

const { PNG } = pngjs;

function decodePng(bytes: Uint8Array): Raster {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
}

function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** Pixels in the box [x0, x1) x [y0, y1) whose darkest channel is below `level`. */
function darkPixels(r: Raster, level = 128, box = [0, 0, r.width, r.height]): number {
  let n = 0;
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) {
      const i = (y * r.width + x) * 4;
      if (Math.min(r.data[i], r.data[i + 1], r.data[i + 2]) < level) n++;
    }
  }
  return n;
}

const points = Array.from({ length: 40 }, (_, i) => ({
  x: i,
  y: Math.sin(i / 4),
  s: ["gender", "glasses", "age"][i % 3],
}));

function chart(): string {
  return plotSvg({
    width: 400,
    height: 240,
    y: { grid: true, label: "value" },
    marks: [Plot.line(points, { x: "x", y: "y", stroke: "steelblue" })],
  });
}

Deno.test("a Plot chart rasterises to a PNG of twice its size with marks and text", () => {
  const svg = chart();
  assert(svg.startsWith("<svg") && svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  const t0 = performance.now();
  const r = svgToPng(svg);
  const cold = performance.now() - t0;
  const t1 = performance.now();
  svgToPng(svg);
  const warm = performance.now() - t1;
  console.log(
    `400x240 line chart: ${r.png.length} bytes PNG in ${cold.toFixed(0)} ms (first call), ` +
      `${warm.toFixed(0)} ms (second)`,
  );
  assertEquals([r.width, r.height, r.cssWidth, r.cssHeight], [800, 480, 400, 240]);
  const px = decodePng(r.png);
  assertEquals([px.width, px.height], [800, 480]);
  // White background, some dark pixels (axes, labels), some blue ones (the line).
  assertEquals([...px.data.subarray(0, 4)], [255, 255, 255, 255]);
  assert(darkPixels(px) > 500, `dark pixels ${darkPixels(px)}`);
  let blue = 0;
  for (let i = 0; i < px.data.length; i += 4) {
    if (px.data[i + 2] > 150 && px.data[i] < 100) blue++;
  }
  assert(blue > 500, `blue pixels ${blue}`);
});

Deno.test("chart text is drawn with the shipped font: without <text> the label area is blank", () => {
  const svg = chart();
  const noText = svg.replace(/<text\b[^>]*>[^<]*<\/text>/g, "");
  assert(noText.length < svg.length, "the chart has text elements");
  const withText = svgToRaster(svg, { scale: 1 });
  const without = svgToRaster(noText, { scale: 1 });
  // The y tick labels sit left of the axis at x < 40 - 9.
  const box = [0, 10, 30, 220];
  const a = darkPixels(withText, 160, box), b = darkPixels(without, 160, box);
  assert(a > 50 && b === 0, `dark pixels in the label area: ${a} with text, ${b} without`);
});

Deno.test("a single text element renders dark pixels where the font metrics say", () => {
  const text = "Identity 0.25";
  const size = 20;
  const r = svgToRaster(
    `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="30">` +
      `<text x="0" y="22" font-size="${size}" font-family="system-ui, sans-serif">${text}</text></svg>`,
    { scale: 1 },
  );
  assert(darkPixels(r) > 100, `dark pixels ${darkPixels(r)}`);
  // The ink ends within a few px of the advance width figure.ts lays legends out with.
  let right = 0;
  for (let x = 0; x < r.width; x++) if (darkPixels(r, 200, [x, 0, x + 1, r.height]) > 0) right = x;
  const w = textWidth(text, size);
  assert(Math.abs(right + 1 - w) < 4, `ink ends at ${right + 1}, metrics say ${w.toFixed(1)}`);
});

Deno.test("Plot figures (title, legend, caption) become one SVG with the legend drawn", () => {
  const svg = plotSvg({
    title: "Fig. 2",
    caption: "three series",
    color: { legend: true },
    marks: [Plot.line(points, { x: "x", y: "y", stroke: "s" })],
  });
  assert(
    svg.startsWith("<svg") && !/<(figure|span|div|h2|figcaption)\b/.test(svg),
    svg.slice(0, 200),
  );
  for (const s of ["Fig. 2", "three series", "gender", "glasses", "age"]) {
    assert(svg.includes(`>${s}</text>`), `text ${s}`);
  }
  const r = svgToRaster(svg, { scale: 1 });
  assertEquals(r.width, 640);
  // The legend row (below the title) has its three coloured swatches and dark label text.
  assert(darkPixels(r, 100, [0, 20, 300, 60]) > 30, "legend labels drawn");
  let coloured = 0;
  for (let y = 20; y < 60; y++) {
    for (let x = 0; x < 300; x++) {
      const i = (y * r.width + x) * 4;
      const [R, G, B] = r.data.subarray(i, i + 3);
      if (Math.max(R, G, B) - Math.min(R, G, B) > 80) coloured++;
    }
  }
  assert(coloured > 3 * 100, `swatch pixels ${coloured}`);
});

Deno.test("bundle: a chart carries image/png (2x, shown at 1x) and image/svg+xml, not text/html", () => {
  const svg = chart();
  const out = mimeOutput(svg, "a title");
  assertEquals(Object.keys(out.data).sort(), ["image/png", "image/svg+xml", "text/plain"]);
  assertEquals(out.data["text/plain"], "a title");
  const px = decodePng(decodeBase64(out.data["image/png"]));
  const md = out.metadata["image/png"] as { width: number; height: number };
  assertEquals([px.width, px.height], [2 * md.width, 2 * md.height]);
  assertEquals(md.width, 400);
  assert(out.data["image/svg+xml"].includes(">a title</text>"), "title drawn in the figure");
  assertEquals(Object.keys(bundle(svg)).sort(), ["image/png", "image/svg+xml", "text/plain"]);
});

Deno.test("bundle: HTML holding a chart (the training monitor's) also becomes PNG + SVG", () => {
  const rows = Array.from({ length: 30 }, (_, s) => ({
    type: "train",
    step: s,
    total: 1 / (1 + s),
    id: 0.1 + 0.01 * (s % 3),
  }));
  const html = `<pre style="margin:0">train  50% 15/30 steps</pre>${lossPlot(rows as never)}`;
  const b = bundle(html);
  assert("image/png" in b && "image/svg+xml" in b && !("text/html" in b), Object.keys(b).join());
  assert(b["image/svg+xml"].includes("train  50% 15/30 steps"), "the progress line is kept");
});

Deno.test("bundle: rasters keep their PNG; tables and plain markup stay HTML", () => {
  const r = newRaster(6, 4, [10, 20, 30]);
  const b = bundle(r, "tile");
  assertEquals(Object.keys(b).sort(), ["image/png", "text/plain"]);
  assertEquals(decodePng(decodeBase64(b["image/png"])).width, 6);
  assertEquals(Object.keys(bundle("<p>no figure</p>")).sort(), ["text/html", "text/plain"]);
  assertEquals(Object.keys(bundle("just text")), ["text/plain"]);
});

Deno.test("figureSvg wraps long captions to the chart's width", () => {
  const caption = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const svg = figureSvg(
    plotSvg({ width: 300, height: 100, caption, marks: [Plot.dot(points, { x: "x", y: "y" })] }),
  );
  const lines = [...svg.matchAll(/>(word[^<]*)<\/text>/g)].map((m) => m[1]);
  assert(lines.length >= 3, `caption lines ${lines.length}`);
  for (const l of lines) assert(textWidth(l, 12) <= 300, `line too wide: ${l}`);
  assertEquals(lines.join(" "), caption);
});

Deno.test("grid captions and labels are drawn in the shipped font, quickly", () => {
  const tiles = Array.from({ length: 8 }, (_, i) => newRaster(64, 64, [200, 180 + i * 5, 160]));
  const captions = tiles.map((_, i) => ["M-O-", "-G-S", "MGOS", "----"][i % 4]);
  const plain = gridRaster(tiles, { cols: 8, scale: 2 });
  gridRaster(tiles, { cols: 8, scale: 2, captions }); // warm-up: the renderer's first call loads it
  const t0 = performance.now();
  const g = gridRaster(tiles, { cols: 8, scale: 2, captions });
  const ms = performance.now() - t0;
  console.log(`grid of 8 faces (128 px) with captions: ${ms.toFixed(0)} ms (warm)`);
  assertEquals([g.width, g.height], [plain.width, plain.height + 12]);
  // The caption band under the tiles (y in [4 + 128, 4 + 128 + 12)) has dark text pixels.
  const band = [0, 132, g.width, 144];
  assert(darkPixels(g, 100, band) > 8 * 20, `caption pixels ${darkPixels(g, 100, band)}`);
  const labelled = gridRaster(tiles.slice(0, 2), {
    cols: 2,
    colLabels: ["source", "toggle glasses"],
    rowLabels: ["face 1"],
  });
  assert(darkPixels(labelled, 100, [0, 0, labelled.width, 14]) > 40, "column headers drawn");
  assert(darkPixels(labelled, 100, [0, 14, 40, labelled.height]) > 20, "row label drawn");
});
