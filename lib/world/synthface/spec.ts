/**
 * The synthface factors: what each one is, which rows of W+ it reads, how steep it is, and how it
 * is entangled with the others (DESIGN.md section 2.1).
 *
 * Every factor f reads a weighted mix of the rows of its layer group, x_f = sum_r rho_fr p(w_r),
 * where p(w) are W's top principal coordinates scaled to unit variance (W is strongly
 * anisotropic; in these coordinates the data are isotropic, so directions can be designed). Its
 * score is
 *
 *   s_f = v_f . x_f + gamma sum_j a_fj tanh(k_fj . x_f + c_fj),    value_f = sigmoid(kappa_f (s_f - t_f) / sd_f)
 *
 * with v_f = normalise(q_f + sum_g mix_fg q_g): q_f is f's own principal axis, and `mix` adds the
 * axes of other factors. That is the entanglement: a naive direction for an attribute (a class-mean
 * difference, an SVM normal) follows v_f and so moves the identity factors and attributes it mixes
 * in, while the clean direction q_f exists and moves f alone (up to the mild tanh terms, which also
 * make the best direction depend on where w is). t_f sets the base rate, sd_f the unit scale.
 */

export type FactorKind = "attribute" | "identity" | "nuisance";

export interface FactorSpec {
  name: string;
  kind: FactorKind;
  /** Rows of W+ read, with relative weights (normalised to sum 1). */
  rows: Readonly<Record<number, number>>;
  /** Steepness kappa of the sigmoid on the unit-variance score. */
  steepness: number;
  /** Fraction of W samples with value > 0.5 (the label rate for attributes). */
  baseRate: number;
  /** Components of other factors' axes in this factor's read direction. */
  mix?: Readonly<Record<string, number>>;
  description: string;
}

const range = (lo: number, hi: number, w = 1) =>
  Object.fromEntries(Array.from({ length: hi - lo + 1 }, (_, i) => [lo + i, w]));

/** Layer groups, as StyleGAN's: coarse (geometry, pose), middle (features), fine (colour, light). */
export const COARSE = range(0, 3);
export const MIDDLE = range(4, 7);
export const FINE = range(8, 17);

const ATTR_STEEPNESS = 5;
const ID_STEEPNESS = 1.6;

export const FACTORS: readonly FactorSpec[] = [
  // Attributes (the paper's four), read from StyleFlow's rows so that the official fixed masks fit.
  {
    name: "gender",
    kind: "attribute",
    rows: range(0, 7),
    steepness: ATTR_STEEPNESS,
    baseRate: 0.45,
    mix: { jawWidth: 0.45, browThickness: 0.35, lipThickness: -0.35, faceWidth: 0.3 },
    description:
      "1 = male (as CelebA's Male): short hair, stubble, thick brows, wide jaw, no lip tint",
  },
  {
    name: "glasses",
    kind: "attribute",
    rows: { 2: 1, 3: 1, 4: 0.25, 5: 0.25 },
    steepness: ATTR_STEEPNESS,
    baseRate: 0.22,
    mix: { age: 0.55, eyeSize: -0.3, noseWidth: 0.25 },
    description: "dark frames with tinted lenses",
  },
  {
    name: "age",
    kind: "attribute",
    rows: range(4, 7),
    steepness: ATTR_STEEPNESS,
    baseRate: 0.3,
    mix: { noseLength: 0.35, eyeSize: -0.3, lipThickness: -0.3, browTilt: 0.25 },
    description: "1 = old: grey hair, nasolabial folds, forehead lines, eye bags, narrower eyes",
  },
  {
    name: "smile",
    kind: "attribute",
    rows: { 4: 1, 5: 1 },
    steepness: ATTR_STEEPNESS,
    baseRate: 0.5,
    mix: { mouthWidth: 0.4, eyeShape: 0.3 },
    description: "curved, open mouth with teeth, lifted cheeks, narrowed eyes",
  },
  // Identity: coarse geometry.
  {
    name: "faceWidth",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "face width",
  },
  {
    name: "faceLength",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "face length",
  },
  {
    name: "jawWidth",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "jaw width (lower-face taper)",
  },
  {
    name: "chinShape",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "round to pointed chin",
  },
  {
    name: "hairline",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "hairline height",
  },
  {
    name: "earSize",
    kind: "identity",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "ear size",
  },
  // Identity: middle features.
  {
    name: "eyeSpacing",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "distance between the eyes",
  },
  {
    name: "eyeSize",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "eye width",
  },
  {
    name: "eyeShape",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "almond to round eyes",
  },
  {
    name: "browThickness",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "eyebrow thickness",
  },
  {
    name: "browTilt",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "eyebrow tilt",
  },
  {
    name: "noseLength",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "nose length",
  },
  {
    name: "noseWidth",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "nose width",
  },
  {
    name: "mouthWidth",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "mouth width",
  },
  {
    name: "lipThickness",
    kind: "identity",
    rows: MIDDLE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "lip thickness",
  },
  // Identity: fine colours.
  {
    name: "skinTone",
    kind: "identity",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "light to dark skin",
  },
  {
    name: "irisHue",
    kind: "identity",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "blue, green, brown, dark irises",
  },
  {
    name: "hairHue",
    kind: "identity",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "blond, auburn, brown hair",
  },
  {
    name: "hairDarkness",
    kind: "identity",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "hair darkness",
  },
  // Nuisance.
  {
    name: "yaw",
    kind: "nuisance",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "head turned left or right",
  },
  {
    name: "roll",
    kind: "nuisance",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "head tilted",
  },
  {
    name: "hairStyle",
    kind: "nuisance",
    rows: COARSE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    mix: { gender: -0.5 },
    description: "hair volume, length and fringe (correlated with gender)",
  },
  {
    name: "lightDir",
    kind: "nuisance",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "light from the left or right",
  },
  {
    name: "lightLevel",
    kind: "nuisance",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "overall brightness",
  },
  {
    name: "bgHue",
    kind: "nuisance",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "background colour",
  },
  {
    name: "bgLevel",
    kind: "nuisance",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "background brightness",
  },
  {
    name: "shirtHue",
    kind: "nuisance",
    rows: FINE,
    steepness: ID_STEEPNESS,
    baseRate: 0.5,
    description: "shirt colour",
  },
];

export const FACTOR_NAMES = FACTORS.map((f) => f.name);
export const ATTRIBUTES = FACTORS.filter((f) => f.kind === "attribute").map((f) => f.name);
export const IDENTITY_FACTORS = FACTORS.filter((f) => f.kind === "identity").map((f) => f.name);
export const NUISANCE_FACTORS = FACTORS.filter((f) => f.kind === "nuisance").map((f) => f.name);

/** Index of a factor in the factor vector (the order of FACTORS). */
export function factorIndex(name: string): number {
  const i = FACTOR_NAMES.indexOf(name);
  if (i < 0) {
    throw new RangeError(
      `factor: unknown name "${name}"; expected one of ${FACTOR_NAMES.join(", ")}`,
    );
  }
  return i;
}

/** Constants of the world's construction. */
export const WORLD = {
  /** Version of the construction; a stored calibration must match it. */
  version: 1,
  numLayers: 18,
  latentDim: 512,
  mappingLayers: 8,
  /** Principal coordinates of W that factors read. */
  principalDims: 64,
  /** Hidden tanh units per factor, and their gain gamma. */
  hiddenUnits: 4,
  nonlinearGain: 0.3,
  /** Fine factors read a random subset of this many fine rows. */
  fineRowsPerFactor: 4,
  /** Samples of w for the calibration (mean, principal axes, thresholds). */
  calibrationSamples: 16384,
} as const;
