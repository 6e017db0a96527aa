import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { Journal, replay, saveCheckpoint } from "../journal/index.ts";
import { commitRound, journalMicrobatch } from "./commitment.ts";
import { firstRoundToTrain, missingCommittedRound, roundRange } from "./rounds.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("which rounds a (re)started stage still needs", () => {
  it("firstRoundToTrain_skipsDurableRounds_butNotARoundThatOnlyStarted", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "rounds-"));
    dirs.push(dir);
    const journal = await Journal.open(dir, { modelId: 1n, stage: 0, worker: privateKeyToAccount(generatePrivateKey()).address });
    const weights = new Float32Array(16).fill(0.25);
    expect(firstRoundToTrain(replay(journal.records), 0n, 3n)).toBe(0n);
    for (const round of [0n, 1n]) {
      await saveCheckpoint(journal, { round, step: -1, weights });
      await saveCheckpoint(journal, { round, step: 0, weights });
    }
    // Round 2 started (its start checkpoint exists) but its step was never made durable.
    await saveCheckpoint(journal, { round: 2n, step: -1, weights });
    const state = replay(journal.records);
    expect(firstRoundToTrain(state, 0n, 3n)).toBe(2n);
    // The chain's clock moved past what the journal holds: start from the chain's round.
    expect(firstRoundToTrain(state, 3n, 5n)).toBe(3n);
    // Everything durable: one past `until`, and the agreed range is then empty.
    expect(firstRoundToTrain(state, 0n, 1n)).toBe(2n);
    expect(roundRange(2n, 1n)).toEqual([]);
    expect(roundRange(2n, 4n)).toEqual([2n, 3n, 4n]);
    await journal.close();
  });

  it("missingCommittedRound_aDeletedJournal_isCaughtByTheChainsCommitmentOfThePreviousRound", async () => {
    const worker = privateKeyToAccount(generatePrivateKey()).address;
    const who = { modelId: 1n, stage: 0, worker };
    const open = async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "rounds-lost-"));
      dirs.push(dir);
      return Journal.open(dir, who);
    };
    const onChain = new Set<bigint>([0n, 1n]);
    const isStored = async (round: bigint) => onChain.has(round);
    // The journal that committed rounds 0 and 1 is consistent with the chain.
    const kept = await open();
    const weights = new Float32Array(16).fill(0.25);
    const hash = (k: number) => `0x${k.toString(16).padStart(64, "0")}` as const;
    const neighbours = { upstream: zeroAddress, downstream: hash(5).slice(0, 42) as `0x${string}` };
    for (const round of [0n, 1n]) {
      await saveCheckpoint(kept, { round, step: -1, weights });
      await journalMicrobatch(kept, {
        round,
        step: 0,
        record: {
          index: 0,
          inputActHash: hash(1),
          outputActHash: hash(2),
          upstreamGradHash: hash(3),
          inputGradHash: hash(4),
          parameterGradient: weights,
          weightsRoot: hash(5),
        },
        neighbours,
      });
      await kept.append({ type: "step", round, step: 0, tokens: 0, microbatches: 1, neighbours });
      await saveCheckpoint(kept, { round, step: 0, weights });
      await commitRound(kept, { ...who, round, expectedItems: 1 });
    }
    const keptState = replay(kept.records);
    expect(
      await missingCommittedRound({ state: keptState, firstRound: firstRoundToTrain(keptState, 2n, 5n), who, isStored }),
    ).toBeUndefined();
    // A fresh journal (the old one deleted) would train round 2 from the initial weights.
    const fresh = replay((await open()).records);
    expect(firstRoundToTrain(fresh, 2n, 5n)).toBe(2n);
    expect(await missingCommittedRound({ state: fresh, firstRound: 2n, who, isStored })).toBe(1n);
    // A worker that never committed the round before may start anywhere; round 0 has no predecessor.
    expect(await missingCommittedRound({ state: fresh, firstRound: 4n, who, isStored })).toBeUndefined();
    expect(await missingCommittedRound({ state: fresh, firstRound: 0n, who, isStored })).toBeUndefined();
    await kept.close();
  });
});
