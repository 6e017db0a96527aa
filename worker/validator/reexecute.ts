import * as tf from "@tensorflow/tfjs";
import type { Hex } from "viem";
import { dataParameters, type ModelSpec } from "../model/spec.ts";
import { createStage, type PipelineStage } from "../model/stage.ts";
import { trainingMicrobatch } from "../data/batches.ts";
import { decodeWireTensor, encodeWireTensor, hashTokenIds, type WireFormat } from "../p2p/wire.ts";
import type { MicrobatchSource } from "../pipeline/types.ts";

/** The committed inputs of one item, as fetched (already hash checked). */
export type ItemInputs = {
  weights: Float32Array;
  /** Stage 0: undefined (the ids come from the deterministic data); else canonical activation bytes. */
  inputBytes?: Uint8Array | undefined;
  /** Last stage: undefined; else canonical gradient bytes received from stage s+1. */
  upstreamGradBytes?: Uint8Array | undefined;
};

/** What an honest stage computes for the item. */
export type ItemOutputs = {
  inputActHash: Hex;
  /** Non-last stages: the output as it would travel (re-encoded in `wire`), dequantized, and its hash. */
  output?: { values: Float32Array; hash: Hex; bytes: Uint8Array } | undefined;
  loss?: number | undefined;
  /** Non-first stages: the input gradient as it would travel, dequantized, and its hash. */
  inputGrad?: { values: Float32Array; hash: Hex; bytes: Uint8Array } | undefined;
  parameterGradient: Float32Array;
  /** Wall time of forward + backward (the re-execution compute). */
  computeMs: number;
};

/** The deterministic data of a transformer model (same closure as the pipeline's model loader). */
export function transformerData(spec: ModelSpec, modelId: bigint): MicrobatchSource {
  const params = dataParameters(spec);
  return (round, index) => {
    const batch = trainingMicrobatch(params, modelId, round, index);
    const shape = [batch.batchSize, batch.contextLength];
    return { ids: tf.tensor(batch.inputs, shape, "int32"), targets: tf.tensor(batch.targets, shape, "int32") };
  };
}

/**
 * Re-executes single items of one model: one cached stage per stage index whose weights are
 * replaced by the fetched ones before each item. Holds one stage's parameters at a time per item,
 * never a whole model it does not need.
 */
export class Reexecutor {
  readonly #stages = new Map<number, PipelineStage>();
  #nextMicrobatch = 0;
  /** Sum of `computeMs` over all items re-executed (the validator's compute). */
  totalComputeMs = 0;
  items = 0;

  constructor(readonly spec: ModelSpec, readonly wire: WireFormat = "int8") {}

  #stage(index: number): PipelineStage {
    let stage = this.#stages.get(index);
    if (!stage) {
      stage = createStage(this.spec, index);
      this.#stages.set(index, stage);
    }
    return stage;
  }

  /** Forward and backward of microbatch `index` of `round` on stage `stageIndex` from the committed inputs. */
  run({ stageIndex, round, index, data, inputs }: { stageIndex: number; round: bigint; index: number; data: MicrobatchSource; inputs: ItemInputs }): ItemOutputs {
    const stage = this.#stage(stageIndex);
    const isFirst = stageIndex === 0;
    const isLast = stageIndex === stage.count - 1;
    stage.importWeights(inputs.weights);
    const owned: tf.Tensor[] = [];
    try {
      let input: tf.Tensor;
      let targets: tf.Tensor | undefined;
      let inputActHash: Hex;
      if (isFirst || isLast) {
        const batch = data(round, index);
        owned.push(batch.ids, batch.targets);
        targets = isLast ? batch.targets : undefined;
        input = batch.ids;
        inputActHash = hashTokenIds(batch.ids.shape, batch.ids.dataSync() as Int32Array);
      }
      if (!isFirst) {
        if (!inputs.inputBytes) throw new Error(`stage ${stageIndex} needs its input activation bytes`);
        const decoded = decodeWireTensor(inputs.inputBytes);
        input = tf.tensor(decoded.values, decoded.shape, "float32");
        inputActHash = decoded.hash;
        owned.push(input);
      }
      let upstream: tf.Tensor | undefined;
      if (!isLast) {
        if (!inputs.upstreamGradBytes) throw new Error(`stage ${stageIndex} needs the upstream gradient bytes`);
        const decoded = decodeWireTensor(inputs.upstreamGradBytes);
        upstream = tf.tensor(decoded.values, decoded.shape, "float32");
        owned.push(upstream);
      }
      const microbatch = this.#nextMicrobatch++;
      const t0 = performance.now();
      const out = stage.forward(microbatch, input!, targets);
      owned.push(out);
      const outValues = out.dataSync() as Float32Array;
      const { inputGrad, parameterGradient } = stage.backward(microbatch, upstream);
      const gradValues = inputGrad ? (inputGrad.dataSync() as Float32Array) : undefined;
      const computeMs = performance.now() - t0;
      if (inputGrad) owned.push(inputGrad);
      this.totalComputeMs += computeMs;
      this.items++;
      const travel = (shape: number[], values: Float32Array) => {
        const wire = encodeWireTensor(shape, values, this.wire);
        return { values: decodeWireTensor(wire.bytes).values, hash: wire.hash, bytes: wire.bytes };
      };
      return {
        inputActHash: inputActHash!,
        output: isLast ? undefined : travel(out.shape, outValues),
        loss: isLast ? (outValues[0] as number) : undefined,
        inputGrad: gradValues && inputGrad ? travel(inputGrad.shape, gradValues) : undefined,
        parameterGradient,
        computeMs,
      };
    } finally {
      tf.dispose(owned);
    }
  }

  dispose(): void {
    for (const s of this.#stages.values()) s.dispose();
    this.#stages.clear();
  }
}
