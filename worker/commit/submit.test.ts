import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { gradRoot, itemsTree, recoverCommitmentSigner } from "../../sdk/protocol/index.ts";
import { WitnessChain } from "../../test/worker/journalWitness.ts";
import { Journal, replay, saveCheckpoint } from "../journal/index.ts";
import { commitRound, journalMicrobatch, signBuiltCommitments, type StageMicrobatchRecord, toItem } from "./commitment.ts";
import type { CommitmentLedger } from "./ledger.ts";
import { flushCommitments, submitPending } from "./submit.ts";

const ledgerAddress = getAddress("0x000000000000000000000000000000000000c0de");
const signer = privateKeyToAccount(generatePrivateKey());
const worker: Address = privateKeyToAccount(generatePrivateKey()).address;
const chainId = 31337;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function record(index: number, round: number): StageMicrobatchRecord {
  const hash = (k: number) => `0x${(index * 31 + round * 7 + k).toString(16).padStart(64, "0")}` as const;
  const parameterGradient = new Float32Array(4100).map((_, i) => Math.sin(i + index + round) * 1e-3);
  return { index, inputActHash: hash(1), outputActHash: hash(2), upstreamGradHash: hash(3), inputGradHash: hash(4), parameterGradient };
}

/** A journal with `rounds` rounds of 3 microbatches each, committed and signed. */
async function signedJournal(rounds: number): Promise<Journal> {
  const dir = await mkdtemp(path.join(tmpdir(), "commit-unit-"));
  dirs.push(dir);
  const journal = await Journal.open(dir, { modelId: 1n, stage: 0, worker });
  let weights = new Float32Array(4100).fill(0.5);
  for (let r = 0; r < rounds; r++) {
    const round = BigInt(r);
    await saveCheckpoint(journal, { round, step: -1, weights });
    for (let i = 0; i < 3; i++) await journalMicrobatch(journal, { round, step: 0, record: record(i, r) });
    weights = weights.map((w) => w * 0.9);
    await saveCheckpoint(journal, { round, step: 0, weights });
    await commitRound(journal, { modelId: 1n, round, stage: 0, worker, expectedItems: 3 });
  }
  await signBuiltCommitments(journal, signer, { ledger: ledgerAddress, chainId });
  return journal;
}

const newChain = () => new WitnessChain(ledgerAddress, chainId, new Map([[worker.toLowerCase(), signer.address]]));

describe("round commitments", () => {
  it("builds items with the SDK gradRoot and an itemsRoot the SDK tree reproduces, signed by the signing key", async () => {
    const journal = await signedJournal(1);
    const state = replay(journal.records);
    const [c] = [...state.commitments.values()];
    if (!c?.signature) throw new Error("not signed");
    const items = [0, 1, 2].map((i) => toItem(record(i, 0)));
    expect(items[1]?.gradRoot).toBe(gradRoot(record(1, 0).parameterGradient));
    expect(c.commitment).toMatchObject({ itemsRoot: itemsTree(items).root, itemCount: 3, worker, modelId: 1n, round: 0n, stage: 0 });
    expect(c.commitment.weightsRootBefore).not.toBe(c.commitment.weightsRootAfter);
    expect(await recoverCommitmentSigner({ ledger: ledgerAddress, chainId, commitment: c.commitment, signature: c.signature.signature })).toBe(signer.address);
    // Idempotent: committing the same round again changes nothing.
    const again = await commitRound(journal, { modelId: 1n, round: 0n, stage: 0, worker });
    expect(again.commitment).toEqual(c.commitment);
    expect(journal.records.filter((r) => r.type === "commitment")).toHaveLength(1);
    await journal.close();
  });

  it("submits in batches and never sends a stored commitment again", async () => {
    const journal = await signedJournal(5);
    const chain = newChain();
    const first = await flushCommitments(journal, chain.ledgerFor(worker), { batchSize: 2 });
    expect(first.transactions).toHaveLength(3);
    expect(first.confirmed).toHaveLength(5);
    const second = await flushCommitments(journal, chain.ledgerFor(worker), { batchSize: 2 });
    expect(second).toEqual({ confirmed: [], foundOnChain: [], requeued: [], transactions: [] });
    expect(chain.txs.map((t) => t.keys.length)).toEqual([2, 2, 1]);
    expect(chain.duplicateAttempts).toEqual([]);
    await journal.close();
  });
});

describe("resume after a crash during submission", () => {
  it("intent journaled and the transaction mined: found on chain, nothing resent", async () => {
    const journal = await signedJournal(2);
    const chain = newChain();
    const state = replay(journal.records);
    const signed = [...state.commitments.values()].map((c) => ({ commitment: c.commitment, signature: c.signature?.signature ?? "0x" }));
    await journal.append({ type: "submitIntent", batchId: "b0", keys: [...state.commitments.keys()], sender: worker, nonce: 0 });
    await chain.submit(worker, signed); // the crash hit after the node accepted it
    const result = await flushCommitments(journal, chain.ledgerFor(worker));
    expect(result.foundOnChain).toHaveLength(2);
    expect(result.transactions).toEqual([]);
    expect(chain.txs).toHaveLength(1);
    await journal.close();
  });

  it("intent journaled but never sent: requeued and sent once with the same nonce", async () => {
    const journal = await signedJournal(2);
    const chain = newChain();
    const keys = [...replay(journal.records).commitments.keys()];
    await journal.append({ type: "submitIntent", batchId: "b0", keys, sender: worker, nonce: 0 });
    const result = await flushCommitments(journal, chain.ledgerFor(worker));
    expect(result.requeued.sort()).toEqual([...keys].sort());
    expect(result.confirmed.sort()).toEqual([...keys].sort());
    expect(chain.txs.map((t) => t.nonce)).toEqual([0]);
    await journal.close();
  });

  it("a known transaction hash is settled by its receipt", async () => {
    const journal = await signedJournal(1);
    const chain = newChain();
    const state = replay(journal.records);
    const [c] = [...state.commitments.values()];
    if (!c?.signature) throw new Error("not signed");
    await journal.append({ type: "submitIntent", batchId: "b0", keys: [c.key], sender: worker, nonce: 0 });
    const mined = await chain.submit(worker, [{ commitment: c.commitment, signature: c.signature.signature }]);
    await journal.append({ type: "submitSent", batchId: "b0", txHash: mined.txHash });
    const result = await flushCommitments(journal, chain.ledgerFor(worker));
    expect(result.confirmed).toEqual([c.key]);
    expect(replay(journal.records).commitments.get(c.key)?.txHash).toBe(mined.txHash);
    await journal.close();
  });

  it("a nonce still in the mempool keeps the batch in doubt and blocks new sends", async () => {
    const journal = await signedJournal(2);
    const keys = [...replay(journal.records).commitments.keys()];
    await journal.append({ type: "submitIntent", batchId: "b0", keys: [keys[0] as string], sender: worker, nonce: 4 });
    let sends = 0;
    const stuck: CommitmentLedger = {
      sender: worker,
      nonce: async (tag) => (tag === "latest" ? 4 : 5),
      isStored: async () => false,
      submit: async () => {
        sends++;
        throw new Error("must not send");
      },
      receipt: async () => undefined,
    };
    const result = await flushCommitments(journal, stuck, { pendingTimeoutMs: 50, pollMs: 10 });
    expect(result).toEqual({ confirmed: [], foundOnChain: [], requeued: [], transactions: [] });
    expect(sends).toBe(0);
    expect(replay(journal.records).inDoubt.map((b) => b.batchId)).toEqual(["b0"]);
    await journal.close();
  });

  it("a commitment a relayer already stored is skipped; a refused simulation requeues and rethrows", async () => {
    const journal = await signedJournal(2);
    const chain = newChain();
    const state = replay(journal.records);
    const [first, second] = [...state.commitments.values()];
    if (!first?.signature || !second) throw new Error("setup");
    await chain.submit(getAddress("0x00000000000000000000000000000000000000bb"), [{ commitment: first.commitment, signature: first.signature.signature }]);
    const refusing: CommitmentLedger = { ...chain.ledgerFor(worker), submit: async () => Promise.reject(new Error("simulation reverted")) };
    await expect(submitPending(journal, refusing)).rejects.toThrow("simulation reverted");
    const after = replay(journal.records);
    expect(after.commitments.get(first.key)?.status).toBe("foundOnChain");
    expect(after.commitments.get(second.key)?.status).toBe("signed");
    expect(after.inDoubt).toEqual([]);
    const retried = await flushCommitments(journal, chain.ledgerFor(worker));
    expect(retried.confirmed).toEqual([second.key]);
    await journal.close();
  });
});
