import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Address, type Hex, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainingMicrobatch } from "../../worker/data/batches.ts";
import { stageParameterCount, stageParameters } from "../../worker/model/layout.ts";
import { dataParameters, defaultModelSpec, type ModelSpec } from "../../worker/model/spec.ts";
import { createStage } from "../../worker/model/stage.ts";
import { hashTokenIds, type WireFormat } from "../../worker/p2p/wire.ts";
import type { ScheduleName } from "../../worker/pipeline/schedule.ts";
import { referenceRound } from "../../dev/pipeline/reference.ts";
import { relativeL2 } from "../../worker/validator/tolerance.ts";
import { runStageProcesses, type StageEvent, type StageProcess } from "../../worker/pipeline/launch.ts";
import type { MicrobatchSource, PipelineStage } from "../../worker/pipeline/types.ts";

const MODEL_ID = 7n;
/** An end-of-work marker on the wire: u32 length, 13-byte header, `{"round":"0"}` (docs/PROTOCOL.md "End of work"). */
const END_MARKER_FRAME_BYTES = 4 + 13 + 13;
const ROUNDS = 4;
const MICROBATCHES = 4;
const tiny = (stageCount: number): ModelSpec =>
  defaultModelSpec({
    stageCount,
    layers: stageCount,
    dModel: 32,
    heads: 2,
    contextLength: 16,
    microbatchSize: 4,
    microbatchesPerStep: MICROBATCHES,
    learningRate: 1e-2,
  });

type RoundRecord = { index: number; inputActHash: Hex; outputActHash: Hex; upstreamGradHash: Hex; inputGradHash: Hex };
type RoundEvent = StageEvent & {
  round: string;
  head?: string;
  losses: number[];
  bytesSent: number;
  bytesReceived: number;
  records: RoundRecord[];
};
type AuditEvent = StageEvent & {
  parameterCount: number;
  variables: { name: string; size: number }[];
  received: { kind: string; count: number; payloadBytes: number }[];
};

const dirs: string[] = [];
beforeAll(async () => {
  await tf.setBackend("wasm");
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function trainPipeline(
  spec: ModelSpec,
  wire: WireFormat,
  schedule: ScheduleName,
): Promise<{ procs: StageProcess[]; gradientsDir: string }> {
  const gradientsDir = mkdtempSync(join(tmpdir(), "shardholder-pipe-"));
  dirs.push(gradientsDir);
  const procs = await runStageProcesses(spec.stages.length, () => ({
    model: { kind: "transformer", spec },
    modelId: MODEL_ID.toString(),
    rounds: ROUNDS,
    microbatches: MICROBATCHES,
    schedule,
    wire,
    backend: "wasm",
    gradientsDir,
  }));
  return { procs, gradientsDir };
}

const roundsOf = (p: StageProcess): RoundEvent[] => p.all("round") as RoundEvent[];
const meanLoss = (e: RoundEvent): number => e.losses.reduce((a, b) => a + b, 0) / e.losses.length;
const readGradient = (dir: string, s: number, r: number, m: number): Float32Array => {
  const b = readFileSync(join(dir, `s${s}-r${r}-m${m}.f32`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function dataOf(spec: ModelSpec): MicrobatchSource {
  const params = dataParameters(spec);
  return (head, round, index) => {
    const b = trainingMicrobatch(params, MODEL_ID, round, head, index);
    const shape = [b.batchSize, b.contextLength];
    return { ids: tf.tensor(b.inputs, shape, "int32"), targets: tf.tensor(b.targets, shape, "int32") };
  };
}

/** The address stage 0 drew its data for (its hello key: these processes run without a chain). */
const headOf = (procs: StageProcess[]): Address => (roundsOf(procs[0] as StageProcess)[0] as RoundEvent).head as Address;

/** Stage s's microbatch records form the hash chain of docs/PROTOCOL.md with stage s+1. */
function expectHashChain(spec: ModelSpec, procs: StageProcess[]): void {
  const S = procs.length;
  const data = dataParameters(spec);
  const head = headOf(procs);
  for (let r = 0; r < ROUNDS; r++) {
    const perStage = procs.map((p) => (roundsOf(p)[r] as RoundEvent).records);
    for (let m = 0; m < MICROBATCHES; m++) {
      const batch = trainingMicrobatch(data, MODEL_ID, BigInt(r), head, m);
      expect(perStage[0]?.[m]?.inputActHash).toBe(hashTokenIds([batch.batchSize, batch.contextLength], batch.inputs));
      expect(perStage[0]?.[m]?.inputGradHash).toBe(zeroHash);
      expect(perStage[S - 1]?.[m]?.upstreamGradHash).toBe(zeroHash);
      for (let s = 0; s + 1 < S; s++) {
        const here = perStage[s]?.[m] as RoundRecord;
        const there = perStage[s + 1]?.[m] as RoundRecord;
        expect(here.outputActHash).toBe(there.inputActHash);
        expect(here.upstreamGradHash).toBe(there.inputGradHash);
        expect(here.outputActHash).not.toBe(zeroHash);
        expect(here.upstreamGradHash).not.toBe(zeroHash);
      }
    }
  }
}

/** What each stage process created and received: only its own stage's parameters, only activations/gradients. */
function expectNoForeignParameters(spec: ModelSpec, procs: StageProcess[], wire: WireFormat): void {
  const S = procs.length;
  const act = spec.microbatchSize * spec.contextLength * spec.dModel;
  const tensorBytes = 2 + 4 * 3 + (wire === "int8" ? 4 + act : 4 * act);
  // Activation payloads carry the microbatch's int32 targets [B, T] after the activation.
  const targetsBytes = 2 + 4 * 2 + 4 * spec.microbatchSize * spec.contextLength;
  const seen = new Set<string>();
  for (let s = 0; s < S; s++) {
    const audit = (procs[s] as StageProcess).all("audit")[0] as AuditEvent;
    const names = audit.variables.map((v) => v.name.replace(/^stage\d+#\d+\//, ""));
    expect(names).toEqual(stageParameters(spec, s).map((p) => p.name));
    expect(audit.variables.every((v) => v.name.startsWith(`stage${s}#`))).toBe(true);
    expect(audit.variables.reduce((n, v) => n + v.size, 0)).toBe(stageParameterCount(spec, s));
    expect(audit.parameterCount).toBe(stageParameterCount(spec, s));
    for (const n of names) {
      expect(seen.has(n), `${n} held by two processes`).toBe(false);
      seen.add(n);
    }
    const received = new Map(audit.received.map((r) => [r.kind, r]));
    // Both ends of every link open with a signed hello, so each stage receives one per neighbour.
    const expectedKinds = ["hello", ...(s > 0 ? ["activation"] : []), ...(s < S - 1 ? ["gradient"] : [])].sort();
    expect([...received.keys()].sort()).toEqual(expectedKinds);
    for (const kind of ["activation", "gradient"]) {
      const r = received.get(kind);
      if (!r) continue;
      expect(r.count).toBe(ROUNDS * MICROBATCHES);
      // Every tensor received is exactly one [B, T, d] activation-sized tensor (activations with
      // their [B, T] targets): no weights arrive.
      expect(r.payloadBytes).toBe(r.count * (tensorBytes + (kind === "activation" ? targetsBytes : 0)));
    }
  }
  const all = spec.stages.flatMap((_, s) => stageParameters(spec, s).map((p) => p.name));
  expect([...seen].sort()).toEqual([...all].sort());
}

/** Re-runs every round in this process with all stages and compares gradients, hashes and losses. */
function compareWithReference(
  spec: ModelSpec,
  procs: StageProcess[],
  gradientsDir: string,
  wire: WireFormat | "exact",
  schedule: ScheduleName,
): number {
  const stages: PipelineStage[] = spec.stages.map((_, s) => createStage(spec, s));
  const data = dataOf(spec);
  const head = headOf(procs);
  let worst = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const ref = referenceRound({ stages, round: BigInt(r), microbatches: MICROBATCHES, data, head, wire, schedule });
      for (let s = 0; s < stages.length; s++)
        for (let m = 0; m < MICROBATCHES; m++) {
          const err = relativeL2(
            readGradient(gradientsDir, s, r, m),
            (ref.records[s]?.[m] as { parameterGradient: Float32Array }).parameterGradient,
          );
          worst = Math.max(worst, err);
          if (wire !== "exact") {
            const got = (roundsOf(procs[s] as StageProcess)[r] as RoundEvent).records[m] as RoundRecord;
            const want = ref.records[s]?.[m] as RoundRecord;
            expect([got.inputActHash, got.outputActHash, got.upstreamGradHash, got.inputGradHash]).toEqual([
              want.inputActHash,
              want.outputActHash,
              want.upstreamGradHash,
              want.inputGradHash,
            ]);
          }
        }
      if (wire !== "exact") expect((roundsOf(procs[stages.length - 1] as StageProcess)[r] as RoundEvent).losses).toEqual(ref.losses);
      if (wire === "exact") break; // Only round 0 starts from identical weights when the wire differs.
    }
  } finally {
    for (const s of stages) s.dispose();
  }
  return worst;
}

function expectLossFalls(procs: StageProcess[]): void {
  const rounds = roundsOf(procs[procs.length - 1] as StageProcess);
  expect(rounds).toHaveLength(ROUNDS);
  const first = meanLoss(rounds[0] as RoundEvent);
  const last = meanLoss(rounds[ROUNDS - 1] as RoundEvent);
  expect(last).toBeLessThan(first * 0.95);
}

describe("multi-process pipeline over libp2p (real transformer stages, wasm)", () => {
  it("threeStages_int8Wire_1f1b_lossFalls_hashChainHolds_gradientsMatchReference", async () => {
    const spec = tiny(3);
    const { procs, gradientsDir } = await trainPipeline(spec, "int8", "1f1b");
    expect(procs.map((p) => p.all("error"))).toEqual([[], [], []]);
    expectLossFalls(procs);
    expectHashChain(spec, procs);
    expectNoForeignParameters(spec, procs, "int8");

    // Bytes on the wire per round: M frames of at most (4 length + 13 header + 18 tensor header +
    // B*T*d int8 + the targets' 10 header bytes and B*T int32), less where the lossless stage
    // shrinks them; what one stage sends, its neighbours receive.
    const frame = 4 + 13 + 18 + spec.microbatchSize * spec.contextLength * spec.dModel + 10 + 4 * spec.microbatchSize * spec.contextLength;
    roundsOf(procs[1] as StageProcess).forEach((mid, r) => {
      const [first, last] = [roundsOf(procs[0] as StageProcess)[r], roundsOf(procs[2] as StageProcess)[r]] as [RoundEvent, RoundEvent];
      // A neighbour that finished its last round sends its end-of-work marker at once, and a stage
      // still in that round counts it: one marker frame at most, in the last round only.
      const markers = r === ROUNDS - 1 ? [0, END_MARKER_FRAME_BYTES] : [0];
      expect(markers).toContain(mid.bytesReceived - (first.bytesSent + last.bytesSent));
      expect(markers).toContain(mid.bytesSent - (first.bytesReceived + last.bytesReceived));
    });
    const sentPerRound = (r: number) => procs.reduce((n, p) => n + (roundsOf(p)[r] as RoundEvent).bytesSent, 0);
    for (let r = 0; r < ROUNDS; r++) expect(sentPerRound(r)).toBeLessThan(4 * MICROBATCHES * frame);

    // Same wire codec in one process: identical hashes and losses, gradients equal to float32 rounding.
    const sameCodec = compareWithReference(spec, procs, gradientsDir, "int8", "1f1b");
    expect(sameCodec).toBeLessThanOrEqual(1e-6);
    // The reference replaying GPipe's backward order reproduces the 1F1B pipeline bit for bit over
    // every round (losses compared exactly): gradients are summed in microbatch order, not arrival order.
    expect(compareWithReference(spec, procs, gradientsDir, "int8", "gpipe")).toBeLessThanOrEqual(1e-6);
    // Against float32 end to end (no quantization), round 0: what the int8 wire costs.
    const vsExact = compareWithReference(spec, procs, gradientsDir, "exact", "1f1b");
    expect(vsExact).toBeLessThanOrEqual(0.1);
    console.info(
      `3 stages int8: worst relative L2 gradient error vs same-codec reference ${sameCodec}, vs unquantized ${vsExact.toFixed(4)}`,
    );
  });

  it("twoStages_float32Wire_gpipe_lossFalls_gradientsMatchUnquantizedReference", async () => {
    const spec = tiny(2);
    const { procs, gradientsDir } = await trainPipeline(spec, "float32", "gpipe");
    expectLossFalls(procs);
    expectHashChain(spec, procs);
    expectNoForeignParameters(spec, procs, "float32");
    const frame =
      4 + 13 + 14 + 4 * spec.microbatchSize * spec.contextLength * spec.dModel + 10 + 4 * spec.microbatchSize * spec.contextLength;
    for (const p of procs) for (const e of roundsOf(p)) expect(e.bytesSent).toBeLessThanOrEqual(MICROBATCHES * frame);
    const err = compareWithReference(spec, procs, gradientsDir, "float32", "gpipe");
    expect(err).toBeLessThanOrEqual(1e-6);
    console.info(`2 stages float32: worst relative L2 gradient error vs reference ${err}`);
  });
});
