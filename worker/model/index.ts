export { stageForward, type StageForward, type StageOutput } from "./forward.ts";
export { initialStageWeights, initialValues } from "./init.ts";
export {
  modelTrainingFlops,
  type ParameterInfo,
  type ParameterInit,
  sizeOf,
  stageComputeUnits,
  stageParameterCount,
  stageParameters,
  stageTrainingFlops,
} from "./layout.ts";
export { randomFromSeed, type Random } from "./random.ts";
export {
  canonicalSpecJson,
  dataParameters,
  defaultModelSpec,
  type DefaultModelSpecParameters,
  evenStages,
  InvalidModelSpecError,
  MODEL_SPEC_FORMAT,
  type ModelSpec,
  parseModelSpec,
  specHash,
  validateModelSpec,
} from "./spec.ts";
export { createStage, initialWeightsRoots, type OptimizerState, type PipelineStage, StageUsageError } from "./stage.ts";
export {
  type DecodeOptions,
  type DecodingModel,
  decodingModel,
  generateText,
  generateTokens,
  greedyNextToken,
  tokenWindow,
  type Tokenizer,
} from "./generate.ts";
