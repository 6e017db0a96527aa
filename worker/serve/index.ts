export { JsonLineProcess, startServingPipeline, type ChildEvent } from "./launch.ts";
export { runServingOperator, type ServedRequest, type ServingOperatorParameters } from "./operator.ts";
export { PipelineGenerator, serveDownstreamStage, encodeTokenPayload, decodeTokenPayload } from "./pipelineServe.ts";
export type { ServeStageConfig } from "./serveMain.ts";
export { ContentStore, serveContentStore, textHash } from "./store.ts";
export { loadJournaledWeights } from "./weights.ts";
