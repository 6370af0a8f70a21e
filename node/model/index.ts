/**
 * The model's public surface: everything the site, aggregator, auditor and demo code needs, working on
 * canonical model bytes so hashes line up across processes.
 *
 * - {@link createInitialModel}(spec, seed) → genesis bytes
 * - {@link trainLocal}({ spec, base, notes, seed, epochs?, lr?, batchSize? }) → { model, delta, numSamples, losses }
 * - {@link evaluateModel}(bytes, spec, notes) → metrics; {@link predictNotes}(bytes, spec, notes) → predictions
 * - {@link expectedTensors}(spec) → the tensor layout an upload must have
 * - {@link specHash}(spec) → the hash a training task records
 * - {@link exportLayersModel} / {@link importLayersModel} for the TF.js LayersModel format
 * - {@link runBaselines} for the local, centralized and FedAvg baselines
 */
export { BACKENDS, initBackend, type BackendName } from "./backend";
export {
  canonicalJson,
  DEFAULT_TRAINING,
  defaultSpec,
  parseSpec,
  SPEC_VERSION,
  SpecError,
  specHash,
  type ModelSpec,
  type TrainingConfig,
} from "./spec";
export {
  checkTensors,
  createInitialModel,
  expectedTensors,
  readWeights,
  SpecMismatchError,
  TENSOR_NAMES,
  writeWeights,
  type TensorShapeInfo,
} from "./params";
export {
  decodeModel,
  encodeModel,
  hashModelBytes,
  ModelFormatError,
  readModelHeader,
  type NamedTensor,
} from "./format";
export { subtractWeights, trainLocal, type TrainLocalOptions, type TrainLocalResult } from "./train";
export { evaluateModel } from "./evaluate";
export { computeMetrics, type LabelMetrics, type Metrics, type SetMetrics } from "./metrics";
export { predictNotes, predictWithScorer, type Prediction, type PredictInput } from "./predict";
export { Scorer } from "./scorer";
export type { LabelledText, TextInput } from "./dataset";
export {
  exportLayersModel,
  importLayersModel,
  layersModelInputs,
  LAYERS_MODEL_FILE,
  LAYERS_WEIGHTS_FILE,
} from "./layers";
export {
  readModelBytes,
  readModelFile,
  readSpecFile,
  specPathFor,
  writeModelFile,
  type ModelFile,
} from "./files";
export {
  BASELINE_LANGS,
  formatBaselines,
  runBaselines,
  type BaselineModel,
  type BaselineOptions,
  type BaselineReport,
} from "./baselines";
