/**
 * The explorer's state and its one operation: a parameter set (face, method, a strength per
 * attribute, top-k, intensity) -> the edit's image beside the original, with the oracle's labels,
 * the oracle identity similarity, FRS and both classifiers' verdicts. Parameters arrive as URL
 * query strings from the explorer's page; every bad value is refused with a message naming it.
 */
import * as tf from "@tensorflow/tfjs";
import type { SynthFace } from "../world/synthface/world.ts";
import { encodePng, toRasters } from "../viz/png.ts";
import { encodeBase64 } from "../viz/base64.ts";
import { type ExplorerEditor, MAX_STRENGTH, strengthEdit } from "./strength.ts";
import { EditMemo } from "./memo.ts";

/** Where the explorer's faces come from. */
export interface FaceSource {
  /** Test-set W+ latents by index (the dataset's mixed test latents). */
  test?: (index: number) => tf.Tensor3D;
  testCount?: number;
  /** Latents passed in by the notebook, [N, L, D]. */
  given?: tf.Tensor3D;
}

export interface ExplorerParams {
  /** "test:<i>", "seed:<n>" or "given:<i>". */
  face: string;
  method: string;
  /** One per attribute, in [-2, 2]. */
  strengths: number[];
  topK?: number;
  intensity?: number;
}

export interface ExplorerFrame {
  params: ExplorerParams;
  /** data: URLs of the PNGs. */
  original: string;
  edited: string;
  /** Oracle labels (0/1) before and after, per attribute. */
  oracleBefore: Record<string, number>;
  oracleAfter: Record<string, number>;
  oracleIdentity: number;
  frs: number;
  /** Probabilities of the training and the evaluation classifier after the edit. */
  classifier: Record<string, number>;
  evalClassifier: Record<string, number>;
  ms: number;
}

export class ParamError extends Error {}

/** A face's latent and what every frame compares against: its PNG, identity embedding, oracle. */
interface Original {
  w: tf.Tensor3D;
  png: string;
  /** Identity-network embedding [1, E] and oracle identity factors [1, K] of the original. */
  id: tf.Tensor2D;
  oracleId: tf.Tensor2D;
  oracleLabels: Float32Array;
}

export interface ExplorerOptions {
  /** Display size of the images (default 256). */
  size?: number;
}

export class ExplorerSession {
  private readonly originals = new Map<string, Original>();
  private readonly memos = new Map<string, EditMemo>();
  readonly size: number;

  constructor(
    readonly world: SynthFace,
    readonly methods: Readonly<Record<string, ExplorerEditor>>,
    readonly faces: FaceSource,
    opts: ExplorerOptions = {},
  ) {
    if (Object.keys(methods).length === 0) throw new ParamError("methods: none given");
    this.size = opts.size ?? 256;
  }

  get attributes(): readonly string[] {
    return this.world.attributes;
  }

  /** Parses a query string; errors name the parameter and what was expected. */
  parse(query: URLSearchParams): ExplorerParams {
    const known = new Set(["face", "method", "topk", "intensity", ...this.attributes]);
    for (const k of query.keys()) {
      if (!known.has(k)) {
        throw new ParamError(`unknown parameter "${k}"; expected ${[...known].join(", ")}`);
      }
    }
    const face = query.get("face") ?? "test:0";
    this.faceLatent(face); // validates
    const method = query.get("method") ?? Object.keys(this.methods)[0];
    if (!(method in this.methods)) {
      throw new ParamError(
        `method: expected one of ${Object.keys(this.methods).join(", ")}, got "${method}"`,
      );
    }
    const strengths = this.attributes.map((a) => {
      const v = query.get(a);
      if (v === null || v === "") return 0;
      const x = Number(v);
      if (!Number.isFinite(x) || Math.abs(x) > MAX_STRENGTH) {
        throw new ParamError(
          `${a}: expected a strength in [-${MAX_STRENGTH}, ${MAX_STRENGTH}], got "${v}"`,
        );
      }
      return x;
    });
    const D = this.world.latentDim;
    const topkRaw = query.get("topk");
    let topK: number | undefined;
    if (topkRaw !== null && topkRaw !== "" && topkRaw !== "all") {
      topK = Number(topkRaw);
      if (!Number.isInteger(topK) || topK < 1 || topK > D) {
        throw new ParamError(`topk: expected an integer in 1..${D} or "all", got "${topkRaw}"`);
      }
    }
    const intRaw = query.get("intensity");
    let intensity: number | undefined;
    if (intRaw !== null && intRaw !== "") {
      intensity = Number(intRaw);
      if (!(intensity > 0 && intensity <= 100)) {
        throw new ParamError(`intensity: expected a number in (0, 100], got "${intRaw}"`);
      }
    }
    return { face, method, strengths, topK, intensity };
  }

  /** The W+ [1, L, D] of a face reference. */
  private faceLatent(face: string): tf.Tensor3D {
    const m = /^(test|seed|given):(\d+)$/.exec(face);
    if (!m) throw new ParamError(`face: expected test:<i>, seed:<n> or given:<i>, got "${face}"`);
    const i = Number(m[2]);
    if (m[1] === "test") {
      if (!this.faces.test) throw new ParamError("face: this explorer has no test set");
      const n = this.faces.testCount ?? Infinity;
      if (i >= n) throw new ParamError(`face: test index ${i} out of range 0..${n - 1}`);
      return this.faces.test(i);
    }
    if (m[1] === "given") {
      const g = this.faces.given;
      if (!g) throw new ParamError("face: no latents were given to this explorer");
      if (i >= g.shape[0]) {
        throw new ParamError(`face: given index ${i} out of range 0..${g.shape[0] - 1}`);
      }
      return tf.slice(g, [i, 0, 0], [1, -1, -1]) as tf.Tensor3D;
    }
    return tf.tidy(() => this.world.toWPlus(this.world.mapping(this.world.sampleZ(1, i))));
  }

  private original(face: string): Original {
    let o = this.originals.get(face);
    if (!o) {
      const w = this.faceLatent(face);
      const id = tf.tidy(() => this.world.identity(this.world.synthesize(w)));
      o = {
        w,
        png: this.png(w),
        id,
        oracleId: this.world.oracle.identity(w),
        oracleLabels: this.world.oracle.labels(w).dataSync() as Float32Array,
      };
      this.originals.set(face, o);
    }
    return o;
  }

  /** The method's editor; a baseline's through its memo of single edits (memo.ts). */
  private editorFor(method: string): ExplorerEditor {
    const e = this.methods[method];
    if (e.kind !== "baseline") return e;
    let memo = this.memos.get(method);
    if (!memo) this.memos.set(method, memo = new EditMemo(e.editor));
    return { kind: "baseline", editor: memo };
  }

  private png(w: tf.Tensor3D): string {
    const img = this.world.synthesize(w, { resolution: this.size });
    const [r] = toRasters(img);
    img.dispose();
    return `data:image/png;base64,${encodeBase64(encodePng(r))}`;
  }

  /** The frame for a parameter set. */
  frame(p: ExplorerParams): ExplorerFrame {
    const t0 = performance.now();
    const o = this.original(p.face);
    const A = this.attributes;
    const edited = strengthEdit(this.editorFor(p.method), o.w, p.strengths, A, {
      topK: p.topK,
      intensity: p.intensity,
    });
    const editedPng = this.png(edited);
    // Scores of the edit only (the original's are cached), at the evaluators' own resolution.
    const scores = tf.tidy(() => {
      const img = this.world.synthesize(edited);
      const oracle = this.world.oracle;
      return {
        frs: tf.sum(tf.mul(o.id, this.world.identity(img))).dataSync()[0],
        labels: oracle.labels(edited).dataSync(),
        oracleIdentity:
          oracle.identitySimilarity(o.oracleId, oracle.identity(edited)).dataSync()[0],
        cls: tf.sigmoid(this.world.classifier(img)).dataSync(),
        ev: tf.sigmoid(this.world.evalClassifier(img)).dataSync(),
      };
    });
    edited.dispose();
    const byAttr = (v: ArrayLike<number>, off = 0) =>
      Object.fromEntries(A.map((a, m) => [a, Math.round(v[off + m] * 1000) / 1000]));
    return {
      params: p,
      original: o.png,
      edited: editedPng,
      oracleBefore: byAttr(o.oracleLabels),
      oracleAfter: byAttr(scores.labels),
      oracleIdentity: scores.oracleIdentity,
      frs: scores.frs,
      classifier: byAttr(scores.cls),
      evalClassifier: byAttr(scores.ev),
      ms: performance.now() - t0,
    };
  }

  dispose(): void {
    for (const o of this.originals.values()) tf.dispose([o.w, o.id, o.oracleId]);
    for (const m of this.memos.values()) m.dispose();
    this.memos.clear();
    this.originals.clear();
  }
}
