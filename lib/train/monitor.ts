/**
 * Live view of a training run: in a terminal, a progress bar with rate, ETA and the last losses;
 * in Jupyter (Deno kernel), one display updated in place with the progress line and a loss plot
 * of every term (Observable Plot), redrawn at most every few seconds.
 */
import { jupyterDisplay, Progress } from "../util/progress.ts";
import { displayOutput, figureOutput } from "../viz/display.ts";
import { Plot, plotSvg } from "../viz/plot.ts";
import type { MetricRow } from "./run_dir.ts";

const TERMS = ["total", "nb", "direction", "sparsity", "class", "id"];

/** Loss curves of train rows, one line per term, log-scaled. */
export function lossPlot(
  rows: MetricRow[],
  opts: { width?: number; height?: number } = {},
): string {
  const data = rows.filter((r) => r.type === "train").flatMap((r) =>
    TERMS.filter((t) => typeof r[t] === "number" && (r[t] as number) > 0).map((t) => ({
      step: r.step,
      term: t,
      loss: r[t] as number,
    }))
  );
  return plotSvg({
    width: opts.width ?? 640,
    height: opts.height ?? 280,
    y: { type: "log", label: "loss (unweighted)", grid: true },
    x: { label: "step" },
    color: { legend: true, domain: TERMS },
    marks: [Plot.lineY(data, { x: "step", y: "loss", stroke: "term", z: "term" })],
  });
}

export class TrainingMonitor {
  private readonly progress: Progress;
  private readonly display = jupyterDisplay();
  private readonly id = `idstyle-train-${Date.now()}`;
  private rows: MetricRow[] = [];
  private lastDraw = 0;
  private shown = false;

  constructor(
    readonly title: string,
    readonly total: number,
    start: number,
    readonly silent = false,
  ) {
    // In Jupyter the monitor draws its own display; the bar is kept silent there.
    this.progress = new Progress(title, total, {
      unit: "steps",
      silent: silent || this.display !== null,
    });
    this.progress.resume(start);
  }

  step(step: number, note: string): void {
    this.progress.set(step, note);
  }

  log(row: MetricRow): void {
    this.rows.push(row);
    this.draw(false);
  }

  finish(note?: string): void {
    this.progress.finish(note);
    this.draw(true);
  }

  private draw(final: boolean): void {
    if (!this.display || this.silent) return;
    const now = performance.now();
    if (!final && now - this.lastDraw < 3000) return;
    this.lastDraw = now;
    const html = `<pre style="margin:0">${this.progress.line()}</pre>${lossPlot(this.rows)}`;
    // PNG + SVG, no HTML, so that the saved notebook shows the plot untrusted too. Live frames
    // are drawn cheaply (1x, full colour); the last one, which the notebook keeps, at 2x.
    const out = figureOutput(html, undefined, final ? {} : { scale: 1, colors: 0 });
    out.data["text/plain"] = this.progress.line();
    void displayOutput(out, { displayId: this.id, update: this.shown });
    this.shown = true;
  }
}
