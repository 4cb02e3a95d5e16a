/**
 * The explorer's page: controls (face, method, one strength slider per attribute, top-k,
 * intensity), the original and the edit side by side, and the scores under them. Its script asks
 * the kernel's endpoint for a frame on every change (at most one request in flight; the latest
 * settings win) and swaps the images in. Without a running kernel (a saved notebook reopened, or a
 * static viewer) the images of the frame it was made with stay, and a line says that the controls
 * need a running kernel.
 */
import type { ExplorerFrame } from "./session.ts";
import { MAX_STRENGTH } from "./strength.ts";

export interface ExplorerPageSpec {
  url: string;
  attributes: readonly string[];
  methods: readonly string[];
  /** Face choices shown in the selector (test:<i>, seed:<n>, given:<i>); free text is accepted too. */
  faces: readonly string[];
  frame: ExplorerFrame;
  /** Unique per output, so that several explorers can live in one notebook. */
  id: string;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A table of the frame's scores (also rendered by the script after each frame). */
export function scoresTable(f: ExplorerFrame, attributes: readonly string[]): string {
  const cell = (x: number) => `<td style="padding:0 6px;text-align:right">${x.toFixed(2)}</td>`;
  const rows = attributes.map((a) =>
    `<tr><td style="padding:0 6px">${esc(a)}</td>${cell(f.oracleBefore[a])}${
      cell(f.oracleAfter[a])
    }${cell(f.classifier[a])}${cell(f.evalClassifier[a])}</tr>`
  ).join("");
  return `<table style="font:12px sans-serif;border-collapse:collapse"><tr>` +
    `<th style="padding:0 6px;text-align:left">attribute</th><th>oracle before</th><th>oracle after</th>` +
    `<th>classifier p</th><th>eval classifier p</th></tr>${rows}</table>` +
    `<div style="font:12px sans-serif;margin-top:4px">oracle identity ${
      f.oracleIdentity.toFixed(3)
    } · ` +
    `FRS ${f.frs.toFixed(3)} · ${f.ms.toFixed(0)} ms</div>`;
}

export function explorerHtml(spec: ExplorerPageSpec): string {
  const { id, frame: f } = spec;
  const p = f.params;
  const slider = (a: string, m: number) =>
    `<label style="display:block">${esc(a)} <input type="range" data-attr="${
      esc(a)
    }" min="-${MAX_STRENGTH}" ` +
    `max="${MAX_STRENGTH}" step="0.1" value="${
      p.strengths[m]
    }" style="width:160px;vertical-align:middle">` +
    ` <span>${p.strengths[m].toFixed(1)}</span></label>`;
  const option = (v: string, sel: string) =>
    `<option value="${esc(v)}"${v === sel ? " selected" : ""}>${esc(v)}</option>`;
  const faces = spec.faces.includes(p.face) ? spec.faces : [p.face, ...spec.faces];
  const topks = ["all", "1", "5", "10", "50", "150", "300"];
  return `<div id="${id}" class="idstyle-explorer" style="font:13px sans-serif;display:flex;gap:16px;flex-wrap:wrap">
<div style="min-width:220px">
<label style="display:block">face <select data-k="face">${
    faces.map((x) => option(x, p.face)).join("")
  }</select></label>
<label style="display:block">method <select data-k="method">${
    spec.methods.map((x) => option(x, p.method)).join("")
  }</select></label>
${spec.attributes.map(slider).join("\n")}
<label style="display:block">top-k <select data-k="topk">${
    topks.map((x) => option(x, String(p.topK ?? "all"))).join("")
  }</select></label>
<label style="display:block">intensity <input type="range" data-k="intensity" min="0.5" max="10" step="0.5" value="${
    p.intensity ?? 1
  }" style="width:120px;vertical-align:middle"> <span>${
    (p.intensity ?? 1).toFixed(1)
  }</span></label>
<div data-k="status" style="color:#a40;margin-top:6px">The controls need a running kernel: run this cell to use them.</div>
</div>
<div><div style="display:flex;gap:8px">
<figure style="margin:0"><img data-k="original" src="${f.original}" width="256" height="256" alt="original"><figcaption>original</figcaption></figure>
<figure style="margin:0"><img data-k="edited" src="${f.edited}" width="256" height="256" alt="edit"><figcaption>edit</figcaption></figure>
</div><div data-k="scores">${scoresTable(f, spec.attributes)}</div></div>
</div>
<script>
(() => {
  const root = document.getElementById(${JSON.stringify(id)});
  if (!root || root.dataset.live) return;
  root.dataset.live = "1";
  const url = ${JSON.stringify(spec.url)};
  const attrs = ${JSON.stringify(spec.attributes)};
  const q = (k) => root.querySelector('[data-k="' + k + '"]');
  const status = q("status");
  let busy = false, pending = false;
  const fmt = (x) => Number(x).toFixed(2);
  const table = (f) => {
    const rows = attrs.map((a) => "<tr><td style='padding:0 6px'>" + a + "</td><td>" + fmt(f.oracleBefore[a]) + "</td><td>" +
      fmt(f.oracleAfter[a]) + "</td><td>" + fmt(f.classifier[a]) + "</td><td>" + fmt(f.evalClassifier[a]) + "</td></tr>").join("");
    return "<table style='font:12px sans-serif'><tr><th>attribute</th><th>oracle before</th><th>oracle after</th><th>classifier p</th><th>eval classifier p</th></tr>" +
      rows + "</table><div style='font:12px sans-serif;margin-top:4px'>oracle identity " + f.oracleIdentity.toFixed(3) +
      " · FRS " + f.frs.toFixed(3) + " · " + f.ms.toFixed(0) + " ms</div>";
  };
  const query = () => {
    const s = new URLSearchParams();
    s.set("face", q("face").value);
    s.set("method", q("method").value);
    root.querySelectorAll("input[data-attr]").forEach((el) => s.set(el.dataset.attr, el.value));
    s.set("topk", q("topk").value);
    s.set("intensity", q("intensity").value);
    return s.toString();
  };
  const request = async () => {
    if (busy) { pending = true; return; }
    busy = true;
    const t0 = performance.now();
    try {
      const r = await fetch(url + "/frame?" + query());
      const f = await r.json();
      if (!r.ok) { status.textContent = f.error; status.style.color = "#a00"; }
      else {
        q("original").src = f.original;
        q("edited").src = f.edited;
        q("scores").innerHTML = table(f);
        status.textContent = "live · redraw " + (performance.now() - t0).toFixed(0) + " ms (kernel " + f.ms.toFixed(0) + " ms)";
        status.style.color = "#070";
        root.dataset.frames = String(Number(root.dataset.frames || 0) + 1);
      }
    } catch (e) {
      status.textContent = "The controls need a running kernel (its endpoint " + url + " does not answer): run this cell again.";
      status.style.color = "#a40";
    } finally {
      busy = false;
      if (pending) { pending = false; request(); }
    }
  };
  root.querySelectorAll("input,select").forEach((el) => {
    el.addEventListener("input", () => {
      const span = el.parentElement.querySelector("span");
      if (span) span.textContent = Number(el.value).toFixed(1);
      request();
    });
  });
  fetch(url + "/health").then((r) => {
    if (r.ok) { status.textContent = "live: move a control"; status.style.color = "#070"; }
  }).catch(() => {});
})();
</script>`;
}
