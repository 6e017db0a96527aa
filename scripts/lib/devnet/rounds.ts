// Drives the chain through training rounds: once every worker of round r committed it, move the clock
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

/** A worker of one stage: who must commit a round. */
export type StageMember = { stage: number; worker: Address };

/** Collects `round committed` logs (one per worker and round) and waits for a round's committers. */
export class RoundTracker {
  private readonly logs = new Map<bigint, RoundLog[]>();
  private listeners: (() => void)[] = [];
  private failure: Error | undefined;

  add(log: RoundLog): void {
    // One log per worker: a restarted miner reports a round again (a lockstep rerun, or a round it
    // had committed before the crash), and must not count twice.
    const list = this.logs.get(log.round) ?? [];
    if (list.some((l) => l.worker === log.worker)) return;
    list.push(log);
    this.logs.set(log.round, list);
    this.notify();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  /** The logs of `round` so far. */
  logsOf(round: bigint): RoundLog[] {
    return this.logs.get(round) ?? [];
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /**
   * Resolves once every one of `members` committed `round`: all their logs arrived, or
   * `isCommitted` (the chain) says so first. A miner killed after its commitment landed and before
   * it logged `round committed` never logs that round (its restart resumes past it), so the logs
   * alone can wait forever. Returns the logs that did arrive.
   */
  async waitCommitted(
    round: bigint,
    members: readonly StageMember[],
    isCommitted: () => Promise<boolean>,
    pollMs = 1_000,
  ): Promise<RoundLog[]> {
    for (;;) {
      if (this.failure) throw this.failure;
      const logged = new Set(this.logsOf(round).map((l) => l.worker));
      if (members.every((m) => logged.has(m.worker))) return this.logsOf(round);
      if (await isCommitted().catch(() => false)) return this.logsOf(round);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Whether every member has its commitment of `round` stored on-chain. */
export function allCommitted(
  client: WalletClient | PublicClient,
  deployments: Deployments,
  modelId: bigint,
  round: bigint,
  members: readonly StageMember[],
): () => Promise<boolean> {
  return async () => {
    for (const { stage, worker } of members)
      if (!(await getCommitment(client, { deployments, modelId, round, stage, worker })).found) return false;
    return true;
  };
}

/**
 * A round's losses from its logs: the last stage's training loss (the mean over its replicas,
 * weighted by the microbatches each trained) and the held-out loss one of them evaluated.
 */
export function roundLosses(logs: readonly RoundLog[]): { loss: number | undefined; evalLoss: number | undefined } {
  const lastStage = Math.max(-1, ...logs.map((l) => l.stage));
  const last = logs.filter((l) => l.stage === lastStage);
  const trained = last.filter((l) => l.loss !== undefined);
  const weight = (l: RoundLog) => l.items ?? 1;
  const total = trained.reduce((a, l) => a + weight(l), 0);
  const loss = total > 0 ? trained.reduce((a, l) => a + (l.loss as number) * weight(l), 0) / total : undefined;
  return { loss, evalLoss: last.find((l) => l.evalLoss !== undefined)?.evalLoss };
}

export type MintRecord = { worker: Address; payout: Address; units: bigint; workerTokens: bigint; designerTokens: bigint; gasUsed: bigint };
/** `finalizedBy`: the validator finalizes rounds it attested (to mint its reward), else the devnet does. */
export type SettledRound = {
  round: bigint;
  loss: number | undefined;
  evalLoss: number | undefined;
  wallMs: number;
  finalizeGas: bigint;
  finalizedBy: "devnet" | "other";
  mints: MintRecord[];
};

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
    mints.push({
      worker,
      payout: m.payout,
      units: m.units,
      workerTokens: m.workerTokens,
      designerTokens: m.designerTokens,
      gasUsed: m.receipt.gasUsed,
    });
  }
  const { loss, evalLoss } = roundLosses(p.logs);
  return { round, loss, evalLoss, wallMs: Math.max(0, ...p.logs.map((l) => l.wallMs)), finalizeGas: fin.gas, finalizedBy: fin.by, mints };
}

type FinalizeParameters = {
  relayer: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  round: bigint;
  othersFinalize?: (() => Promise<boolean>) | undefined;
  finalizeWaitMs?: number | undefined;
};

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
