/** The worlds: the interface and the embedded synthetic face world. */
export type { Oracle, World } from "./types.ts";
export {
  EVALUATOR_FILES,
  loadSynthFace,
  SynthFace,
  SYNTHFACE_DIR,
  SYNTHFACE_SEED,
} from "./synthface/world.ts";
export type { Evaluators, SynthFaceOptions } from "./synthface/world.ts";
export {
  ATTRIBUTES,
  COARSE,
  FACTOR_NAMES,
  factorIndex,
  FACTORS,
  FINE,
  IDENTITY_FACTORS,
  MIDDLE,
  NUISANCE_FACTORS,
  WORLD,
} from "./synthface/spec.ts";
export {
  correlations,
  entanglement,
  factorValues,
  idealDirection,
  pearson,
} from "./synthface/properties.ts";
export { mapSamples } from "./synthface/calibration.ts";
export { EVALUATOR_BARS, EVALUATOR_TRAINING } from "./evaluators/config.ts";
