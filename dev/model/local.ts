import * as tf from "@tensorflow/tfjs";
import type { TokenBatch } from "../../worker/data/batches.ts";
import type { PipelineStage } from "../../worker/model/stage.ts";

/** Int32 `[B, T]` tensors of a token batch. */
export function batchTensors(batch: TokenBatch): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const shape: [number, number] = [batch.batchSize, batch.contextLength];
  return { inputs: tf.tensor2d(batch.inputs, shape, "int32"), targets: tf.tensor2d(batch.targets, shape, "int32") };
}

/** Result of one step run through all stages in this process. */
export interface LocalStepResult {
  /** Mean of the microbatches' losses. */
  loss: number;
  /** Per microbatch, per stage: the flattened parameter gradient. */
  gradients: Float32Array[][];
}

/**
 * One optimizer step of `stages` (all of them, in order) chained in this process: forward every
 * microbatch through all stages, backward in reverse, then `step()` on each stage. The reference
 * for the multi-process pipeline and the engine of the FLOP/s benchmark.
 */
export function runLocalStep(stages: readonly PipelineStage[], batches: readonly TokenBatch[]): LocalStepResult {
  const losses: number[] = [];
  const gradients: Float32Array[][] = [];
  batches.forEach((batch, mb) => {
    const { inputs, targets } = batchTensors(batch);
    let x: tf.Tensor = inputs;
    stages.forEach((stage, s) => {
      const y = stage.forward(mb, x, s === stages.length - 1 ? targets : undefined);
      x.dispose();
      x = y;
    });
    losses.push(x.dataSync()[0] as number);
    x.dispose();
    targets.dispose();
    const perStage = new Array<Float32Array>(stages.length);
    let grad: tf.Tensor | undefined;
    for (let s = stages.length - 1; s >= 0; s--) {
      const { inputGrad, parameterGradient } = (stages[s] as PipelineStage).backward(mb, grad);
      grad?.dispose();
      grad = inputGrad;
      perStage[s] = parameterGradient;
    }
    grad?.dispose();
    gradients.push(perStage);
  });
  for (const stage of stages) stage.step();
  return { loss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length), gradients };
}
