import * as tf from "@tensorflow/tfjs";
import type { Libp2p } from "@libp2p/interface";
import { type Address, keccak256, stringToBytes, zeroHash } from "viem";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPipeNode } from "../p2p/node.ts";
import { tensorFrameLimits } from "../p2p/frames.ts";
import { localPipeAuth } from "../p2p/hello.ts";
import { openPipe, type StagePipe } from "../p2p/pipe.ts";
import type { WireFormat } from "../p2p/wire.ts";
import { referenceRound } from "../../dev/pipeline/reference.ts";
import { type RoundResult, runStageRound } from "./runner.ts";
import type { ScheduleName } from "./schedule.ts";
import { createToyStage, type ToySpec, toyMicrobatch } from "../../dev/pipeline/toyStage.ts";

const toy: ToySpec = { vocab: 16, width: 24, batch: 4, seqLen: 8, stages: 3, seed: 3, learningRate: 4 };
const data = (head: Address, round: bigint, index: number) => toyMicrobatch(toy, 9n, round, head, index);
const HEAD: Address = "0x00000000000000000000000000000000000000aa";
const M = 4;
const nodes: Libp2p[] = [];

beforeAll(async () => {
  await tf.setBackend("cpu");
});
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

async function connect(name: string): Promise<StagePipe[]> {
  const modelKey = keccak256(stringToBytes(name));
  const ns = await Promise.all([0, 1, 2].map(() => createPipeNode()));
  nodes.push(...ns);
  const addr = (s: number): string => (ns[s] as Libp2p).getMultiaddrs()[0]?.toString() as string;
  return Promise.all(
    [0, 1, 2].map(async (s) =>
      openPipe({
        node: ns[s] as Libp2p,
        stageIndex: s,
        stageCount: 3,
        modelKey,
        auth: await localPipeAuth(9n),
        limits: tensorFrameLimits([toy.batch, toy.seqLen, toy.width]),
        nextAddress: s < 2 ? addr(s + 1) : undefined,
      }),
    ),
  );
}

async function train(schedule: ScheduleName, wire: WireFormat, rounds: number): Promise<{ results: RoundResult[][]; tensors: number[] }> {
  const pipes = await connect(`${schedule}-${wire}`);
  const stages = [0, 1, 2].map((s) => createToyStage(toy, s));
  const results: RoundResult[][] = [];
  const tensors: number[] = [];
  for (let r = 0; r < rounds; r++) {
    results.push(
      await Promise.all(
        stages.map((stage, s) =>
          runStageRound({
            stage,
            round: BigInt(r),
            microbatches: M,
            schedule,
            wire,
            prev: pipes[s]?.prev,
            next: pipes[s]?.next,
            data,
            head: HEAD,
          }),
        ),
      ),
    );
    tensors.push(tf.memory().numTensors);
  }
  for (const s of stages) s.dispose();
  return { results, tensors };
}

describe("stage runner over in-process libp2p links", () => {
  for (const schedule of ["gpipe", "1f1b"] as const)
    it(`${schedule}_threeStages_hashChain_lossFalls_noTensorLeak_matchesReference`, async () => {
      const rounds = 6;
      const { results, tensors } = await train(schedule, "int8", rounds);
      for (const round of results) {
        for (let m = 0; m < M; m++) {
          expect(round[0]?.records[m]?.inputGradHash).toBe(zeroHash);
          expect(round[2]?.records[m]?.upstreamGradHash).toBe(zeroHash);
          for (let s = 0; s < 2; s++) {
            expect(round[s]?.records[m]?.outputActHash).toBe(round[s + 1]?.records[m]?.inputActHash);
            expect(round[s]?.records[m]?.upstreamGradHash).toBe(round[s + 1]?.records[m]?.inputGradHash);
          }
        }
        // Stage 0 and 2 send M frames each way once; stage 1 sends M activations and M gradients.
        // Frames are losslessly compressed when it pays (frames.ts): at most the raw size, and
        // every byte one stage sends its neighbour receives. Activation frames carry the int32
        // targets [B, T] after the activation (10 header bytes + 4 per id); gradients do not.
        const frame = 4 + 13 + 18 + toy.batch * toy.seqLen * toy.width + 10 + 4 * toy.batch * toy.seqLen;
        const [s0, s1, s2] = round as [RoundResult, RoundResult, RoundResult];
        expect(s1.bytesReceived).toBe(s0.bytesSent + s2.bytesSent);
        expect(s1.bytesSent).toBe(s0.bytesReceived + s2.bytesReceived);
        round.forEach((r, s) => expect(r.bytesSent).toBeLessThanOrEqual((s === 1 ? 2 : 1) * M * frame));
        expect(s0.bytesSent).toBeGreaterThan(0);
        for (const r of round) expect(r.timings.wallMs).toBeGreaterThanOrEqual(r.timings.idleMs);
      }
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(results[rounds - 1]?.[2]?.losses as number[])).toBeLessThan(0.9 * mean(results[0]?.[2]?.losses as number[]));
      expect(tensors[rounds - 1]).toBe(tensors[1]);

      const stages = [0, 1, 2].map((s) => createToyStage(toy, s));
      for (let r = 0; r < rounds; r++) {
        const ref = referenceRound({ stages, round: BigInt(r), microbatches: M, data, head: HEAD, wire: "int8", schedule });
        expect(ref.losses).toEqual(results[r]?.[2]?.losses);
        for (let s = 0; s < 3; s++) expect(ref.records[s]).toEqual(results[r]?.[s]?.records);
      }
      for (const s of stages) s.dispose();
    });

  it("roundOfManySteps_stepsOverConsecutiveIndices_recordsNameTheirStepWeights_matchesReference_thenEvaluates", async () => {
    const steps = 3;
    const pipes = await connect("many-steps");
    const stages = [0, 1, 2].map((s) => createToyStage(toy, s));
    const initial = stages.map((stage) => weightsRoot(stage.exportWeights()));
    const evalData = (e: number) => toyMicrobatch(toy, 9n, 1_000n, HEAD, e);
    const round = await Promise.all(
      stages.map((stage, s) =>
        runStageRound({
          stage,
          round: 5n,
          microbatches: M,
          steps,
          schedule: "1f1b",
          wire: "int8",
          prev: pipes[s]?.prev,
          next: pipes[s]?.next,
          data,
          head: HEAD,
          evaluation: { microbatches: 2, data: s === 0 ? evalData : undefined },
        }),
      ),
    );
    const after = stages.map((stage) => weightsRoot(stage.exportWeights()));
    round.forEach((r, s) => {
      expect(r.records.map((x) => x.index)).toEqual(Array.from({ length: steps * M }, (_, i) => i));
      expect(r.stepWeights.map((w) => w.root)).toEqual(r.stepWeights.map((w) => weightsRoot(w.weights)));
      expect(r.stepWeights[0]?.root).toBe(initial[s]);
      // Every step moved the weights: K distinct roots, none of them the round's end.
      expect(new Set([...r.stepWeights.map((w) => w.root), after[s]]).size).toBe(steps + 1);
      for (const rec of r.records) expect(rec.weightsRoot).toBe(r.stepWeights[Math.floor(rec.index / M)]?.root);
    });
    expect(round[2]?.losses).toHaveLength(steps * M);
    // The held-out forward ran on the end weights of every stage and reached the last one only.
    expect(round[2]?.evalLoss).toBeGreaterThan(0);
    expect(round[0]?.evalLoss).toBeUndefined();
    for (const s of stages) s.dispose();

    const reference = [0, 1, 2].map((s) => createToyStage(toy, s));
    const ref = referenceRound({ stages: reference, round: 5n, microbatches: M, steps, data, head: HEAD, wire: "int8", schedule: "1f1b" });
    for (let s = 0; s < 3; s++) expect(ref.records[s]).toEqual(round[s]?.records);
    expect(ref.losses).toEqual(round[2]?.losses);
    expect(reference.map((stage) => weightsRoot(stage.exportWeights()))).toEqual(after);
    for (const s of reference) s.dispose();
  });
});
