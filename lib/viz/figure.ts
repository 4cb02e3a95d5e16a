/**
 * Figures as one standalone SVG. Observable Plot returns a bare `<svg>` or, with a title,
 * subtitle, caption or legend, an HTML `<figure>` whose swatch legends are HTML spans. Sanitizing
 * viewers (an untrusted Jupyter notebook) strip SVG inside HTML, and a rasteriser (resvg) reads SVG
 * only, so `figureSvg` lays the parts out in a single SVG: headings, captions and other text as
 * lines, swatch legends as rows of swatches and labels, and the chart (and ramp legends) as nested
 * `<svg>` elements, on a white background. Text widths for wrapping and legend spacing come from
 * the advance widths of the font the PNGs are drawn with (DejaVu Sans, lib/viz/fonts/).
 */
import { parseHTML } from "linkedom";

/** Plot's own font stack; resvg resolves `sans-serif` to the shipped DejaVu Sans. */
export const FONT_FAMILY = "system-ui, sans-serif";

/** DejaVu Sans advance widths of U+0020..U+007E in 1/1000 em (the font's hmtx table). */
const ASCII_ADVANCE = (
  "318 401 460 838 636 950 780 275 390 390 500 838 318 361 318 337 636 636 636 636 636 636 636 " +
  "636 636 636 337 337 838 838 838 531 1000 684 686 698 770 632 575 775 752 295 295 656 557 863 " +
  "748 787 603 787 695 635 611 732 684 989 685 611 685 390 337 390 838 500 500 613 635 550 635 " +
  "615 352 635 634 278 278 579 278 974 634 612 635 635 411 521 392 634 592 818 592 592 525 636 " +
  "337 636 838"
).split(" ").map(Number);

/** Advances of a few non-ASCII characters Plot and the notebooks use (minus, arrows, times...). */
const OTHER_ADVANCE: Record<string, number> = {
  "−": 838,
  "×": 838,
  "→": 838,
  "←": 838,
  "↑": 838,
  "↓": 838,
  "±": 838,
  "…": 1000,
  "—": 1000,
  "–": 500,
  "·": 318,
  "°": 500,
};

/** Width in px of `text` set in DejaVu Sans at `size` px (no kerning; others at 0.7 em). */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c < 127 ? ASCII_ADVANCE[c - 32] : OTHER_ADVANCE[ch] ?? 700;
  }
  return (w * size) / 1000;
}

/** Greedy word wrap to lines at most `width` px wide (a longer word stays on its own line). */
export function wrapText(text: string, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/).filter((w) => w.length > 0)) {
      const next = line ? `${line} ${word}` : word;
      if (line && textWidth(next, size) > width) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** Text styles of the parts of a figure (px). */
const STYLE = {
  title: { size: 14, weight: "bold", fill: "black" },
  h2: { size: 15, weight: "bold", fill: "black" },
  h3: { size: 12, weight: "normal", fill: "#555" },
  caption: { size: 12, weight: "normal", fill: "#333" },
  text: { size: 12, weight: "normal", fill: "black" },
  legend: { size: 10, weight: "normal", fill: "black" },
} as const;

type TextStyle = (typeof STYLE)[keyof typeof STYLE];

interface Part {
  height: number;
  /** SVG markup placed at (0, y). */
  draw(y: number): string;
}

function attrNum(el: Element, name: string): number | undefined {
  const v = parseFloat(el.getAttribute(name) ?? "");
  return Number.isFinite(v) ? v : undefined;
}

/** Size of an `<svg>` element from its width/height attributes, else its viewBox. */
function svgSize(el: Element): [number, number] {
  const vb = (el.getAttribute("viewBox") ?? "").trim().split(/[\s,]+/).map(Number);
  const w = attrNum(el, "width") ?? (vb.length === 4 ? vb[2] : 300);
  const h = attrNum(el, "height") ?? (vb.length === 4 ? vb[3] : 150);
  return [w, h];
}

/**
 * Lines of text with `top` and `bottom` margins: wrapped to the figure's width, or (`pre`) kept
 * line for line with their spaces.
 */
function textPart(
  text: string,
  style: TextStyle,
  width: number,
  top = 0,
  bottom = 4,
  pre = false,
): Part | null {
  const t = pre ? text.replace(/^\n+|\s+$/g, "") : text.trim();
  if (!t) return null;
  const lines = pre
    ? t.split("\n").flatMap((l) =>
      textWidth(l, style.size) > width - 8 ? wrapText(l, style.size, width - 8) : [l]
    )
    : wrapText(t, style.size, width - 8);
  const space = pre ? ` xml:space="preserve"` : "";
  const lh = Math.round(style.size * 1.3);
  return {
    height: top + lines.length * lh + bottom,
    draw: (y) =>
      lines.map((line, i) =>
        `<text x="4" y="${y + top + (i + 1) * lh - Math.round(style.size * 0.3)}"` +
        ` font-size="${style.size}"` +
        ` font-weight="${style.weight}" fill="${style.fill}"${space}>${escapeXml(line)}</text>`
      ).join(""),
  };
}

function svgPart(el: Element): Part {
  const [w, h] = svgSize(el);
  return {
    height: h,
    draw: (y) => {
      el.setAttribute("x", "0");
      el.setAttribute("y", String(y));
      el.setAttribute("width", String(w));
      el.setAttribute("height", String(h));
      // Plot's stylesheet sizes its <svg> with `height: auto` (for a page); nested, that would
      // stretch it in browsers, and an inline style outranks Plot's zero-specificity rules.
      el.setAttribute("style", `width: ${w}px; height: ${h}px; max-width: none`);
      return el.outerHTML;
    },
  };
}

/** Plot's swatch legend: spans of a small `<svg>` swatch and a label, wrapped in rows. */
function swatchPart(el: Element, width: number): Part {
  const size = STYLE.legend.size;
  const items = [...el.children].filter((c) => c.tagName.toLowerCase() === "span").map((span) => {
    const sw = span.querySelector("svg");
    const [w, h] = sw ? svgSize(sw) : [15, 15];
    return { sw, w, h, label: (span.textContent ?? "").trim() };
  });
  const rowH = Math.max(15, ...items.map((i) => i.h)) + 6;
  const rows: { x: number; item: (typeof items)[number] }[][] = [[]];
  let x = 4;
  for (const item of items) {
    const iw = item.w + size / 2 + textWidth(item.label, size) + size;
    if (x > 4 && x + iw > width) {
      rows.push([]);
      x = 4;
    }
    rows[rows.length - 1].push({ x, item });
    x += iw;
  }
  return {
    height: rows.length * rowH + 6,
    draw: (y) =>
      rows.map((row, r) =>
        row.map(({ x, item }) => {
          const cy = y + 3 + r * rowH + rowH / 2;
          let out = "";
          if (item.sw) {
            item.sw.setAttribute("x", String(x));
            item.sw.setAttribute("y", String(cy - item.h / 2));
            item.sw.setAttribute("overflow", "visible");
            out += item.sw.outerHTML;
          }
          return out +
            `<text x="${x + item.w + size / 2}" y="${cy + size * 0.35}" font-size="${size}"` +
            ` fill="black">${escapeXml(item.label)}</text>`;
        }).join("")
      ).join(""),
  };
}

function partsOf(node: Node, width: number, out: Part[]): void {
  for (const child of [...node.childNodes]) {
    if (child.nodeType === 3) {
      const p = textPart(child.textContent ?? "", STYLE.text, width);
      if (p) out.push(p);
      continue;
    }
    if (child.nodeType !== 1) continue;
    const el = child as Element;
    const tag = el.tagName.toLowerCase();
    const cls = el.getAttribute("class") ?? "";
    if (tag === "style" || tag === "script") continue;
    if (tag === "svg") out.push(svgPart(el));
    else if (/-swatches\b/.test(cls)) out.push(swatchPart(el, width));
    else if (el.querySelector("svg")) partsOf(el, width, out);
    else {
      const style = tag === "h2" || tag === "h1"
        ? STYLE.h2
        : tag === "h3"
        ? STYLE.h3
        : tag === "figcaption"
        ? STYLE.caption
        : STYLE.text;
      const text = el.textContent ?? "";
      const p = tag === "figcaption"
        ? textPart(text, style, width, 6, 2)
        : textPart(text, style, width, 0, 4, tag === "pre");
      if (p) out.push(p);
    }
  }
}

/**
 * One standalone SVG (with xmlns, a white background and black `currentColor`) for a Plot
 * result or other markup holding SVG: a bare `<svg>`, a Plot `<figure>`, or an HTML fragment
 * such as a `<pre>` line above a chart. An optional `title` is drawn as a heading on top.
 */
export function figureSvg(markup: string, title?: string): string {
  const { document } = parseHTML(`<!DOCTYPE html><html><body>${markup}</body></html>`);
  const body = document.body as unknown as Element;
  const svgs = [...body.querySelectorAll("svg")];
  const width = Math.max(
    120,
    ...svgs.filter((s) => !s.parentElement?.closest("svg") && !isSwatch(s)).map((s) =>
      svgSize(s)[0]
    ),
  );
  const parts: Part[] = [];
  if (title) {
    const p = textPart(title, STYLE.title, width, 2, 6);
    if (p) parts.push(p);
  }
  partsOf(body, width, parts);
  let y = 0;
  const drawn = parts.map((p) => {
    const s = p.draw(y);
    y += p.height;
    return s;
  }).join("");
  const height = Math.max(1, Math.ceil(y));
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"` +
    ` width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"` +
    ` font-family="${FONT_FAMILY}" color="black" style="color: black; background: white">` +
    `<rect width="${width}" height="${height}" fill="white"/>${drawn}</svg>`;
}

function isSwatch(svg: Element): boolean {
  return /-swatch\b/.test(svg.parentElement?.getAttribute("class") ?? "");
}
