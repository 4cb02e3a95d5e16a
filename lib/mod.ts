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
export {
  decodeTorch,
  readTorch,
  stateDictAt,
  tensorsOf,
  TorchFileError,
  TorchTensor,
  toSafetensorsFile,
} from "./io/torch.ts";
export type { TorchData, TorchDType } from "./io/torch.ts";
export { decodeLatents, readLatents, writeLatents } from "./io/latents.ts";
export type { LatentFile, LatentLayout } from "./io/latents.ts";
export { exportEditorOnnx } from "./onnx/export.ts";
export { OrtEditor } from "./onnx/ort.ts";
export { Rng } from "./util/rng.ts";
export { InputError } from "./util/validate.ts";
export * from "./world/mod.ts";
export {
  buildDataset,
  DATASET,
  DATASET_DIR,
  loadDataset,
  MixedLatents,
  QUICK_DATASET,
} from "./data/dataset.ts";
export type { Dataset, Split } from "./data/dataset.ts";
export { quickDataset } from "./data/quick.ts";
export { makeMixRecipes, materializeMixes } from "./data/mixing.ts";
export { evaluate, IDENTITY_EDITOR, idStyleAttributeEditor } from "./eval/evaluate.ts";
export type { AttributeEditor, EditRecord, EvalSummary } from "./eval/evaluate.ts";
export { SCHEDULES, trainConfig } from "./train/config.ts";
export type { ScheduleName, TrainConfig } from "./train/config.ts";
export { defaultRunName, train } from "./train/train.ts";
export { RunDir } from "./train/run_dir.ts";
export { lossPlot } from "./train/monitor.ts";
export { SHIPPED_CHECKPOINTS } from "./train/shipped.ts";
export { ssim } from "./metrics/ssim.ts";
export { featureStats, frechetDistance } from "./metrics/frechet.ts";
export { featureDistance } from "./metrics/perceptual.ts";
export { rocAuc } from "./metrics/roc.ts";
export { editGrid, faceGrid, labelCode } from "./viz/faces.ts";
export { gridRaster, toRasters, writePng } from "./viz/png.ts";
export { Plot, plotSvg } from "./viz/plot.ts";
export { figureSvg } from "./viz/figure.ts";
export { svgToPng, svgToRaster } from "./viz/rasterize.ts";
export {
  bundle,
  displayOutput,
  figureOutput,
  flush,
  mimeOutput,
  quickMode,
  show,
} from "./viz/display.ts";
export type { DisplayOptions, MimeOutput } from "./viz/display.ts";
export { default as pl } from "nodejs-polars";
export {
  loadMethods,
  protocolFiles,
  saveFrame,
  table1,
  TABLE1_METHODS,
  table1Frame,
  table2,
  table2Frame,
} from "./eval/tables.ts";
export type { Method, Table1Row, Table2Row } from "./eval/tables.ts";
export { EVAL_CACHE_DIR, EVAL_PROTOCOL_VERSION } from "./eval/table_cache.ts";
export { type ChainStep, sequentialEdit } from "./eval/sequential.ts";
export {
  BASELINE_LABELS,
  baselineCheckpoint,
  type BaselineName,
  BASELINES,
  loadBaseline,
} from "./baselines/load.ts";
export { artifactPath, ARTIFACTS_ROOT, REPO_ROOT } from "./paths.ts";
export {
  createExplorer,
  EXPLORER_METHODS,
  type ExplorerConfig,
  framePng,
  loadExplorerMethods,
  showExplorer,
} from "./explore/show.ts";
export { ExplorerSession } from "./explore/session.ts";
export {
  absmaxEditor,
  type CombinationResult,
  evaluateCombinations,
  FIGURE6_COMBINATIONS,
  type MultiEditor,
  sequentialEditor,
} from "./eval/combinations.ts";
export { combinationFigure, faceLabels, toggleFigure } from "./eval/figures.ts";
export { blur3, photographs, type PhotoOptions } from "./invert/photo.ts";
export { INVERT, invert, type InvertConfig, searchStart } from "./invert/invert.ts";
export {
  factorErrors,
  type FactorRecovery,
  identityRecovery,
  identityVisibility,
  scoreReconstruction,
  scoreToggles,
  type Truth,
} from "./invert/measure.ts";
export { type ExplorerEditor, strengthEdit } from "./explore/strength.ts";
export { INTERFACEGAN, InterFaceGANEditor, trainBoundaries } from "./baselines/interfacegan.ts";
export { BASELINES_DIR } from "./baselines/paths.ts";
export { ISFGAN, ISFGAN_CHANGES, IsfGanEditor, trainIsfGan } from "./baselines/isfgan.ts";
export { IsfDiscriminator, isfDiscriminatorParameters } from "./baselines/isfgan_discriminator.ts";
export { targetSensitivity, termGradientNorms } from "./baselines/isfgan_diagnose.ts";
export {
  angleMatrix,
  entriesForShare,
  FIGURE9,
  globalDirections,
  hoyerSparsity,
  massCurve,
  realizedEdits,
  topKSweep,
} from "./eval/sparsity.ts";
export type { RealizedEdits, TopKPoint, TopKSetting, TopKSweepOptions } from "./eval/sparsity.ts";
export { PAPER_TABLE3, TABLE3, table3, table3RunName, trainTable3 } from "./eval/ablations.ts";
export type { Table3Config, Table3Row } from "./eval/ablations.ts";
export { StyleGAN2 } from "./world/stylegan2/generator.ts";
export type { NoiseMode, SynthesisOptions } from "./world/stylegan2/generator.ts";
export { MappingNetwork } from "./world/stylegan2/mapping.ts";
export { loadGenerator, readGeneratorWeights } from "./world/stylegan2/load.ts";
export { exportGeneratorOnnx, OrtGenerator } from "./world/stylegan2/onnx.ts";
export { renderLatents } from "./world/stylegan2/render.ts";
export { generatorFlops } from "./world/stylegan2/flops.ts";
export { randomGeneratorWeights, rosinalityChannels } from "./world/stylegan2/random.ts";
export { GeneratorFormatError, parseGenerator } from "./world/stylegan2/weights.ts";
export type { StyleGAN2Weights } from "./world/stylegan2/weights.ts";
export {
  loadStyleGAN2World,
  REAL_ATTRIBUTES,
  StyleGAN2World,
  toScoreSize,
} from "./world/real/world.ts";
export {
  AUTHORS_TEST_LATENTS,
  DEFAULT_REAL_CONFIG,
  findRealConfig,
  FIXTURE_EDITOR,
  FIXTURE_REAL_CONFIG,
  readRealConfig,
} from "./world/real/config.ts";
export type { FoundConfig, RealWorldConfig } from "./world/real/config.ts";
export { IrSe, loadIrSe, readIrSeWeights } from "./world/real/irse.ts";
export {
  CLASSIFIER_ATTRIBUTES,
  loadStarGanClassifier,
  readClassifierWeights,
  StarGanClassifier,
} from "./world/real/stargan_d.ts";
export { exportClassifierOnnx, exportIrSeOnnx, OrtClassifier, OrtIrSe } from "./world/real/onnx.ts";
export { scoreImages } from "./world/real/score.ts";
export { buildWorldDataset, WORLD_DATASET } from "./data/world_dataset.ts";
export { editShowcase } from "./eval/showcase.ts";
export { STYLEFLOW, StyleFlow, styleFlowParameterCount } from "./baselines/styleflow.ts";
export type { StyleFlowConfig } from "./baselines/styleflow.ts";
export { STYLEFLOW_DEGREES, StyleFlowEditor } from "./baselines/styleflow_editor.ts";
export {
  STYLEFLOW_CHANGES,
  STYLEFLOW_TRAIN,
  trainStyleFlowBaseline,
} from "./baselines/styleflow_train.ts";
