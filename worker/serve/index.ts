export { JsonLineProcess, startServingPipeline, type ChildEvent } from "./launch.ts";
export { type ReleasedRequest, runServingOperator, type ServedRequest, type ServingOperatorParameters } from "./operator.ts";
export {
  decodeTokenPayload,
  encodeTokenPayload,
  type GeneratedAnswer,
  generateThroughPipeline,
  type PipelineAnswer,
  PipelineGenerator,
  serveDownstreamStage,
  type ServingRequest,
  type ServingStage,
} from "./pipelineServe.ts";
export { requestSampling, type SamplingTerms } from "./sampling.ts";
export {
  BEGIN_POSITION,
  localServingIdentity,
  ServingFrameRefusedError,
  type ServingIdentity,
  ServingKeyMismatchError,
} from "./servingFrames.ts";
export { commitmentOf, ServingLog, type ServedPosition, type ServingRecord } from "./servingRecord.ts";
export { runServeStage, ServeConfigError, type ServeEmit, type ServeStageConfig } from "./stageServer.ts";
export { ContentStore, serveContentStore } from "./store.ts";
export { loadJournaledWeights } from "./weights.ts";
export { runServeCommand, type ServeCommandParameters } from "./command.ts";
