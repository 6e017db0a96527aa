import * as tf from "@tensorflow/tfjs";
import { type Address, type Hex, zeroHash } from "viem";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import {
  decodeActivationPayload,
  decodeWireTensor,
  encodeActivationPayload,
  encodeTargets,
  encodeWireTensor,
  hashScalarLoss,
  hashTokenIds,
  type WireFormat,
} from "../../worker/p2p/wire.ts";
import type { MicrobatchRecord } from "../../worker/pipeline/runner.ts";
import { type ScheduleName, stageSchedule } from "../../worker/pipeline/schedule.ts";
import type { MicrobatchSource, PipelineStage } from "../../worker/pipeline/types.ts";

/**
 * Single-process reference of one round of `steps` optimizer steps (default 1) of `microbatches`
 * each: every stage in this process, chained directly with the
 * same wire codec (`wire`) or none (`"exact"`: float tensors passed as they are). Used to check
 * that the distributed pipeline computes the same gradients; it necessarily holds all stages,
 * so it is a test and validation tool, never a worker.
 */
export function referenceRound(parameters: {
  stages: PipelineStage[];
  round: bigint;
  /** Microbatches per step (M). */
  microbatches: number;
  steps?: number | undefined;
  data: MicrobatchSource;
  /** The pipeline's head: the stage-0 address the data is drawn for. */
  head: Address;
  wire: WireFormat | "exact";
  /** The pipeline's schedule: its backward order is replayed (default "1f1b"). */
  schedule?: ScheduleName | undefined;
}): { records: MicrobatchRecord[][]; losses: number[] } {
  const { stages, round, microbatches, data, head, wire } = parameters;
  const schedule = parameters.schedule ?? "1f1b";
  const S = stages.length;
  const records: MicrobatchRecord[][] = stages.map(() => []);
  const losses: number[] = [];
  // Passes a float tensor across a stage boundary the way the wire would: activations inside an
  // activation payload with the microbatch's targets (`targets` set), gradients alone.
  const cross = (t: tf.Tensor, targets?: Uint8Array): { tensor: tf.Tensor; hash: Hex } => {
    if (wire === "exact") return { tensor: t.clone(), hash: zeroHash };
    const values = t.dataSync() as Float32Array;
    const got = targets
      ? decodeActivationPayload(encodeActivationPayload(t.shape, values, wire, targets).bytes)
      : decodeWireTensor(encodeWireTensor(t.shape, values, wire).bytes);
    return { tensor: tf.tensor(got.values, got.shape, "float32"), hash: got.hash };
  };
  for (let k = 0; k < (parameters.steps ?? 1); k++) {
    const roots = stages.map((stage) => weightsRoot(stage.exportWeights()));
    referenceStep(k * microbatches, roots);
  }
  return { records, losses };

  /** One optimizer step: microbatches `first .. first + M - 1`, then `step()` on every stage. */
  function referenceStep(first: number, roots: Hex[]): void {
    const partial: Partial<MicrobatchRecord>[][] = [];
    const keep: tf.Tensor[][] = [];
    for (let j = 0; j < microbatches; j++) {
      const m = first + j;
      const batch = data(head, round, m);
      const targets = encodeTargets(batch.targets.shape, batch.targets.dataSync() as Int32Array);
      const rec: Partial<MicrobatchRecord>[] = stages.map((_, s) => ({ index: m, weightsRoot: roots[s] as Hex }));
      const kept: tf.Tensor[] = [batch.ids, batch.targets];
      partial.push(rec);
      keep.push(kept);
      let x: tf.Tensor = batch.ids;
      (rec[0] as Partial<MicrobatchRecord>).inputActHash = hashTokenIds(batch.ids.shape, batch.ids.dataSync() as Int32Array);
      for (let s = 0; s < S; s++) {
        const out = (stages[s] as PipelineStage).forward(m, x, s === S - 1 ? batch.targets : undefined);
        kept.push(out);
        if (s === S - 1) {
          const loss = (out.dataSync() as Float32Array)[0] as number;
          losses.push(loss);
          (rec[s] as Partial<MicrobatchRecord>).outputActHash = hashScalarLoss(loss);
        } else {
          const crossed = cross(out, targets);
          (rec[s] as Partial<MicrobatchRecord>).outputActHash = crossed.hash;
          (rec[s + 1] as Partial<MicrobatchRecord>).inputActHash = crossed.hash;
          kept.push(crossed.tensor);
          x = crossed.tensor;
        }
      }
    }
    // Backwards in the schedule's order, as the pipeline runs them (stages sum gradients in
    // microbatch order at `step()`, so the weights do not depend on it; the test proves it).
    const order = stageSchedule(schedule, S - 1, S, microbatches)
      .filter((op) => op.op === "backward")
      .map((op) => op.microbatch);
    for (const j of order) {
      const m = first + j;
      const rec = partial[j] as Partial<MicrobatchRecord>[];
      let dy: tf.Tensor | undefined;
      (rec[S - 1] as Partial<MicrobatchRecord>).upstreamGradHash = zeroHash;
      for (let s = S - 1; s >= 0; s--) {
        const result = (stages[s] as PipelineStage).backward(m, dy);
        const record = rec[s] as Partial<MicrobatchRecord>;
        record.parameterGradient = result.parameterGradient;
        if (s === 0) {
          record.inputGradHash = zeroHash;
          result.inputGrad?.dispose();
        } else {
          const crossed = cross(result.inputGrad as tf.Tensor);
          record.inputGradHash = crossed.hash;
          (rec[s - 1] as Partial<MicrobatchRecord>).upstreamGradHash = crossed.hash;
          result.inputGrad?.dispose();
          dy?.dispose();
          dy = crossed.tensor;
        }
      }
      dy?.dispose();
      for (const t of keep[j] as tf.Tensor[]) t.dispose();
    }
    partial.forEach((rec) => rec.forEach((r, s) => (records[s] as MicrobatchRecord[]).push(r as MicrobatchRecord)));
    for (const stage of stages) stage.step();
  }
}
