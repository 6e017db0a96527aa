import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, getAddress, parseEther, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { gradRoot, itemsTree, recoverCommitmentSigner, weightsRoot } from "../../sdk/protocol/index.ts";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { Journal, replay, roundItems, saveCheckpoint } from "../journal/index.ts";
import { commitRound, journalMicrobatch, signBuiltCommitments, type StageMicrobatchRecord, toItem } from "./commitment.ts";
import { sdkCommitmentLedger } from "./ledger.ts";
import { flushCommitments, submitPending } from "./submit.ts";

const signer = privateKeyToAccount(generatePrivateKey());
const ELEMENTS = 4100;
const initial = () => new Float32Array(ELEMENTS).fill(0.5);

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const DOWNSTREAM = getAddress("0x00000000000000000000000000000000000d0057");
/** Stage 0 of a 2-stage model: nobody upstream, some stage-1 worker downstream. */
const NEIGHBOURS = { upstream: zeroAddress, downstream: DOWNSTREAM };

function record(index: number, round: number): StageMicrobatchRecord {
  const hash = (k: number) => `0x${(index * 31 + round * 7 + k).toString(16).padStart(64, "0")}` as const;
  const parameterGradient = new Float32Array(ELEMENTS).map((_, i) => Math.sin(i + index + round) * 1e-3);
  return {
    index,
    inputActHash: hash(1),
    outputActHash: hash(2),
    upstreamGradHash: hash(3),
    inputGradHash: hash(4),
    parameterGradient,
    weightsRoot: hash(5),
  };
}

/** A journal of stage 0 holding one round of 3 microbatches, committed and signed for `ledger`. */
async function signedJournal({
  worker,
  round,
  ledger,
  chainId,
}: {
  worker: Address;
  round: bigint;
  ledger: Address;
  chainId: number;
}): Promise<Journal> {
  const dir = await mkdtemp(path.join(tmpdir(), "commit-unit-"));
  dirs.push(dir);
  const journal = await Journal.open(dir, { modelId: 1n, stage: 0, worker });
  const weights = initial();
  await saveCheckpoint(journal, { round, step: -1, weights });
  for (let i = 0; i < 3; i++)
    await journalMicrobatch(journal, { round, step: 0, record: record(i, Number(round)), neighbours: NEIGHBOURS });
  await journal.append({ type: "step", round, step: 0, tokens: 0, microbatches: 3, neighbours: NEIGHBOURS });
  await saveCheckpoint(journal, { round, step: 0, weights: weights.map((w) => w * 0.9) });
  await commitRound(journal, { modelId: 1n, round, stage: 0, worker, expectedItems: 3 });
  await signBuiltCommitments(journal, signer, { ledger, chainId });
  return journal;
}

describe("round commitments", () => {
  it("builds items with the SDK gradRoot and an itemsRoot the SDK tree reproduces, signed by the signing key", async () => {
    const ledgerAddress = getAddress("0x000000000000000000000000000000000000c0de");
    const chainId = 31337;
    const worker = privateKeyToAccount(generatePrivateKey()).address;
    const journal = await signedJournal({ worker, round: 0n, ledger: ledgerAddress, chainId });
    const state = replay(journal.records);
    const [c] = [...state.commitments.values()];
    if (!c?.signature) throw new Error("not signed");
    const items = [0, 1, 2].map((i) => toItem(record(i, 0), NEIGHBOURS));
    expect(items.map((i) => [i.index, i.microbatch, i.upstream, i.downstream])).toEqual(
      [0, 1, 2].map((m) => [m, m, zeroAddress, DOWNSTREAM]),
    );
    expect(items[1]?.gradRoot).toBe(gradRoot(record(1, 0).parameterGradient));
    expect(c.commitment).toMatchObject({ itemsRoot: itemsTree(items).root, itemCount: 3, worker, modelId: 1n, round: 0n, stage: 0 });
    expect(c.commitment.weightsRootBefore).not.toBe(c.commitment.weightsRootAfter);
    expect(
      await recoverCommitmentSigner({ ledger: ledgerAddress, chainId, commitment: c.commitment, signature: c.signature.signature }),
    ).toBe(signer.address);
    // Idempotent: committing the same round again changes nothing.
    const again = await commitRound(journal, { modelId: 1n, round: 0n, stage: 0, worker });
    expect(again.commitment).toEqual(c.commitment);
    expect(journal.records.filter((r) => r.type === "commitment")).toHaveLength(1);
    await journal.close();
  });

  it("a replica's round: items name each record's own neighbours (else the round's), slots ascend by microbatch", async () => {
    const [u1, u2] = [getAddress("0x00000000000000000000000000000000000000a1"), getAddress("0x00000000000000000000000000000000000000a2")];
    const roundNeighbours = { upstream: u1, downstream: zeroAddress };
    // A record's own neighbours win; the round's fill in what it leaves out.
    const own = toItem({ ...record(9, 0), upstream: u2 }, roundNeighbours);
    expect([own.index, own.microbatch, own.upstream, own.downstream]).toEqual([9, 9, u2, zeroAddress]);
    expect(toItem(record(9, 0), roundNeighbours).upstream).toBe(u1);

    const dir = await mkdtemp(path.join(tmpdir(), "commit-replica-"));
    dirs.push(dir);
    const worker = privateKeyToAccount(generatePrivateKey()).address;
    const journal = await Journal.open(dir, { modelId: 1n, stage: 1, worker });
    await saveCheckpoint(journal, { round: 0n, step: -1, weights: initial() });
    // Routed to this replica out of order: microbatches 5, 1 and 9 (9 re-routed from upstream replica u2).
    for (const r of [record(5, 0), record(1, 0), { ...record(9, 0), upstream: u2 }])
      await journalMicrobatch(journal, { round: 0n, step: 0, record: r, neighbours: roundNeighbours });
    await journal.append({ type: "step", round: 0n, step: 0, tokens: 0, microbatches: 3, neighbours: roundNeighbours });
    await saveCheckpoint(journal, { round: 0n, step: 0, weights: initial().map((w) => w * 0.9) });
    const state = replay(journal.records);
    const slotted = roundItems(state, 0n);
    expect(slotted.map((i) => [i.index, i.microbatch, i.upstream])).toEqual([
      [0, 1, u1],
      [1, 5, u1],
      [2, 9, u2],
    ]);
    const { commitment } = await commitRound(journal, { modelId: 1n, round: 0n, stage: 1, worker, expectedItems: 3 });
    expect(commitment.itemCount).toBe(3);
    expect(commitment.itemsRoot).toBe(itemsTree(slotted).root);
    // Not the tree of the provisional slots (slot = microbatch): the committed one is slotted 0..2.
    expect(commitment.itemsRoot).not.toBe(
      itemsTree([1, 5, 9].map((m) => toItem(m === 9 ? { ...record(m, 0), upstream: u2 } : record(m, 0), roundNeighbours))).root,
    );
    await journal.close();
  });
});

describe("submission against the real ComputeLedger, and resume after a crash during it", () => {
  let s: Shardholder;
  let next = 1;
  // Each test is its own worker (Hardhat accounts 1..11), all staked with the same signing key.
  const worker = () => {
    const i = next++;
    const wallet = s.wallets[i];
    if (!wallet) throw new Error(`no wallet ${i}`);
    return { address: accountAt(s, i), ledger: sdkCommitmentLedger(wallet, { deployments: s.deployments, account: wallet.account }) };
  };
  const journalOf = async (address: Address) =>
    signedJournal({
      worker: address,
      round: await getCurrentRound(s.publicClient, { deployments: s.deployments, modelId: 1n }),
      ledger: s.deployments.contracts.computeLedger,
      chainId: s.deployments.chainId,
    });
  const signedOf = (journal: Journal) =>
    [...replay(journal.records).commitments.values()].map((c) => ({ commitment: c.commitment, signature: c.signature?.signature ?? "0x" }));
  const stored = async (journal: Journal) => {
    const [c] = [...replay(journal.records).commitments.values()];
    if (!c) throw new Error("no commitment");
    return (await getCommitment(s.publicClient, { deployments: s.deployments, ...c.commitment })).found;
  };
  const nonceOf = (address: Address) => s.publicClient.getTransactionCount({ address, blockTag: "pending" });

  beforeAll(async () => {
    s = await deployShardholder();
    await registerModel(s.deployer, {
      deployments: s.deployments,
      spec: testSpec({ initialWeightsRoots: [weightsRoot(initial()), weightsRoot(new Float32Array(8))] }),
    });
    for (let i = 1; i <= 11; i++) {
      const wallet = s.wallets[i];
      if (!wallet) throw new Error("setup");
      await stake(wallet, { deployments: s.deployments, payout: accountAt(s, 9), signingKey: signer.address, valueWei: parseEther("2") });
    }
  });

  it("submits once and never sends a stored commitment again", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const first = await flushCommitments(journal, w.ledger);
    expect(first.transactions).toHaveLength(1);
    expect(first.confirmed).toHaveLength(1);
    expect((await s.publicClient.getTransactionReceipt({ hash: first.transactions[0] as `0x${string}` })).status).toBe("success");
    expect(await stored(journal)).toBe(true);
    const nonce = await nonceOf(w.address);
    const second = await flushCommitments(journal, w.ledger);
    expect(second).toEqual({ confirmed: [], foundOnChain: [], requeued: [], expired: [], transactions: [], deferred: [] });
    expect(await nonceOf(w.address)).toBe(nonce);
    await journal.close();
  });

  it("intent journaled and the transaction mined: found on chain, nothing resent", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const keys = [...replay(journal.records).commitments.keys()];
    const nonce = await nonceOf(w.address);
    await journal.append({ type: "submitIntent", batchId: "b0", keys, sender: w.address, nonce });
    await w.ledger.submit(signedOf(journal)); // the crash hit after the node accepted it
    const result = await flushCommitments(journal, w.ledger);
    expect(result.foundOnChain).toEqual(keys);
    expect(result.transactions).toEqual([]);
    expect(await nonceOf(w.address)).toBe(nonce + 1);
    await journal.close();
  });

  it("intent journaled but never sent: requeued and sent once with the same nonce", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const keys = [...replay(journal.records).commitments.keys()];
    const nonce = await nonceOf(w.address);
    await journal.append({ type: "submitIntent", batchId: "b0", keys, sender: w.address, nonce });
    const result = await flushCommitments(journal, w.ledger);
    expect(result.requeued).toEqual(keys);
    expect(result.confirmed).toEqual(keys);
    expect(result.transactions).toHaveLength(1);
    expect((await s.publicClient.getTransaction({ hash: result.transactions[0] as `0x${string}` })).nonce).toBe(nonce);
    await journal.close();
  });

  it("a known transaction hash is settled by its receipt", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const [key] = [...replay(journal.records).commitments.keys()];
    await journal.append({
      type: "submitIntent",
      batchId: "b0",
      keys: [key as string],
      sender: w.address,
      nonce: await nonceOf(w.address),
    });
    const mined = await w.ledger.submit(signedOf(journal));
    await journal.append({ type: "submitSent", batchId: "b0", txHash: mined.txHash });
    const result = await flushCommitments(journal, w.ledger);
    expect(result.confirmed).toEqual([key]);
    expect(result.transactions).toEqual([]);
    expect(replay(journal.records).commitments.get(key as string)?.txHash).toBe(mined.txHash);
    await journal.close();
  });

  it("a nonce still in the mempool keeps the batch in doubt and sends nothing until it is mined", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const keys = [...replay(journal.records).commitments.keys()];
    const nonce = await nonceOf(w.address);
    await journal.append({ type: "submitIntent", batchId: "b0", keys, sender: w.address, nonce });
    const provider = s.connection.provider;
    await provider.request({ method: "evm_setAutomine", params: [false] });
    let inFlight: Promise<unknown> | undefined;
    try {
      inFlight = w.ledger.submit(signedOf(journal)); // sent, then the process "crashed": it sits in the mempool
      while ((await nonceOf(w.address)) === nonce) await new Promise((r) => setTimeout(r, 10));
      const waiting = await flushCommitments(journal, w.ledger, { pendingTimeoutMs: 200, pollMs: 20 });
      expect(waiting).toEqual({ confirmed: [], foundOnChain: [], requeued: [], expired: [], transactions: [], deferred: [] });
      expect(replay(journal.records).inDoubt.map((b) => b.batchId)).toEqual(["b0"]);
      expect(await nonceOf(w.address)).toBe(nonce + 1);
    } finally {
      await provider.request({ method: "evm_setAutomine", params: [true] });
      await provider.request({ method: "evm_mine", params: [] });
    }
    await inFlight;
    const settled = await flushCommitments(journal, w.ledger);
    expect(settled.foundOnChain).toEqual(keys);
    expect(settled.transactions).toEqual([]);
    expect(await stored(journal)).toBe(true);
    await journal.close();
  });

  it("a commitment a relayer already stored is skipped without a transaction", async () => {
    const w = worker();
    const relayer = worker();
    const journal = await journalOf(w.address);
    const keys = [...replay(journal.records).commitments.keys()];
    await relayer.ledger.submit(signedOf(journal));
    const nonce = await nonceOf(w.address);
    const result = await flushCommitments(journal, w.ledger);
    expect(result.foundOnChain).toEqual(keys);
    expect(await nonceOf(w.address)).toBe(nonce);
    expect(replay(journal.records).commitments.get(keys[0] as string)?.status).toBe("foundOnChain");
    await journal.close();
  });

  it("a commitment whose commit window closed unsent is journaled expired, leaves the queue for good and blocks nothing after it", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const [c] = [...replay(journal.records).commitments.values()];
    if (!c) throw new Error("setup");
    const model = await getModel(s.publicClient, { deployments: s.deployments, modelId: 1n });
    const round = c.commitment.round;
    await s.networkHelpers.time.increaseTo(model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec));
    const nonce = await nonceOf(w.address);
    const result = await flushCommitments(journal, w.ledger);
    expect(result).toEqual({ confirmed: [], foundOnChain: [], requeued: [], expired: [c.key], transactions: [], deferred: [] });
    expect(replay(journal.records).commitments.get(c.key)?.status).toBe("expired");
    expect(await nonceOf(w.address)).toBe(nonce);
    // The next round of the same journal goes through as usual.
    await saveCheckpoint(journal, { round: round + 1n, step: -1, weights: initial() });
    for (let i = 0; i < 3; i++)
      await journalMicrobatch(journal, { round: round + 1n, step: 0, record: record(i, Number(round) + 1), neighbours: NEIGHBOURS });
    await journal.append({ type: "step", round: round + 1n, step: 0, tokens: 0, microbatches: 3, neighbours: NEIGHBOURS });
    await saveCheckpoint(journal, { round: round + 1n, step: 0, weights: initial().map((v) => v * 0.8) });
    await commitRound(journal, { modelId: 1n, round: round + 1n, stage: 0, worker: w.address, expectedItems: 3 });
    await signBuiltCommitments(journal, signer, { ledger: s.deployments.contracts.computeLedger, chainId: s.deployments.chainId });
    const next = await flushCommitments(journal, w.ledger);
    expect(next.confirmed).toHaveLength(1);
    expect(next.expired).toEqual([]);
    expect(await nonceOf(w.address)).toBe(nonce + 1);
    // Replayed from disk, the expired commitment stays out of the queue.
    await journal.close();
    const reopened = await Journal.open(journal.dir, { modelId: 1n, stage: 0, worker: w.address });
    expect(replay(reopened.records).commitments.get(c.key)?.status).toBe("expired");
    expect(await flushCommitments(reopened, w.ledger)).toEqual({
      confirmed: [],
      foundOnChain: [],
      requeued: [],
      expired: [],
      transactions: [],
      deferred: [],
    });
    await reopened.close();
  });

  it("a simulation the ledger refuses (the window closed between the check and the send) sends nothing, requeues and rethrows", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const [c] = [...replay(journal.records).commitments.values()];
    if (!c) throw new Error("setup");
    const model = await getModel(s.publicClient, { deployments: s.deployments, modelId: 1n });
    await s.networkHelpers.time.increaseTo(model.genesisTime + (c.commitment.round + 1n) * BigInt(model.timing.commitWindowSec));
    const nonce = await nonceOf(w.address);
    const racing = { ...w.ledger, commitWindowClosed: async () => false }; // it was still open when checked
    await expect(submitPending(journal, racing)).rejects.toThrow(/OutsideCommitWindow|commit window/i);
    const after = replay(journal.records);
    expect(after.commitments.get(c.key)?.status).toBe("signed");
    expect(after.inDoubt).toEqual([]);
    expect(await nonceOf(w.address)).toBe(nonce);
    // The next flush sees the closed window and retires it.
    expect((await flushCommitments(journal, w.ledger)).expired).toEqual([c.key]);
    await journal.close();
  });
  it("a chain outage after the send does not throw: the transaction found on chain counts as done", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    // The node took the transaction, then the answer was lost (the receipt wait gave up).
    const lostAnswer = {
      ...w.ledger,
      submit: async (...args: Parameters<typeof w.ledger.submit>) => {
        await w.ledger.submit(...args);
        throw Object.assign(new Error("Timed out while waiting for transaction"), { name: "WaitForTransactionReceiptTimeoutError" });
      },
    };
    const result = await flushCommitments(journal, lostAnswer);
    expect(result.foundOnChain).toHaveLength(1);
    expect(result.deferred).toEqual([]);
    expect(await stored(journal)).toBe(true);
    const nonce = await nonceOf(w.address);
    expect(await flushCommitments(journal, w.ledger)).toEqual({
      confirmed: [],
      foundOnChain: [],
      requeued: [],
      expired: [],
      transactions: [],
      deferred: [],
    });
    expect(await nonceOf(w.address)).toBe(nonce);
  });

  it("a chain outage before the send defers the batch: in doubt, settled by nonce and sent once on the next flush", async () => {
    const w = worker();
    const journal = await journalOf(w.address);
    const stall = () => Object.assign(new Error("The JSON-RPC endpoints did not answer for 900 s"), { name: "RpcStalledError" });
    const down = {
      ...w.ledger,
      submit: async () => Promise.reject(stall()),
      nonce: async (tag: "latest" | "pending") => (tag === "pending" && !downNonceAsked++ ? w.ledger.nonce(tag) : Promise.reject(stall())),
    };
    let downNonceAsked = 0;
    const deferred = await flushCommitments(journal, down);
    expect(deferred.deferred).toHaveLength(1);
    expect(replay(journal.records).inDoubt).toHaveLength(1);
    expect(await stored(journal)).toBe(false);
    const back = await flushCommitments(journal, w.ledger);
    expect(back.requeued).toHaveLength(1);
    expect(back.confirmed).toHaveLength(1);
    expect(await stored(journal)).toBe(true);
  });
});
