import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { Journal, replay, saveCheckpoint } from "../journal/index.ts";
import { firstRoundToTrain, roundRange } from "./rounds.ts";

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
});
