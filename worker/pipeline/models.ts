import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Hex } from "viem";
import { type StageModelConfig, StageConfigError } from "./config.ts";
import type { MicrobatchData, MicrobatchSource, PipelineStage } from "./types.ts";

/**
 * Held-out microbatches a transformer pipeline forwards after every round (docs/PROTOCOL.md
 * "Evaluation"): `microbatchSize` windows each, evenly spaced over the corpus' eval split.
 */
export const EVAL_MICROBATCHES = 4;

/** A stage of a model, ready to run: its shard, its data, and identity shared by all stages. */
export type LoadedStage = {
  stage: PipelineStage;
  /** The deterministic data (drawn by stage 0 for its own address as the pipeline's head). */
  data: MicrobatchSource;
  /** Both ends of a link must agree on it and sign it into their hello (the spec hash for the transformer). */
  modelKey: Hex;
  /** Shape of the activations (and of their gradients) between two stages: `[microbatch, context, width]`. */
  wireShape: number[];
  /** Token ids are below this (activation frames' targets are refused otherwise). */
  vocabSize: number;
  stageCount: number;
  /** Microbatches averaged into one optimizer step (M). */
  microbatchesPerStep: number;
  /** Optimizer steps per round (K); a round holds `K * M` microbatches. */
  stepsPerRound: number;
  /** Held-out microbatches forwarded after each round (0: none); stage 0 draws `evalData(e)`. */
  evalMicrobatches: number;
  evalData?: ((e: number) => MicrobatchData) | undefined;
  /** Training FLOPs of this stage per microbatch, when the model defines them. */
  flopsPerMicrobatch?: number | undefined;
  /** Longest input window (serving). */
  contextLength: number;
  /** Text <-> token ids (serving). */
  tokenizer: { encode(text: string): Int32Array; decode(ids: ArrayLike<number>): string };
};

/** A stage model module: what a `{ kind: "module" }` config names. */
export type StageModelModule = { loadStage(options: unknown, stageIndex: number, modelId: bigint): Promise<LoadedStage> | LoadedStage };

/**
 * Builds only stage `stageIndex` of the configured model. The transformer path loads
 * worker/model lazily so that module-defined models need nothing of it.
 */
export async function loadStage(model: StageModelConfig, stageIndex: number, modelId: bigint): Promise<LoadedStage> {
  if (model.kind === "module") {
    const url = model.module.startsWith("file:") ? model.module : pathToFileURL(model.module).href;
    const loaded = (await import(url)) as Partial<StageModelModule>;
    if (typeof loaded.loadStage !== "function")
      throw new StageConfigError(`config.model.module ${model.module} exports no loadStage(options, stageIndex, modelId)`);
    return loaded.loadStage(model.options, stageIndex, modelId);
  }
  const specModule = await import("../model/spec.ts");
  const stageModule = await import("../model/stage.ts");
  const layout = await import("../model/layout.ts");
  const batches = await import("../data/batches.ts");
  const vocab = await import("../data/vocab.ts");
  const spec = model.spec ?? specModule.parseModelSpec(readFileSync(model.specPath as string, "utf8"));
  specModule.validateModelSpec(spec);
  const params = specModule.dataParameters(spec);
  const rows = spec.microbatchSize * spec.contextLength;
  let held: ReturnType<typeof batches.evalBatch> | undefined;
  const evalData = (e: number): MicrobatchData => {
    held ??= batches.evalBatch(params, EVAL_MICROBATCHES * spec.microbatchSize);
    const shape = [spec.microbatchSize, spec.contextLength];
    return {
      ids: tf.tensor(held.inputs.subarray(e * rows, (e + 1) * rows), shape, "int32"),
      targets: tf.tensor(held.targets.subarray(e * rows, (e + 1) * rows), shape, "int32"),
    };
  };
  return {
    stage: stageModule.createStage(spec, stageIndex),
    data: (head, round, index) => {
      const batch = batches.trainingMicrobatch(params, modelId, round, head, index);
      const shape = [batch.batchSize, batch.contextLength];
      return { ids: tf.tensor(batch.inputs, shape, "int32"), targets: tf.tensor(batch.targets, shape, "int32") };
    },
    modelKey: specModule.specHash(spec),
    wireShape: [spec.microbatchSize, spec.contextLength, spec.dModel],
    vocabSize: spec.vocab.length,
    stageCount: spec.stages.length,
    microbatchesPerStep: spec.microbatchesPerStep,
    stepsPerRound: spec.stepsPerRound,
    evalMicrobatches: EVAL_MICROBATCHES,
    evalData,
    flopsPerMicrobatch: layout.stageTrainingFlops(spec, stageIndex),
    contextLength: spec.contextLength,
    tokenizer: vocab.charTokenizer(spec.vocab),
  };
}
