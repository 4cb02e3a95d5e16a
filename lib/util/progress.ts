/**
 * Progress for long work: a bar with rate and ETA redrawn in place in a terminal, a line every
 * ~10% when output is piped (CI logs), and a display updated in place in Jupyter (Deno kernel).
 */

export interface ProgressOptions {
  /** What is counted ("steps", "images"). */
  unit?: string;
  /** Suppress all output. */
  silent?: boolean;
}

type JupyterDisplay = (
  obj: unknown,
  opts?: { raw?: boolean; update?: boolean; display_id?: string },
) => Promise<void>;

/** Deno.jupyter.display inside the Deno kernel; null elsewhere (where reading Deno.jupyter throws). */
export function jupyterDisplay(): JupyterDisplay | null {
  try {
    const j = (Deno as unknown as { jupyter?: { display?: JupyterDisplay } }).jupyter;
    return typeof j?.display === "function" ? j.display : null;
  } catch {
    return null;
  }
}

let ids = 0;

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class Progress {
  private done = 0;
  /** Work done before this process started (a resumed run): left out of the rate and the ETA. */
  private base = 0;
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastDecile = -1;
  private note = "";
  private printedNote = "";
  private readonly tty: boolean;
  private readonly display: JupyterDisplay | null;
  private readonly displayId = `idstyle-progress-${Date.now()}-${ids++}`;

  constructor(readonly label: string, readonly total: number, readonly opts: ProgressOptions = {}) {
    this.display = opts.silent ? null : jupyterDisplay();
    this.tty = !opts.silent && !this.display && Deno.stderr.isTerminal();
  }

  /** Advances by `n` and sets a short note (for example the current loss). */
  tick(n = 1, note?: string): void {
    this.done = Math.min(this.total, this.done + n);
    if (note !== undefined) this.note = note;
    this.draw(false);
  }

  /**
   * Starts the bar at `done` items finished by an earlier process (a resumed run), so the rate and
   * the ETA count only this process's work.
   */
  resume(done: number, note?: string): void {
    this.done = Math.min(this.total, done);
    this.base = this.done;
    if (note !== undefined) this.note = note;
    this.draw(false);
  }

  set(done: number, note?: string): void {
    this.done = Math.min(this.total, done);
    if (note !== undefined) this.note = note;
    this.draw(false);
  }

  finish(note?: string): void {
    if (note !== undefined) this.note = note;
    this.done = this.total;
    this.draw(true);
    if (this.tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }

  /** Seconds since the start. */
  elapsed(): number {
    return (performance.now() - this.start) / 1000;
  }

  line(): string {
    const frac = this.total ? this.done / this.total : 1;
    const el = this.elapsed();
    const rate = (this.done - this.base) / Math.max(el, 1e-9);
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const width = 24;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const unit = this.opts.unit ?? "it";
    return `${this.label} [${bar}] ${this.done}/${this.total} ${(100 * frac).toFixed(0)}% ` +
      // slow work (a real-world training step) reads better as seconds per item
      `${
        rate > 0 && rate < 1
          ? `${(1 / rate).toFixed(1)} s/${unit.replace(/s$/, "")}`
          : `${rate.toFixed(rate < 10 ? 1 : 0)} ${unit}/s`
      } elapsed ${formatDuration(el)} eta ${formatDuration(eta)}` +
      (this.note ? `  ${this.note}` : "");
  }

  private draw(final: boolean): void {
    if (this.opts.silent) return;
    const now = performance.now();
    if (this.display) {
      if (!final && now - this.lastDraw < 500) return;
      this.lastDraw = now;
      void this.display({ "text/plain": this.line() }, {
        raw: true,
        display_id: this.displayId,
        update: this.lastDecile >= 0,
      });
      this.lastDecile = 0;
      return;
    }
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      Deno.stderr.writeSync(new TextEncoder().encode(`\r${this.line()}\x1b[K`));
      return;
    }
    const decile = Math.floor((10 * this.done) / Math.max(this.total, 1));
    if (
      decile > this.lastDecile ||
      (final && decile === this.lastDecile && this.note !== this.printedNote)
    ) {
      this.printedNote = this.note;
      this.lastDecile = decile;
      console.error(this.line());
    }
  }
}
