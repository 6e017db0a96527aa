import * as tf from "@tensorflow/tfjs";
import { fastWeightsRoot } from "../backend/roots.ts";
import { type Address, type Hex, zeroHash } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { crossEntropy } from "../model/ops.ts";
import type { PipeLink } from "../p2p/link.ts";
import {
  decodeActivationPayload,
  decodeWireTensor,
  encodeActivationPayload,
  encodeTargets,
  encodeWireTensor,
  hashScalarLoss,
  hashTokenIds,
  type WireFormat,
} from "../p2p/wire.ts";
import { type ScheduleName, stageSchedule } from "./schedule.ts";
import type { MicrobatchData, MicrobatchSource, PipelineStage } from "./types.ts";

/** What a stage did for one microbatch (docs/PROTOCOL.md "Microbatch items", before `gradRoot`). */
export type MicrobatchRecord = {
  index: number;
  inputActHash: Hex;
  outputActHash: Hex;
  upstreamGradHash: Hex;
  inputGradHash: Hex;
  /** This microbatch's gradient of the stage's parameters, flattened in canonical order. */
  parameterGradient: Float32Array;
  /** Root of the weights it ran on: those at the start of its optimizer step. */
  weightsRoot: Hex;
};

/** The stage's weights at the start of one optimizer step of the round (step 0: the round's start). */
export type StepWeights = { step: number; root: Hex; weights: Float32Array };

/** Wall time split: `idleMs` waits for a neighbour, the rest is this stage's own work. */
export type RoundTimings = {
  wallMs: number;
  idleMs: number;
  busyMs: number;
  forwardMs: number;
  backwardMs: number;
  stepMs: number;
  /** Quantization, canonical encoding, hashing and tensor copies. */
  codecMs: number;
};

export type RoundResult = {
  round: bigint;
  stage: number;
  records: MicrobatchRecord[];
  /** Per-microbatch losses in index order (last stage only, else empty). */
  losses: number[];
  /** Weights at the start of each step, in step order (what validators re-execute the step's items on). */
  stepWeights: StepWeights[];
  /**
   * Last stage, when the round evaluated: mean cross-entropy of the held-out microbatches under the
   * weights the round ended with (forward only, never committed).
   */
  evalLoss?: number | undefined;
  bytesSent: number;
  bytesReceived: number;
  timings: RoundTimings;
};

/** Held-out microbatches every stage forwards after the round's last step (stage 0 draws them). */
export type RoundEvaluation = {
  microbatches: number;
  /** Stage 0 only: eval microbatch `e` (the same for every round, so losses compare across rounds). */
  data?: ((e: number) => MicrobatchData) | undefined;
};

export type RunRoundParameters = {
  stage: PipelineStage;
  round: bigint;
  /** Microbatches per optimizer step (M). */
  microbatches: number;
  /** Optimizer steps in the round (K, default 1): microbatch `i` of the round belongs to step `floor(i / M)`. */
  steps?: number | undefined;
  /**
   * Forward-only evaluation after the last step, as microbatches `K*M ..` of the round's frames
   * (every stage of the pipeline must pass the same count).
   */
  evaluation?: RoundEvaluation | undefined;
  schedule: ScheduleName;
  wire: WireFormat;
  /** Link to stage s-1 (required unless stage 0). */
  prev?: PipeLink | undefined;
  /** Link to stage s+1 (required unless last stage). */
  next?: PipeLink | undefined;
  /**
   * Stage 0 only: the deterministic data, drawn for `head`. Later stages take the microbatch's
   * targets from the activation payload they receive, since only stage 0 knows the head.
   */
  data?: MicrobatchSource | undefined;
  /** Stage 0 only: the pipeline's head, this stage's own staking address (the `worker` it commits as). */
  head?: Address | undefined;
};

/** A round asked of a stage without what its role needs (links, or stage 0's data and head). */
export class RoundSetupError extends BaseError {
  constructor(reason: string) {
    super(reason, { name: "RoundSetupError" });
  }
}

const now = (): number => performance.now();

/**
 * Decodes a neighbour's tensor; one that does not decode is the neighbour's fault, so its link is
 * dropped (the caller's lost-peer path reconnects) instead of the error taking the stage down.
 * The link's frame limits already refuse wrong shapes and dtypes before delivery.
 */
function decodeFromPeer<T>(link: PipeLink, payload: Uint8Array, decode: (bytes: Uint8Array) => T): T {
  try {
    return decode(payload);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    link.drop(error);
    throw error;
  }
}

/**
 * Runs one training round of one stage: K optimizer steps, each the schedule's forwards and
 * backwards over its M microbatches (round indices `k*M .. k*M+M-1`), exchanging activations and
 * gradients with the neighbours, then `step()`. Stage 0 draws each microbatch for its head; its
 * targets travel down the pipe inside the activation payloads. Hashes are over the canonical
 * bytes actually sent or received; every record names the weights its step started from.
 *
 * @example
 * const result = await runStageRound({ stage, round: 0n, microbatches: 4, steps: 8, schedule: "1f1b", wire: "int8", next, data, head: worker })
 */
export async function runStageRound(parameters: RunRoundParameters): Promise<RoundResult> {
  const { stage, round, microbatches, wire, prev, next, data, head, evaluation } = parameters;
  const steps = parameters.steps ?? 1;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RoundSetupError(`steps must be a positive integer, got ${steps}`);
  const isFirst = stage.index === 0;
  const isLast = stage.index === stage.count - 1;
  if (!isFirst && !prev) throw new RoundSetupError(`stage ${stage.index} needs a link to stage ${stage.index - 1}`);
  if (!isLast && !next) throw new RoundSetupError(`stage ${stage.index} needs a link to stage ${stage.index + 1}`);
  if (isFirst && (!data || !head)) throw new RoundSetupError("stage 0 needs the deterministic data and the pipeline's head address");
  if (isFirst && evaluation && !evaluation.data) throw new RoundSetupError("stage 0 needs the evaluation data to evaluate");
  const timings: RoundTimings = { wallMs: 0, idleMs: 0, busyMs: 0, forwardMs: 0, backwardMs: 0, stepMs: 0, codecMs: 0 };
  const sentBefore = (prev?.stats.bytesSent ?? 0) + (next?.stats.bytesSent ?? 0);
  const receivedBefore = (prev?.stats.bytesReceived ?? 0) + (next?.stats.bytesReceived ?? 0);
  const partial = new Map<number, Partial<MicrobatchRecord>>();
  const owned = new Map<number, tf.Tensor[]>();
  const losses = new Map<number, number>();
  const stepWeights: StepWeights[] = [];
  let stepRoot: Hex = zeroHash;
  const start = now();

  const timed = async <T>(bucket: keyof RoundTimings, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = now();
    try {
      return await fn();
    } finally {
      timings[bucket] += now() - t0;
    }
  };

  /**
   * Microbatch `m`'s input: stage 0 draws it (`draw`), the others receive the activation payload
   * from stage s-1. The last stage's loss takes `targets`; every other stage sends `targetBytes`
   * on unchanged. `tensors` are the ones the caller disposes.
   */
  const takeInput = async (
    m: number,
    draw: () => MicrobatchData,
  ): Promise<{ input: tf.Tensor; inputActHash: Hex; targets?: tf.Tensor; targetBytes?: Uint8Array; tensors: tf.Tensor[] }> => {
    if (isFirst) {
      const batch = draw();
      return timed("codecMs", () => ({
        input: batch.ids,
        inputActHash: hashTokenIds(batch.ids.shape, batch.ids.dataSync() as Int32Array),
        ...(isLast
          ? { targets: batch.targets }
          : { targetBytes: encodeTargets(batch.targets.shape, batch.targets.dataSync() as Int32Array) }),
        tensors: [batch.ids, batch.targets],
      }));
    }
    const frame = await timed("idleMs", () => (prev as PipeLink).receive("activation", round, m));
    return timed("codecMs", () => {
      const decoded = decodeFromPeer(prev as PipeLink, frame.payload, decodeActivationPayload);
      const input = tf.tensor(decoded.values, decoded.shape, "float32");
      if (!isLast) return { input, inputActHash: decoded.hash, targetBytes: decoded.targets.bytes, tensors: [input] };
      const targets = tf.tensor(decoded.targets.ids, decoded.targets.shape, "int32");
      return { input, inputActHash: decoded.hash, targets, tensors: [input, targets] };
    });
  };

  /** Sends `output` with the microbatch's targets to stage s+1; returns the payload's hash. */
  const sendActivation = async (m: number, output: tf.Tensor, targetBytes: Uint8Array): Promise<Hex> => {
    const sent = await timed("codecMs", () => encodeActivationPayload(output.shape, output.dataSync() as Float32Array, wire, targetBytes));
    await timed("codecMs", () => (next as PipeLink).send({ kind: "activation", round, microbatch: m, payload: sent.bytes }));
    return sent.hash;
  };

  const forward = async (m: number): Promise<void> => {
    const {
      input,
      inputActHash,
      targets,
      targetBytes,
      tensors: keep,
    } = await takeInput(m, () => (data as MicrobatchSource)(head as Address, round, m));
    const record: Partial<MicrobatchRecord> = { index: m, weightsRoot: stepRoot, inputActHash };
    const output = await timed("forwardMs", () => {
      const out = stage.forward(m, input, targets);
      out.dataSync(); // Keep lazy backends honest: the compute happens here, not in the codec.
      return out;
    });
    keep.push(output);
    if (isLast) {
      const loss = (output.dataSync() as Float32Array)[0] as number;
      losses.set(m, loss);
      record.outputActHash = hashScalarLoss(loss);
    } else record.outputActHash = await sendActivation(m, output, targetBytes as Uint8Array);
    partial.set(m, record);
    owned.set(m, keep);
  };

  const backward = async (m: number): Promise<void> => {
    const record = partial.get(m);
    if (!record) throw new Error(`backward of microbatch ${m} before its forward`);
    let outputGrad: tf.Tensor | undefined;
    if (isLast) record.upstreamGradHash = zeroHash;
    else {
      const frame = await timed("idleMs", () => (next as PipeLink).receive("gradient", round, m));
      outputGrad = await timed("codecMs", () => {
        const decoded = decodeFromPeer(next as PipeLink, frame.payload, decodeWireTensor);
        record.upstreamGradHash = decoded.hash;
        return tf.tensor(decoded.values, decoded.shape, "float32");
      });
    }
    const result = await timed("backwardMs", () => stage.backward(m, outputGrad));
    record.parameterGradient = result.parameterGradient;
    if (isFirst) record.inputGradHash = zeroHash;
    else {
      const inputGrad = result.inputGrad;
      if (!inputGrad) throw new Error(`stage ${stage.index} returned no input gradient for microbatch ${m}`);
      const wireTensor = await timed("codecMs", () => encodeWireTensor(inputGrad.shape, inputGrad.dataSync() as Float32Array, wire));
      record.inputGradHash = wireTensor.hash;
      await timed("codecMs", () => (prev as PipeLink).send({ kind: "gradient", round, microbatch: m, payload: wireTensor.bytes }));
    }
    result.inputGrad?.dispose();
    outputGrad?.dispose();
    for (const t of owned.get(m) ?? []) t.dispose();
    owned.delete(m);
  };

  /** Forward only, nothing kept: the held-out loss of the weights the round ended with. */
  const evaluate = async (m: number, e: number): Promise<number | undefined> => {
    const { input, targets, targetBytes, tensors: held } = await takeInput(m, () => (evaluation?.data as (e: number) => MicrobatchData)(e));
    try {
      const output = await timed("forwardMs", () => stage.infer(input));
      held.push(output);
      if (!isLast) {
        await sendActivation(m, output, targetBytes as Uint8Array);
        return undefined;
      }
      const vocab = output.shape[output.shape.length - 1] as number;
      return tf.tidy(() => crossEntropy(tf.reshape(output, [-1, vocab]), targets as tf.Tensor).dataSync()[0] as number);
    } finally {
      tf.dispose(held);
    }
  };

  for (let k = 0; k < steps; k++) {
    await timed("codecMs", () => {
      const weights = stage.exportWeights();
      stepRoot = fastWeightsRoot(weights);
      stepWeights.push({ step: k, root: stepRoot, weights });
    });
    const first = k * microbatches;
    for (const op of stageSchedule(parameters.schedule, stage.index, stage.count, microbatches)) {
      if (op.op === "forward") await forward(first + op.microbatch);
      else await backward(first + op.microbatch);
    }
    await timed("stepMs", () => stage.step());
  }
  const evalLosses: number[] = [];
  for (let e = 0; e < (evaluation?.microbatches ?? 0); e++) {
    const loss = await evaluate(steps * microbatches + e, e);
    if (loss !== undefined) evalLosses.push(loss);
  }
  timings.wallMs = now() - start;
  timings.busyMs = timings.wallMs - timings.idleMs;

  const records = [...partial.values()].sort((a, b) => (a.index as number) - (b.index as number)) as MicrobatchRecord[];
  return {
    round,
    stage: stage.index,
    records,
    losses: [...losses.entries()].sort((a, b) => a[0] - b[0]).map(([, loss]) => loss),
    stepWeights,
    evalLoss: evalLosses.length ? evalLosses.reduce((a, b) => a + b, 0) / evalLosses.length : undefined,
    bytesSent: (prev?.stats.bytesSent ?? 0) + (next?.stats.bytesSent ?? 0) - sentBefore,
    bytesReceived: (prev?.stats.bytesReceived ?? 0) + (next?.stats.bytesReceived ?? 0) - receivedBefore,
    timings,
  };
}
