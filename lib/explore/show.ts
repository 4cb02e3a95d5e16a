/**
 * `showExplorer()`: what a notebook cell calls to edit faces live. It loads the editors that exist
 * (ID-Style's two shipped presets and every trained baseline), starts the endpoint on 127.0.0.1,
 * and displays the page (lib/explore/html.ts) with the first frame, plus a PNG of that frame for
 * viewers that show no HTML. Calling it again replaces the previous explorer's endpoint.
 *
 * The saved output follows the controls: once frames stop arriving for SAVE_LAST_FRAME_MS, the
 * kernel replaces the cell's output (its display_id) with the page built on the last frame and that
 * frame's PNG, so a notebook saved and reopened without a kernel shows the last image and settings.
 */
import * as tf from "@tensorflow/tfjs";
import { loadSynthFace, type SynthFace } from "../world/synthface/world.ts";
import type { Dataset } from "../data/dataset.ts";
import { loadEditor } from "../io/checkpoint.ts";
import { SHIPPED_CHECKPOINTS } from "../train/shipped.ts";
import { BASELINES, loadBaseline } from "../baselines/load.ts";
import type { ExplorerEditor } from "./strength.ts";
import { type ExplorerFrame, ExplorerSession, type FaceSource } from "./session.ts";
import { type ExplorerServer, serveExplorer } from "./server.ts";
import { explorerHtml } from "./html.ts";
import { displayOutput, type MimeOutput } from "../viz/display.ts";
import { decodePngDataUrl } from "./png_data.ts";
import { encodePng, gridRaster } from "../viz/png.ts";
import { encodeBase64 } from "../viz/base64.ts";

/** The explorer's method names, in its menu's order. */
export const EXPLORER_METHODS = [
  "idstyle-official",
  "idstyle-paper",
  ...BASELINES,
] as const;

export interface ExplorerConfig {
  world?: SynthFace;
  /** Test faces come from its test split (face "test:<i>"). */
  dataset?: Dataset;
  /** Latents to explore besides the test set, W+ [N, L, D] (face "given:<i>"). */
  latents?: tf.Tensor3D;
  /** The first frame's settings. */
  face?: string;
  method?: string;
  strengths?: Readonly<Record<string, number>>;
  topK?: number;
  intensity?: number;
  /** Faces listed in the selector (default test:0..7, or given:0.. when latents are given). */
  faces?: string[];
  /** Restrict the methods (default every one that loads). */
  methods?: string[];
  port?: number;
}

export interface Explorer {
  server: ExplorerServer;
  /** The page built on the first frame. */
  html: string;
  frame: ExplorerFrame;
  /** The page (same element id) built on another frame: its images, scores and settings. */
  page(frame: ExplorerFrame): string;
  /** Methods that could not be loaded, with why. */
  missing: Record<string, string>;
}

let current: ExplorerServer | null = null;

/** Loads what exists of EXPLORER_METHODS for `world`. */
export async function loadExplorerMethods(
  world: SynthFace,
  only?: readonly string[],
): Promise<{ methods: Record<string, ExplorerEditor>; missing: Record<string, string> }> {
  const methods: Record<string, ExplorerEditor> = {};
  const missing: Record<string, string> = {};
  for (const name of only ?? EXPLORER_METHODS) {
    try {
      if (name === "idstyle-official" || name === "idstyle-paper") {
        const preset = name === "idstyle-official" ? "official" : "paper";
        methods[name] = {
          kind: "idstyle",
          editor: (await loadEditor(SHIPPED_CHECKPOINTS[preset])).editor,
        };
      } else if ((BASELINES as readonly string[]).includes(name)) {
        const { editor } = await loadBaseline(name as typeof BASELINES[number], world);
        methods[name] = { kind: "baseline", editor };
      } else {
        throw new Error(`unknown method; expected one of ${EXPLORER_METHODS.join(", ")}`);
      }
    } catch (err) {
      if (only) throw new Error(`methods: ${name}: ${(err as Error).message}`);
      missing[name] = (err as Error).message.split("\n")[0];
    }
  }
  return { methods, missing };
}

/** Builds the explorer (endpoint started) without displaying it. */
export async function createExplorer(cfg: ExplorerConfig = {}): Promise<Explorer> {
  const world = cfg.world ?? await loadSynthFace();
  const { methods, missing } = await loadExplorerMethods(world, cfg.methods);
  const faces: FaceSource = {};
  if (cfg.dataset) {
    const test = cfg.dataset.test;
    faces.test = (i) => test.latents.batch([i]);
    faces.testCount = test.latents.size;
  }
  if (cfg.latents) faces.given = cfg.latents;
  if (!faces.test && !faces.given) {
    // seeds only
  }
  const session = new ExplorerSession(world, methods, faces);
  const q = new URLSearchParams();
  const face = cfg.face ?? (faces.given ? "given:0" : faces.test ? "test:0" : "seed:0");
  q.set("face", face);
  q.set("method", cfg.method ?? Object.keys(methods)[0]);
  for (const [a, s] of Object.entries(cfg.strengths ?? {})) q.set(a, String(s));
  if (cfg.topK !== undefined) q.set("topk", String(cfg.topK));
  if (cfg.intensity !== undefined) q.set("intensity", String(cfg.intensity));
  const frame = session.frame(session.parse(q));
  if (current) await current.close();
  const server = serveExplorer(session, cfg.port ?? 0);
  current = server;
  const list = cfg.faces ??
    (faces.given
      ? Array.from({ length: faces.given.shape[0] }, (_, i) => `given:${i}`)
      : Array.from({ length: 8 }, (_, i) => (faces.test ? `test:${i}` : `seed:${i}`)));
  const id = `idstyle-explorer-${server.port}-${Date.now().toString(36)}`;
  const page = (f: ExplorerFrame) =>
    explorerHtml({
      url: server.url,
      attributes: world.attributes,
      methods: Object.keys(methods),
      faces: list,
      frame: f,
      id,
    });
  return { server, html: page(frame), frame, page, missing };
}

/** The frame as one PNG (original | edit), for viewers that show no HTML. */
export function framePng(frame: ExplorerFrame): Uint8Array {
  const a = decodePngDataUrl(frame.original), b = decodePngDataUrl(frame.edited);
  return encodePng(gridRaster([a, b], { cols: 2, colLabels: ["original", "edit"] }));
}

/** Quiet time after the last frame before the saved output is replaced by it (milliseconds). */
export const SAVE_LAST_FRAME_MS = 2000;

/** The explorer's output for one frame: the page, the frame's PNG and a text line. */
export function explorerOutput(ex: Explorer, frame: ExplorerFrame): MimeOutput {
  const missing = Object.entries(ex.missing);
  const note = missing.length
    ? `<div style="font:12px sans-serif;color:#666">not loaded: ${
      missing.map(([k, v]) => `${k} (${v})`).join("; ")
    }</div>`
    : "";
  return {
    data: {
      "text/html": ex.page(frame) + note,
      "image/png": encodeBase64(framePng(frame)),
      "text/plain": `ID-Style explorer at ${ex.server.url} (the controls need a running kernel)`,
    },
    metadata: {},
  };
}

/**
 * Calls `fn` with the latest value once `ms` pass without a new one (the timer does not keep the
 * process alive).
 */
export function debounceLatest<T>(ms: number, fn: (x: T) => void): (x: T) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (x: T) => {
    if (timer !== undefined) clearTimeout(timer);
    const t = setTimeout(() => {
      timer = undefined;
      fn(x);
    }, ms);
    Deno.unrefTimer(t);
    timer = t;
  };
}

/** Creates the explorer and displays it in the notebook; its saved output follows the controls. */
export async function showExplorer(cfg: ExplorerConfig = {}): Promise<Explorer> {
  const ex = await createExplorer(cfg);
  const displayId = `${ex.server.url}-${crypto.randomUUID()}`;
  await displayOutput(explorerOutput(ex, ex.frame), { displayId });
  ex.server.onFrame = debounceLatest(SAVE_LAST_FRAME_MS, (frame: ExplorerFrame) => {
    displayOutput(explorerOutput(ex, frame), { displayId, update: true }).catch(() => {});
  });
  return ex;
}
