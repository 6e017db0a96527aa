import type * as tf from "@tensorflow/tfjs";
import type { PipelineStage as ModelPipelineStage } from "../model/stage.ts";

/**
 * What the pipeline needs of a stage's model shard: worker/model/stage.ts's `PipelineStage`
 * without its optimizer-state hooks, so the toy test model can run the same schedules.
 */
export type PipelineStage = Omit<ModelPipelineStage, "parameterNames" | "exportOptimizerState" | "importOptimizerState">;

/** Deterministic data of one microbatch: stage 0 needs `ids`, the last stage `targets`. */
export type MicrobatchData = { ids: tf.Tensor; targets: tf.Tensor };

/** Supplies the microbatch `index` of `round` (derived from (modelId, round, index), never sent). */
export type MicrobatchSource = (round: bigint, index: number) => MicrobatchData;
