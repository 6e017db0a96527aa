export { JsonLineProcess, startServingPipeline, type ChildEvent } from "./launch.ts";
export { runServingOperator, type ServedRequest, type ServingOperatorParameters } from "./operator.ts";
export {
  decodeTokenPayload,
  encodeTokenPayload,
  generateThroughPipeline,
  PipelineGenerator,
  type PipelineHead,
  serveDownstreamStage,
} from "./pipelineServe.ts";
export { runServeStage, type ServeEmit, type ServeStageConfig } from "./stageServer.ts";
export { ContentStore, serveContentStore } from "./store.ts";
export { loadJournaledWeights } from "./weights.ts";
export { runServeCommand, type ServeCommandParameters } from "./command.ts";
