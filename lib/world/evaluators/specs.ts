/**
 * The synthface evaluators' architectures. The evaluation classifier differs from the training
 * classifier in architecture (5x5 stem, max pooling, a hidden dense layer) and seed, so the editor
 * is never scored by the network it was trained against.
 */
import type { NetSpec } from "./convnet.ts";

const conv = (filters: number, kernel: number, stride: number) => ({
  kind: "conv" as const,
  filters,
  kernel,
  stride,
  relu: true,
});

/** The paper's D: the attribute classifier the editor trains against (L_class). */
export const TRAIN_CLASSIFIER: NetSpec = {
  name: "attr_train",
  resolution: 64,
  layers: [conv(16, 3, 1), conv(32, 3, 2), conv(64, 3, 2), conv(96, 3, 2), conv(128, 3, 2), {
    kind: "gap",
  }, { kind: "dense", units: 4, relu: false }],
  normalize: false,
  seed: 101,
};

/** The independent evaluation classifier (metrics only). Its 128-d hidden layer feeds the Frechet distance. */
export const EVAL_CLASSIFIER: NetSpec = {
  name: "attr_eval",
  resolution: 64,
  layers: [
    conv(24, 5, 2),
    conv(32, 3, 1),
    { kind: "maxpool" },
    conv(64, 3, 1),
    { kind: "maxpool" },
    conv(96, 3, 1),
    { kind: "maxpool" },
    { kind: "flatten" },
    { kind: "dense", units: 128, relu: true },
    { kind: "dense", units: 4, relu: false },
  ],
  normalize: false,
  seed: 202,
};

/** The identity network psi (ArcFace stand-in): a unit 128-d embedding. */
export const IDENTITY_NET: NetSpec = {
  name: "identity",
  resolution: 64,
  // Faces share most of their structure (embeddings of different people start at cosine ~0.8),
  // and training on raw features collapses every embedding onto one direction (cosine 0.999):
  // the embedding is centred on batch statistics (a running mean at inference), before the unit
  // normalisation; its layers are linear and bias-free (a bias is the same vector for everyone).
  layers: [
    conv(32, 3, 2),
    conv(32, 3, 1),
    conv(64, 3, 2),
    conv(128, 3, 2),
    { kind: "conv", filters: 128, kernel: 3, stride: 2, relu: false, bias: false },
    { kind: "flatten" },
    { kind: "dense", units: 128, relu: false, bias: false },
    { kind: "center" },
  ],
  normalize: true,
  seed: 303,
};
