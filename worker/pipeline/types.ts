import type * as tf from "@tensorflow/tfjs";
import type { Address } from "viem";
import type { PipelineStage as ModelPipelineStage } from "../model/stage.ts";

/**
 * What the pipeline needs of a stage's model shard: worker/model/stage.ts's `PipelineStage`
 * without its optimizer-state hooks, so the toy test model can run the same schedules.
 */
export type PipelineStage = Omit<ModelPipelineStage, "parameterNames" | "exportOptimizerState" | "importOptimizerState">;

/**
 * Deterministic data of one microbatch, drawn by stage 0 only: it trains on `ids` and sends
 * `targets` down the pipe with its activations (the last stage's loss uses the targets it received).
 */
export type MicrobatchData = { ids: tf.Tensor; targets: tf.Tensor };

/**
 * Supplies microbatch `index` of `round` of the pipeline headed by `head` (the stage-0 worker's
 * staking address): derived from (modelId, round, head, index), docs/PROTOCOL.md "Deterministic data".
 */
export type MicrobatchSource = (head: Address, round: bigint, index: number) => MicrobatchData;
