/**
 * Typed configuration of ID-Style: the editor (LGD + IAIP + EDA), its losses and its optimizer,
 * with the two presets of DESIGN.md section 3:
 *
 * - `paper`: what the paper describes (learned layer embedding sigmoid(E_m), direction loss of
 *   eq. 7 summed over attributes and rows, per-attribute terms summed over m, identity loss on
 *   every attribute, AdaBelief at a constant lr 1e-3).
 * - `official`: what the authors' public code does (LayerNorm on the encoded input, fixed
 *   StyleFlow layer masks with ReLU, direction loss 1 - mean |cos|, per-attribute terms averaged
 *   over m, identity loss on one attribute per step, AdaBelief with decoupled weight decay 1e-5
 *   and cosine annealing from 1e-3 to 1e-8 after 1,000 warm-up steps).
 *
 * Every difference is a switch, so either can be run with any of the other's choices.
 */

/** The paper's four attributes, in the order of its tables. */
export const PAPER_ATTRIBUTES = ["gender", "glasses", "age", "smile"] as const;

/**
 * StyleFlow's layer masks as used by the official code (rows of W+ an attribute may move):
 * gender rows 0-7, glasses 2-3, age 4-7, smile 4-5.
 */
export const STYLEFLOW_LAYER_ROWS: Readonly<Record<string, readonly number[]>> = {
  gender: [0, 1, 2, 3, 4, 5, 6, 7],
  glasses: [2, 3],
  age: [4, 5, 6, 7],
  smile: [4, 5],
};

export type LayerEmbeddingKind = "learned" | "fixed" | "none";

export interface EditorConfig {
  /** Attribute names; their count is M. Default: the paper's four. */
  attributes: readonly string[];
  /** Rows of W+ (18 for StyleGAN2-FFHQ at 1024). */
  numLayers: number;
  /** Width of w (512). */
  latentDim: number;
  /** Output width of the first row-wise FC of the IAIP (512). */
  hiddenDim: number;
  /** Concatenate a sinusoidal layer encoding to every row of w+ (eq. 1). false: ablation E. */
  inputEncoding: boolean;
  /** LayerNorm over the (encoded) input row, as in the official code. */
  inputLayerNorm: boolean;
  /** The column-wise FC (18 x 18) that mixes rows, MLP-Mixer style. false: ablation D. */
  mixer: boolean;
  /**
   * How much of an edit each row receives (eq. 5): `learned` sigmoid(E_m) (paper), `fixed`
   * ReLU of fixed masks (official; `fixedLayerRows` or the StyleFlow rows), `none` every row
   * fully (ablation F).
   */
  layerEmbedding: LayerEmbeddingKind;
  /** Rows each attribute may move when `layerEmbedding` is `fixed`; null: STYLEFLOW_LAYER_ROWS. */
  fixedLayerRows: Readonly<Record<string, readonly number[]>> | null;
  /** Initial value of every E_m entry when learned (0: sigmoid 0.5 on every row). */
  layerEmbeddingInit: number;
  /** Standard deviation of the normal initialisation of each P_m (official: 0.1). */
  lgdInitStd: number;
  /** Seed of the parameter initialisation. */
  seed: number;
}

export interface LossWeights {
  /** lambda_nb, neighbourhood (eq. 8). Paper: 0.3. */
  nb: number;
  /** lambda_direction (eq. 7). Paper: 1. */
  direction: number;
  /** lambda_sparsity (eq. 6). Paper: 1. */
  sparsity: number;
  /** lambda_class (eq. 9). Paper: 2. */
  class: number;
  /** lambda_id (eq. 10). Paper: 5. */
  id: number;
}

export type LossName = keyof LossWeights;
export const LOSS_NAMES: readonly LossName[] = ["nb", "direction", "sparsity", "class", "id"];

export interface LossConfig {
  weights: LossWeights;
  /**
   * `paper`: sum over m and rows i of 1 - cos(l_ft^i * P_m, P_m), averaged over the batch (eq. 7).
   * `official`: 1 - mean over (batch, m, i) of |cos(l_ft^i * P_m, P_m)|.
   */
  direction: "paper" | "official";
  /**
   * How the per-attribute terms (sparsity, nb, class, id) are reduced over m: `sum` as in
   * eq. 6 and 8 (paper), `mean` as in the official code. Batch reductions are always means.
   */
  attributeReduction: "sum" | "mean";
  /** Identity loss on `every` edited output (paper), or on one attribute, step mod M (official). */
  identity: "every" | "cycle";
}

export type LrSchedule =
  | { kind: "constant" }
  | {
    /** Linear warm-up from minLr to lr, then cosine annealing to minLr over the cycle. */
    kind: "cosine-warmup";
    warmupSteps: number;
    minLr: number;
    /** Steps in one cycle; null: the run's total steps (the official setting). */
    cycleSteps: number | null;
  };

export interface OptimConfig {
  /** Peak learning rate (paper: 1e-3). */
  lr: number;
  /** AdaBelief beta1 (paper: 0.98). */
  beta1: number;
  /** AdaBelief beta2 (paper: 0.98). */
  beta2: number;
  /** AdaBelief epsilon (adabelief-pytorch default and official: 1e-16). */
  eps: number;
  /** Weight decay (official: 1e-5). */
  weightDecay: number;
  /** Decoupled (AdamW-style) weight decay rather than an L2 term in the gradient. */
  decoupledWeightDecay: boolean;
  schedule: LrSchedule;
}

export interface IDStyleConfig {
  preset: string;
  model: EditorConfig;
  loss: LossConfig;
  optim: OptimConfig;
}

export type PresetName = "paper" | "official";

const BASE_MODEL: EditorConfig = {
  attributes: PAPER_ATTRIBUTES,
  numLayers: 18,
  latentDim: 512,
  hiddenDim: 512,
  inputEncoding: true,
  inputLayerNorm: false,
  mixer: true,
  layerEmbedding: "learned",
  fixedLayerRows: null,
  layerEmbeddingInit: 0,
  lgdInitStd: 0.1,
  seed: 1234,
};

const PAPER_WEIGHTS: LossWeights = { nb: 0.3, direction: 1, sparsity: 1, class: 2, id: 5 };

export const PRESETS: Readonly<Record<PresetName, IDStyleConfig>> = {
  paper: {
    preset: "paper",
    model: BASE_MODEL,
    loss: {
      weights: PAPER_WEIGHTS,
      direction: "paper",
      attributeReduction: "sum",
      identity: "every",
    },
    optim: {
      lr: 1e-3,
      beta1: 0.98,
      beta2: 0.98,
      eps: 1e-16,
      weightDecay: 0,
      decoupledWeightDecay: true,
      schedule: { kind: "constant" },
    },
  },
  official: {
    preset: "official",
    model: { ...BASE_MODEL, inputLayerNorm: true, layerEmbedding: "fixed" },
    loss: {
      weights: PAPER_WEIGHTS,
      direction: "official",
      attributeReduction: "mean",
      identity: "cycle",
    },
    optim: {
      lr: 1e-3,
      beta1: 0.98,
      beta2: 0.98,
      eps: 1e-16,
      weightDecay: 1e-5,
      decoupledWeightDecay: true,
      schedule: { kind: "cosine-warmup", warmupSteps: 1000, minLr: 1e-8, cycleSteps: null },
    },
  },
};

/** The ablations of the paper's Table 3 (B-F), each one switch away from a preset. */
export type Ablation =
  | "no-direction-loss" // B
  | "no-sparsity-loss" // C
  | "no-mixer" // D
  | "no-input-encoding" // E
  | "no-layer-embedding"; // F

export const ABLATIONS: readonly Ablation[] = [
  "no-direction-loss",
  "no-sparsity-loss",
  "no-mixer",
  "no-input-encoding",
  "no-layer-embedding",
];

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  if (typeof base !== "object" || base === null || Array.isArray(base)) return over as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const b = (base as Record<string, unknown>)[k];
    out[k] = typeof v === "object" && v !== null && !Array.isArray(v) && typeof b === "object" &&
        b !== null && !Array.isArray(b) && k !== "schedule" && k !== "fixedLayerRows"
      ? merge(b, v as DeepPartial<typeof b>)
      : v;
  }
  return out as T;
}

/** A preset, optionally with overrides and ablations applied; validated. */
export function makeConfig(
  name: PresetName,
  overrides?: DeepPartial<IDStyleConfig>,
  ablations: readonly Ablation[] = [],
): IDStyleConfig {
  if (!(name in PRESETS)) {
    throw new RangeError(
      `preset: expected one of ${Object.keys(PRESETS).join(", ")}, got "${name}"`,
    );
  }
  let cfg = merge(structuredClone(PRESETS[name]) as IDStyleConfig, overrides);
  for (const a of ablations) cfg = applyAblation(cfg, a);
  validateConfig(cfg);
  return cfg;
}

export function applyAblation(cfg: IDStyleConfig, ablation: Ablation): IDStyleConfig {
  const c = structuredClone(cfg) as IDStyleConfig;
  switch (ablation) {
    case "no-direction-loss":
      c.loss.weights.direction = 0;
      break;
    case "no-sparsity-loss":
      c.loss.weights.sparsity = 0;
      break;
    case "no-mixer":
      c.model.mixer = false;
      break;
    case "no-input-encoding":
      c.model.inputEncoding = false;
      break;
    case "no-layer-embedding":
      c.model.layerEmbedding = "none";
      break;
    default:
      throw new RangeError(`ablation: expected one of ${ABLATIONS.join(", ")}, got "${ablation}"`);
  }
  c.preset = `${c.preset}+${ablation}`;
  return c;
}

/** Rows each attribute may move under a `fixed` layer embedding, as an [M, numLayers] 0/1 mask. */
export function fixedLayerMask(cfg: EditorConfig): number[][] {
  const rows = cfg.fixedLayerRows ?? STYLEFLOW_LAYER_ROWS;
  return cfg.attributes.map((a) => {
    const r = rows[a];
    if (!r) {
      throw new RangeError(
        `fixedLayerRows: no rows for attribute "${a}"; give fixedLayerRows for every attribute`,
      );
    }
    const m = new Array(cfg.numLayers).fill(0);
    for (const i of r) {
      if (!Number.isInteger(i) || i < 0 || i >= cfg.numLayers) {
        throw new RangeError(
          `fixedLayerRows.${a}: expected row indices in 0..${cfg.numLayers - 1}, got ${i}`,
        );
      }
      m[i] = 1;
    }
    return m;
  });
}

function need(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`config.${what}`);
}

export function validateEditorConfig(m: EditorConfig): void {
  need(
    Array.isArray(m.attributes) && m.attributes.length >= 1,
    "model.attributes: expected at least one name",
  );
  need(
    new Set(m.attributes).size === m.attributes.length,
    "model.attributes: expected unique names",
  );
  for (
    const [k, v] of [["numLayers", m.numLayers], ["latentDim", m.latentDim], [
      "hiddenDim",
      m.hiddenDim,
    ]] as const
  ) {
    need(Number.isInteger(v) && v > 0, `model.${k}: expected a positive integer, got ${v}`);
  }
  need(
    ["learned", "fixed", "none"].includes(m.layerEmbedding),
    `model.layerEmbedding: expected learned | fixed | none, got ${m.layerEmbedding}`,
  );
  if (m.layerEmbedding === "fixed") fixedLayerMask(m);
  need(m.lgdInitStd > 0, `model.lgdInitStd: expected > 0, got ${m.lgdInitStd}`);
  need(Number.isInteger(m.seed), `model.seed: expected an integer, got ${m.seed}`);
}

export function validateConfig(cfg: IDStyleConfig): void {
  validateEditorConfig(cfg.model);
  for (const [k, v] of Object.entries(cfg.loss.weights)) {
    need(Number.isFinite(v) && v >= 0, `loss.weights.${k}: expected a number >= 0, got ${v}`);
  }
  need(
    ["paper", "official"].includes(cfg.loss.direction),
    `loss.direction: expected paper | official`,
  );
  need(
    ["sum", "mean"].includes(cfg.loss.attributeReduction),
    `loss.attributeReduction: expected sum | mean`,
  );
  need(["every", "cycle"].includes(cfg.loss.identity), `loss.identity: expected every | cycle`);
  const o = cfg.optim;
  need(o.lr > 0, `optim.lr: expected > 0, got ${o.lr}`);
  need(o.beta1 >= 0 && o.beta1 < 1, `optim.beta1: expected in [0, 1), got ${o.beta1}`);
  need(o.beta2 >= 0 && o.beta2 < 1, `optim.beta2: expected in [0, 1), got ${o.beta2}`);
  need(o.eps >= 0, `optim.eps: expected >= 0, got ${o.eps}`);
  need(o.weightDecay >= 0, `optim.weightDecay: expected >= 0, got ${o.weightDecay}`);
}
