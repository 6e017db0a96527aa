// Drives the chain through training rounds: once every stage committed round r, move the clock
// past r's commit window (validators audit, disputes resolve), then past its challenge window,
// finalize r and mint each worker's reward.
import type { Address, PublicClient, WalletClient } from "viem";
import { getTransactionReceipt } from "viem/actions";
import { finalizeRound } from "../../../sdk/actions/miner/finalizeRound.ts";
import { getCommitment } from "../../../sdk/actions/miner/getCommitment.ts";
import { getRound } from "../../../sdk/actions/miner/getRound.ts";
import { getRoundFinalizations } from "../../../sdk/actions/miner/getRoundFinalizations.ts";
import { mintReward } from "../../../sdk/actions/miner/mintReward.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { ComputeLedgerAlreadyFinalizedError } from "../../../sdk/errors/contractErrors.ts";
import { setChainTime } from "./chain.ts";
import type { RoundLog } from "./miners.ts";

/** Collects `round committed` logs and resolves a round once all stages reported it. */
export class RoundTracker {
  private readonly logs = new Map<bigint, RoundLog[]>();
  private readonly waiters = new Map<bigint, () => void>();
  private failure: Error | undefined;
  private failWaiters: ((e: Error) => void)[] = [];

  constructor(private readonly stageCount: number) {}

  add(log: RoundLog): void {
    // One log per stage: a restarted stage reports a round again (a lockstep rerun, or a round
    // it had committed before the crash), and must not stand in for a stage still missing.
    const list = this.logs.get(log.round) ?? [];
    if (list.some((l) => l.stage === log.stage)) return;
    list.push(log);
    this.logs.set(log.round, list);
    if (list.length === this.stageCount) this.waiters.get(log.round)?.();
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const f of this.failWaiters) f(error);
  }

  /**
   * Resolves once every stage committed `round`: all its logs arrived, or `isCommitted` (the
   * chain) says so first. A stage killed after its commitment landed and before it logged
   * `round committed` never logs that round (its restart resumes past it), so the logs alone
   * can wait forever. Returns the logs that did arrive.
   */
  async waitCommitted(round: bigint, isCommitted: () => Promise<boolean>, pollMs = 1_000): Promise<RoundLog[]> {
    let done = false;
    const logs = this.wait(round).finally(() => (done = true));
    const chain = (async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, pollMs));
        if (!done && (await isCommitted().catch(() => false))) return this.logs.get(round) ?? [];
      }
      return logs;
    })();
    try {
      return await Promise.race([logs, chain]);
    } finally {
      done = true;
    }
  }

  /** Every stage's log of `round`, once all arrived. */
  wait(round: bigint): Promise<RoundLog[]> {
    const ready = () => (this.logs.get(round)?.length ?? 0) >= this.stageCount;
    if (ready()) return Promise.resolve(this.logs.get(round) as RoundLog[]);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.set(round, () => resolve(this.logs.get(round) as RoundLog[]));
      this.failWaiters.push(reject);
    });
  }
}

/** Whether every stage's worker (`workers[stage]`) has its commitment of `round` stored on-chain. */
export function allCommitted(client: WalletClient | PublicClient, deployments: Deployments, modelId: bigint, round: bigint, workers: Address[]): () => Promise<boolean> {
  return async () => {
    for (const [stage, worker] of workers.entries()) if (!(await getCommitment(client, { deployments, modelId, round, stage, worker })).found) return false;
    return true;
  };
}

export type MintRecord = { worker: Address; payout: Address; units: bigint; workerTokens: bigint; designerTokens: bigint; gasUsed: bigint };
/** `finalizedBy`: the validator finalizes rounds it attested (to mint its reward), else the devnet does. */
export type SettledRound = { round: bigint; loss: number | undefined; evalLoss: number | undefined; wallMs: number; finalizeGas: bigint; finalizedBy: "devnet" | "other"; mints: MintRecord[] };

/** Moves time past `round`'s challenge window, finalizes it and mints every worker's reward. */
export async function settleRound(p: {
  rpcUrl: string;
  relayer: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  round: bigint;
  genesisTime: bigint;
  commitWindowSec: bigint;
  challengeWindowSec: bigint;
  workers: Address[];
  logs: RoundLog[];
  /** Runs with the chain just past the commit window, inside the challenge window (validators audit, committees vote). */
  duringChallenge?: (() => Promise<void>) | undefined;
  /**
   * Whether someone else (the validator, minting its reward) will finalize the round: if so it gets
   * `finalizeWaitMs` to do it before the devnet does, so the two rarely race for the same transaction.
   */
  othersFinalize?: (() => Promise<boolean>) | undefined;
  finalizeWaitMs?: number | undefined;
}): Promise<SettledRound> {
  const commitEnd = p.genesisTime + (p.round + 1n) * p.commitWindowSec;
  if (p.duringChallenge) {
    await setChainTime(p.rpcUrl, commitEnd);
    await p.duringChallenge();
  }
  await setChainTime(p.rpcUrl, commitEnd + p.challengeWindowSec);
  const { deployments, modelId, round } = p;
  const fin = await finalizeUnlessDone(p);
  const mints: MintRecord[] = [];
  for (const worker of p.workers) {
    const m = await mintReward(p.relayer, { deployments, modelId, round, worker });
    mints.push({ worker, payout: m.payout, units: m.units, workerTokens: m.workerTokens, designerTokens: m.designerTokens, gasUsed: m.receipt.gasUsed });
  }
  const last = p.logs.reduce<RoundLog | undefined>((a, b) => (a === undefined || b.stage > a.stage ? b : a), undefined);
  return { round, loss: last?.loss, evalLoss: last?.evalLoss, wallMs: Math.max(0, ...p.logs.map((l) => l.wallMs)), finalizeGas: fin.gas, finalizedBy: fin.by, mints };
}

type FinalizeParameters = { relayer: WalletClient; deployments: Deployments; modelId: bigint; round: bigint; othersFinalize?: (() => Promise<boolean>) | undefined; finalizeWaitMs?: number | undefined };

/** Finalizes `round` unless another party does (or did); the gas is read from whichever transaction did it. */
async function finalizeUnlessDone(p: FinalizeParameters): Promise<{ gas: bigint; by: "devnet" | "other" }> {
  const { deployments, modelId, round } = p;
  if (await p.othersFinalize?.()) {
    const deadline = Date.now() + (p.finalizeWaitMs ?? 5_000);
    while (Date.now() < deadline) {
      if ((await getRound(p.relayer, { deployments, modelId, round })).finalized) return { gas: await finalizeGasOf(p), by: "other" };
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return { gas: (await finalizeRound(p.relayer, { deployments, modelId, round })).receipt.gasUsed, by: "devnet" };
  } catch (err) {
    // The validator got there first: the round is final either way.
    if (err instanceof ComputeLedgerAlreadyFinalizedError) return { gas: await finalizeGasOf(p), by: "other" };
    throw err;
  }
}

/** Gas of the transaction that emitted `round`'s `RoundFinalized`. */
async function finalizeGasOf(p: FinalizeParameters): Promise<bigint> {
  const [finalized] = await getRoundFinalizations(p.relayer, { deployments: p.deployments, modelId: p.modelId, round: p.round });
  const hash = finalized?.transactionHash;
  if (!hash) throw new Error(`round ${p.round} is finalized but no RoundFinalized event was found`);
  return (await getTransactionReceipt(p.relayer, { hash })).gasUsed;
}
