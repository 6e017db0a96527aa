import type * as tf from "@tensorflow/tfjs";

/**
 * One pipeline stage's model shard, as worker/model/stage.ts implements it. Declared here
 * structurally so the pipeline depends on the contract, not on one model.
 */
export interface PipelineStage {
  readonly index: number;
  readonly count: number;
  readonly parameterCount: number;
  /** Stage 0: int32 ids [B,T]. Last stage: returns the scalar loss, given `targets`. */
  forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor;
  /** Last stage: no `outputGrad`. Stage 0: no `inputGrad` returned. */
  backward(microbatch: number, outputGrad?: tf.Tensor): { inputGrad?: tf.Tensor; parameterGradient: Float32Array };
  step(): void;
  /** Forward without keeping anything (serving): the last stage returns logits [B,T,V]. */
  infer(input: tf.Tensor): tf.Tensor;
  exportWeights(): Float32Array;
  importWeights(values: Float32Array): void;
  dispose(): void;
}

/** Deterministic data of one microbatch: stage 0 needs `ids`, the last stage `targets`. */
export type MicrobatchData = { ids: tf.Tensor; targets: tf.Tensor };

/** Supplies the microbatch `index` of `round` (derived from (modelId, round, index), never sent). */
export type MicrobatchSource = (round: bigint, index: number) => MicrobatchData;
