import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Hex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import type { SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import { Journal, replay, saveCheckpoint } from "../journal/index.ts";
import { journalMicrobatch } from "./commitment.ts";
import type { CommitmentLedger } from "./ledger.ts";
import { submitFinishedWork } from "./rounds.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** An in-memory ledger: stores what it is sent, mines every batch at once. */
function memoryLedger(): CommitmentLedger & { batches: SignedCommitment[][] } {
  const stored = new Set<string>();
  const batches: SignedCommitment[][] = [];
  let nonce = 0;
  const sender = privateKeyToAccount(generatePrivateKey()).address;
  return {
    sender,
    batches,
    nonce: async () => nonce,
    isStored: async (c) => stored.has(`${c.round}:${c.stage}:${c.worker}`),
    commitWindowClosed: async () => false,
    submit: async (batch, hooks) => {
      batches.push([...batch]);
      for (const s of batch) stored.add(`${s.commitment.round}:${s.commitment.stage}:${s.commitment.worker}`);
      const txHash: Hex = `0x${(++nonce).toString(16).padStart(64, "0")}`;
      await hooks?.onSent?.(txHash);
      return { txHash, status: "success", blockNumber: BigInt(nonce) };
    },
    receipt: async () => undefined,
  };
}

describe("submitFinishedWork: finished work goes out before any neighbour is needed", () => {
  it("test_durableUncommittedRound_isCommittedSignedAndSubmitted_once", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "finished-"));
    dirs.push(dir);
    const signer = privateKeyToAccount(generatePrivateKey());
    const worker = privateKeyToAccount(generatePrivateKey()).address;
    const who = { modelId: 1n, stage: 0, worker };
    const journal = await Journal.open(dir, who);
    const weights = new Float32Array(16).fill(0.5);
    const hash = (k: number) => `0x${k.toString(16).padStart(64, "0")}` as const;
    // What a kill between a round's end checkpoint and its commitment record leaves behind.
    await saveCheckpoint(journal, { round: 4n, step: -1, weights });
    const neighbours = { upstream: zeroAddress, downstream: who.worker };
    await journalMicrobatch(journal, {
      round: 4n,
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
    await journal.append({ type: "step", round: 4n, step: 0, tokens: 0, microbatches: 1, neighbours });
    await saveCheckpoint(journal, { round: 4n, step: 0, weights });
    const ledger = memoryLedger();
    const p = {
      journal,
      ...who,
      signer,
      ledger,
      ledgerAddress: privateKeyToAccount(generatePrivateKey()).address,
      chainId: 31337,
      microbatches: 1,
      firstOpenRound: 4n,
    };

    const first = await submitFinishedWork(p);
    expect(first.confirmed).toHaveLength(1);
    expect(ledger.batches.map((b) => b.map((s) => s.commitment.round))).toEqual([[4n]]);
    const state = replay(journal.records);
    expect([...state.commitments.values()].map((c) => [c.commitment.round, c.status])).toEqual([[4n, "confirmed"]]);

    // A second start (or the session's own call) sends nothing more.
    const again = await submitFinishedWork(p);
    expect(again.confirmed).toEqual([]);
    expect(ledger.batches).toHaveLength(1);
    await journal.close();
  });
});
