import { dataParameters, type ModelSpec } from "../../worker/model/spec.ts";
import { LOCAL_HEAD, trainingMicrobatch } from "../../worker/data/batches.ts";
import { modelTrainingFlops } from "../../worker/model/layout.ts";
import { runLocalStep } from "./local.ts";
import { createStage } from "../../worker/model/stage.ts";

/** Training throughput of a spec with all stages chained in this process (one core). */
export interface TrainingThroughput {
  readonly steps: number;
  readonly tokensPerStep: number;
  readonly secondsPerStep: number;
  /** Wall time of every timed step (for medians under shared-machine noise). */
  readonly stepSeconds: readonly number[];
  readonly tokensPerSecond: number;
  /** Analytic model FLOPs (6 x matmul weights x tokens + attention; see `stageTrainingFlops`) per second. */
  readonly modelGflops: number;
  /** Model FLOPs plus the forward that backward re-materializes (one more forward per microbatch). */
  readonly executedGflops: number;
  readonly losses: readonly number[];
}

/**
 * Trains `spec` for `warmupSteps + steps` steps on rounds 0.. of model `modelId` and times the last
 * `steps`. Data loading is excluded (the corpus is tokenized before timing). `beforeStep` runs
 * untimed before each timed step (the benchmark measures raw matmul there, so that both numbers
 * of a ratio see the same machine load).
 */
export function measureTrainingThroughput(
  spec: ModelSpec,
  steps: number,
  warmupSteps = 1,
  modelId = 1n,
  beforeStep?: (step: number) => void,
): TrainingThroughput {
  const stages = spec.stages.map((_, s) => createStage(spec, s));
  const data = dataParameters(spec);
  const batchesOf = (step: number) =>
    Array.from({ length: spec.microbatchesPerStep }, (_, i) => trainingMicrobatch(data, modelId, BigInt(step), LOCAL_HEAD, i));
  const losses: number[] = [];
  try {
    for (let i = 0; i < warmupSteps; i++) losses.push(runLocalStep(stages, batchesOf(i)).loss);
    const stepSeconds: number[] = [];
    for (let i = warmupSteps; i < warmupSteps + steps; i++) {
      const batches = batchesOf(i);
      beforeStep?.(i);
      const start = performance.now();
      losses.push(runLocalStep(stages, batches).loss);
      stepSeconds.push((performance.now() - start) / 1000);
    }
    const seconds = stepSeconds.reduce((a, b) => a + b, 0);
    const tokensPerStep = spec.microbatchesPerStep * spec.microbatchSize * spec.contextLength;
    const flopsPerStep = spec.microbatchesPerStep * modelTrainingFlops(spec);
    const secondsPerStep = seconds / steps;
    return {
      steps,
      tokensPerStep,
      secondsPerStep,
      stepSeconds,
      tokensPerSecond: tokensPerStep / secondsPerStep,
      modelGflops: flopsPerStep / secondsPerStep / 1e9,
      executedGflops: ((4 / 3) * flopsPerStep) / secondsPerStep / 1e9,
      losses,
    };
  } finally {
    for (const stage of stages) stage.dispose();
  }
}
