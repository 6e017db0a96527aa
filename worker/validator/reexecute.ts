import * as tf from "@tensorflow/tfjs";
import type { Address, Hex } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { dataParameters, type ModelSpec } from "../model/spec.ts";
import { createStage, type PipelineStage } from "../model/stage.ts";
import { trainingMicrobatch } from "../data/batches.ts";
import {
  decodeActivationPayload,
  decodeWireTensor,
  encodeActivationPayload,
  encodeTargets,
  encodeWireTensor,
  hashTokenIds,
  type WireFormat,
} from "../p2p/wire.ts";
import type { MicrobatchSource } from "../pipeline/types.ts";

/** The committed inputs of one item, as fetched (already hash checked). */
export type ItemInputs = {
  weights: Float32Array;
  /**
   * Stage 0: undefined (ids and targets are drawn for the pipeline's head); else the activation
   * payload the stage received: canonical activation bytes, then the microbatch's int32 targets.
   */
  inputBytes?: Uint8Array | undefined;
  /** Last stage: undefined; else canonical gradient bytes received from stage s+1. */
  upstreamGradBytes?: Uint8Array | undefined;
};

/** What an honest stage computes for the item. */
export type ItemOutputs = {
  inputActHash: Hex;
  /**
   * Non-last stages: the activation payload as it would travel (the output re-encoded in `wire`,
   * then the targets the stage drew or received, unchanged), its hash, the output dequantized,
   * and the targets' canonical bytes.
   */
  output?: { values: Float32Array; hash: Hex; bytes: Uint8Array; targets: Uint8Array } | undefined;
  loss?: number | undefined;
  /** Non-first stages: the input gradient as it would travel, dequantized, and its hash. */
  inputGrad?: { values: Float32Array; hash: Hex; bytes: Uint8Array } | undefined;
  parameterGradient: Float32Array;
  /** Wall time of forward + backward (the re-execution compute). */
  computeMs: number;
};

/** An item asked of the re-executor without the inputs its stage needs. */
export class ReexecutionInputError extends BaseError {
  constructor(reason: string) {
    super(reason, { name: "ReexecutionInputError" });
  }
}

/** The deterministic data of a transformer model (same closure as the pipeline's model loader). */
export function transformerData(spec: ModelSpec, modelId: bigint): MicrobatchSource {
  const params = dataParameters(spec);
  return (head, round, index) => {
    const batch = trainingMicrobatch(params, modelId, round, head, index);
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

  constructor(
    readonly spec: ModelSpec,
    readonly wire: WireFormat = "int8",
  ) {}

  #stage(index: number): PipelineStage {
    let stage = this.#stages.get(index);
    if (!stage) {
      stage = createStage(this.spec, index);
      this.#stages.set(index, stage);
    }
    return stage;
  }

  /**
   * Forward and backward of microbatch `index` of `round` on stage `stageIndex` from the committed
   * inputs. Stage 0 draws its ids and targets for `head` (the commitment's worker) from `data`;
   * later stages take both from the fetched activation payload, and a middle stage's output
   * payload carries the targets it received, so a stage that altered them does not re-execute
   * to its committed output.
   */
  run({
    stageIndex,
    round,
    index,
    head,
    data,
    inputs,
  }: {
    stageIndex: number;
    round: bigint;
    index: number;
    head?: Address | undefined;
    data?: MicrobatchSource | undefined;
    inputs: ItemInputs;
  }): ItemOutputs {
    const stage = this.#stage(stageIndex);
    const isFirst = stageIndex === 0;
    const isLast = stageIndex === stage.count - 1;
    stage.importWeights(inputs.weights);
    const owned: tf.Tensor[] = [];
    try {
      let input: tf.Tensor;
      let targets: tf.Tensor | undefined;
      let targetBytes: Uint8Array | undefined;
      let inputActHash: Hex;
      if (isFirst) {
        if (!data || !head) throw new ReexecutionInputError("stage 0 needs the deterministic data and the pipeline's head");
        const batch = data(head, round, index);
        owned.push(batch.ids, batch.targets);
        input = batch.ids;
        inputActHash = hashTokenIds(batch.ids.shape, batch.ids.dataSync() as Int32Array);
        if (isLast) targets = batch.targets;
        else targetBytes = encodeTargets(batch.targets.shape, batch.targets.dataSync() as Int32Array);
      } else {
        if (!inputs.inputBytes) throw new ReexecutionInputError(`stage ${stageIndex} needs its input activation payload`);
        const decoded = decodeActivationPayload(inputs.inputBytes);
        input = tf.tensor(decoded.values, decoded.shape, "float32");
        inputActHash = decoded.hash;
        owned.push(input);
        if (isLast) {
          targets = tf.tensor(decoded.targets.ids, decoded.targets.shape, "int32");
          owned.push(targets);
        } else targetBytes = decoded.targets.bytes;
      }
      let upstream: tf.Tensor | undefined;
      if (!isLast) {
        if (!inputs.upstreamGradBytes) throw new ReexecutionInputError(`stage ${stageIndex} needs the upstream gradient bytes`);
        const decoded = decodeWireTensor(inputs.upstreamGradBytes);
        upstream = tf.tensor(decoded.values, decoded.shape, "float32");
        owned.push(upstream);
      }
      const microbatch = this.#nextMicrobatch++;
      const t0 = performance.now();
      const out = stage.forward(microbatch, input, targets);
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
      const travelWithTargets = (shape: number[], values: Float32Array, sentTargets: Uint8Array) => {
        const payload = encodeActivationPayload(shape, values, this.wire, sentTargets);
        return { values: decodeActivationPayload(payload.bytes).values, hash: payload.hash, bytes: payload.bytes, targets: sentTargets };
      };
      return {
        inputActHash,
        output: isLast ? undefined : travelWithTargets(out.shape, outValues, targetBytes as Uint8Array),
        loss: isLast ? outValues[0] : undefined,
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
