import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, parseEther, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { submitCommitments } from "../../sdk/actions/miner/submitCommitments.ts";
import { storedCommitmentDigest, weightsRoot } from "../../sdk/protocol/index.ts";
import {
  commitRound,
  flushCommitments,
  journalMicrobatch,
  sdkCommitmentLedger,
  signBuiltCommitments,
  type StageMicrobatchRecord,
} from "../../worker/commit/index.ts";
import { Journal, replay, saveCheckpoint } from "../../worker/journal/index.ts";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../sdk/fixture.ts";

const ELEMENTS = 5000;
const initial = new Float32Array(ELEMENTS).map((_, i) => Math.fround(Math.sin(i) * 0.02));

function record(index: number, round: number): StageMicrobatchRecord {
  const hash = (k: number) => `0x${(1000 * round + 10 * index + k).toString(16).padStart(64, "0")}` as const;
  return {
    index,
    inputActHash: hash(1),
    outputActHash: hash(2),
    upstreamGradHash: hash(3),
    inputGradHash: `0x${"00".repeat(32)}`,
    parameterGradient: new Float32Array(ELEMENTS).map((_, i) => Math.fround(Math.cos(i + index + round) * 1e-3)),
    weightsRoot: keccak256(toHex(`weights ${round}`)),
  };
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("journaled commitments on the real ComputeLedger", () => {
  let s: Shardholder;
  let journal: Journal;
  const signer = privateKeyToAccount(generatePrivateKey());
  let weights = initial;

  async function trainRound(round: number) {
    await saveCheckpoint(journal, { round: BigInt(round), step: -1, weights });
    // Stage 0 of the 2-stage test model: nobody upstream, a stage-1 worker downstream.
    const neighbours = { upstream: zeroAddress, downstream: accountAt(s, 2) };
    for (let i = 0; i < 3; i++) await journalMicrobatch(journal, { round: BigInt(round), step: 0, record: record(i, round), neighbours });
    weights = weights.map((w, i) => Math.fround(w - 0.01 * Math.cos(i + round)));
    await journal.append({ type: "step", round: BigInt(round), step: 0, tokens: 0, microbatches: 3, neighbours });
    await saveCheckpoint(journal, { round: BigInt(round), step: 0, weights });
    const worker = accountAt(s, 1);
    return commitRound(journal, { modelId: 1n, round: BigInt(round), stage: 0, worker, expectedItems: 3 });
  }

  beforeAll(async () => {
    s = await deployShardholder();
    const spec = testSpec({ initialWeightsRoots: [weightsRoot(initial), weightsRoot(new Float32Array(10).fill(1))] });
    await registerModel(s.deployer, { deployments: s.deployments, spec });
    const workerWallet = s.wallets[1];
    if (!workerWallet) throw new Error("no wallet");
    await stake(workerWallet, {
      deployments: s.deployments,
      payout: accountAt(s, 7),
      signingKey: signer.address,
      valueWei: parseEther("2"),
    });
    const dir = await mkdtemp(path.join(tmpdir(), "journal-chain-"));
    dirs.push(dir);
    journal = await Journal.open(dir, { modelId: 1n, stage: 0, worker: accountAt(s, 1) });
  });

  it("the ledger accepts a commitment built and signed from the journal; a second flush sends nothing", async () => {
    const wallet = s.wallets[1];
    if (!wallet) throw new Error("no wallet");
    const { commitment, key } = await trainRound(0);
    await signBuiltCommitments(journal, signer, { ledger: s.deployments.contracts.computeLedger, chainId: s.deployments.chainId });
    const ledger = sdkCommitmentLedger(wallet, { deployments: s.deployments, account: wallet.account });
    const result = await flushCommitments(journal, ledger);
    expect(result.confirmed).toEqual([key]);
    expect(result.transactions).toHaveLength(1);
    const stored = await getCommitment(s.publicClient, {
      deployments: s.deployments,
      modelId: 1n,
      round: 0n,
      stage: 0,
      worker: commitment.worker,
    });
    expect(stored.found).toBe(true);
    expect(stored.units).toBe(3n * 3n);
    // The ledger keeps an 18-byte prefix of the digest over the three roots (IComputeLedgerTypes.CommitmentRecord).
    const digest = storedCommitmentDigest(commitment);
    expect(stored.digestPrefix).toBe(digest.slice(0, 2 + 36));
    const nonce = await s.publicClient.getTransactionCount({ address: wallet.account.address });
    expect(await flushCommitments(journal, ledger)).toEqual({
      confirmed: [],
      foundOnChain: [],
      requeued: [],
      expired: [],
      transactions: [],
      deferred: [],
    });
    expect(await s.publicClient.getTransactionCount({ address: wallet.account.address })).toBe(nonce);
  });

  it("after a crash between sending and journaling, resume finds the commitment on-chain instead of resending", async () => {
    const wallet = s.wallets[1];
    if (!wallet) throw new Error("no wallet");
    await s.networkHelpers.time.increase(3600); // round 1's commit window
    const { key, commitment } = await trainRound(1);
    expect(commitment.weightsRootBefore).toBe(replay(journal.records).roundLatest.get(0n)?.weightsRoot);
    await signBuiltCommitments(journal, signer, { ledger: s.deployments.contracts.computeLedger, chainId: s.deployments.chainId });
    const c = replay(journal.records).commitments.get(key);
    if (!c?.signature) throw new Error("not signed");
    const nonce = await s.publicClient.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });
    await journal.append({ type: "submitIntent", batchId: "crashed", keys: [key], sender: wallet.account.address, nonce });
    // The transaction leaves, then the process dies before journaling anything else.
    await submitCommitments(wallet, {
      deployments: s.deployments,
      signed: [{ commitment: c.commitment, signature: c.signature.signature }],
    });
    const resumed = await flushCommitments(journal, sdkCommitmentLedger(wallet, { deployments: s.deployments, account: wallet.account }));
    expect(resumed.foundOnChain).toEqual([key]);
    expect(resumed.transactions).toEqual([]);
    expect(await s.publicClient.getTransactionCount({ address: wallet.account.address })).toBe(nonce + 1);
    expect(replay(journal.records).commitments.get(key)?.status).toBe("foundOnChain");
  });
});
