/**
 * ID-Style for Deno: identity-preserving editing of several facial attributes in the W+ space
 * of a StyleGAN2 generator (Mohammadbagheri et al.). Importing this module chooses the tfjs
 * backend once (see backend.ts).
 */
export { backend, tf } from "./backend.ts";
export * from "./model/config.ts";
export { IDStyleEditor } from "./model/editor.ts";
export type {
  AttrInput,
  EditOptions,
  EditorEdits,
  EditorOutput,
  EditResult,
  ParameterCount,
} from "./model/editor.ts";
export { absmax, topKRows } from "./model/combine.ts";
export { editorLosses, identityAttributes } from "./losses/total.ts";
export type { ImageModels, LossBatch, LossResult } from "./losses/total.ts";
export { AdaBelief } from "./optim/adabelief.ts";
export { lrAt } from "./optim/schedule.ts";
export { trainStep } from "./train/step.ts";
export { loadEditor, loadEditorWeights, saveEditor } from "./io/checkpoint.ts";
export { readSafetensors, writeSafetensors } from "./io/safetensors.ts";
export { readNpy, writeNpy } from "./io/npy.ts";
export { exportEditorOnnx } from "./onnx/export.ts";
export { OrtEditor } from "./onnx/ort.ts";
export { Rng } from "./util/rng.ts";
export { InputError } from "./util/validate.ts";
