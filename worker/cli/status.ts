// What `shardholder status` reads: a worker's stake and, per model, its committed rounds with
// where each stands (worker/commit/rewards.ts), minted and mintable tokens, slashes, and the time
// left in the current round's windows.
import type { Address, PublicClient } from "viem";
import { getSlashes, type Slash } from "../../sdk/actions/disputes/getSlashes.ts";
import { getClaimable } from "../../sdk/actions/holders/getClaimable.ts";
import { type AcceptedCommitment, getAcceptedCommitments } from "../../sdk/actions/miner/getAcceptedCommitments.ts";
import { getRound } from "../../sdk/actions/miner/getRound.ts";
import { getVoidedCommitments, type VoidedCommitment } from "../../sdk/actions/miner/getVoidedCommitments.ts";
import { getPayments } from "../../sdk/actions/miner/getPayments.ts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { getModel, type GetModelReturnType } from "../../sdk/actions/models/getModel.ts";
import { listModels } from "../../sdk/actions/models/listModels.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { chainNow, type MinerRound, readMinerRound, rewardTotals, roundWindows, workerTokensOf } from "../commit/rewards.ts";

export type ModelStatus = {
  modelId: bigint;
  model: GetModelReturnType;
  /** The round whose commit window is open now, and when its commit and challenge windows end. */
  currentRound: bigint;
  commitEndsAt: bigint;
  challengeEndsAt: bigint;
  /** The worker's rounds, oldest first (the newest `lastRounds` of them). */
  rounds: MinerRound[];
  /** Rounds the worker committed to in all (before the `lastRounds` cut). */
  roundCount: number;
  totals: ReturnType<typeof rewardTotals>;
  slashes: Slash[];
  /** The payout address's balance of the model's token, and the revenue it can claim. */
  payoutTokens: bigint;
  payoutClaimableWei: bigint;
};

export type MinerStatus = {
  worker: Address;
  now: bigint;
  stakeWei: bigint;
  payout: Address;
  signingKey: Address;
  unbonding: boolean;
  jailed: boolean;
  /** ETH the ledger credited to the worker (won bonds, rewards for proving faults), withdrawable. */
  paymentsWei: bigint;
  models: ModelStatus[];
};

/**
 * A round whose commitment slots the ledger reused (8+ rounds later, which it only allows once
 * they were rewarded, slashed or voided): told apart by the slash and void events, its units and
 * tokens from the acceptance events and the round's final accounting.
 */
async function settledRound(
  client: PublicClient,
  p: {
    deployments: Deployments;
    modelId: bigint;
    round: bigint;
    model: GetModelReturnType;
    accepted: AcceptedCommitment[];
    slashes: Slash[];
    voided: VoidedCommitment[];
  },
): Promise<MinerRound> {
  const mine = p.accepted.filter((c) => c.round === p.round);
  const stages = mine.map((c) => c.stage);
  if (p.slashes.some((x) => x.round === p.round)) return { round: p.round, stages, units: 0n, phase: "slashed", openDisputes: 0 };
  const voidedStages = new Set(p.voided.filter((v) => v.round === p.round).map((v) => v.stage));
  const live = mine.filter((c) => !voidedStages.has(c.stage));
  if (live.length === 0) return { round: p.round, stages, units: 0n, phase: "voided", openDisputes: 0 };
  const units = live.reduce((t, c) => t + c.units, 0n);
  const state = await getRound(client, { deployments: p.deployments, modelId: p.modelId, round: p.round });
  return {
    round: p.round,
    stages,
    units,
    phase: "minted",
    tokens: workerTokensOf(state, units, p.model.designerEmissionBps),
    openDisputes: 0,
  };
}

/**
 * Reads a worker's status. `modelIds` default: every registered model the worker committed to.
 *
 * @example
 * const status = await readMinerStatus(client, { deployments, worker, lastRounds: 16 })
 */
export async function readMinerStatus(
  client: PublicClient,
  {
    deployments,
    worker,
    modelIds,
    lastRounds,
  }: { deployments: Deployments; worker: Address; modelIds?: readonly bigint[] | undefined; lastRounds: number },
): Promise<MinerStatus> {
  const [staker, paymentsWei, now] = await Promise.all([
    getStaker(client, { deployments, account: worker }),
    getPayments(client, { deployments, account: worker }),
    chainNow(client),
  ]);
  const explicit = modelIds !== undefined && modelIds.length > 0;
  const ids = explicit ? [...modelIds] : (await listModels(client, { deployments, limit: 1000 })).models.map((m) => m.modelId);
  const models: ModelStatus[] = [];
  for (const modelId of ids) {
    const accepted = await getAcceptedCommitments(client, { deployments, modelId, worker });
    if (!explicit && accepted.length === 0) continue;
    const model = await getModel(client, { deployments, modelId });
    const all = [...new Set(accepted.map((c) => c.round))].sort((a, b) => (a < b ? -1 : 1));
    const shown = all.slice(-lastRounds);
    const [slashes, voided, claimable] = await Promise.all([
      getSlashes(client, { deployments, modelId, worker }),
      getVoidedCommitments(client, { deployments, modelId, worker }),
      getClaimable(client, { deployments, holder: staker.payout, modelIds: [modelId] }),
    ]);
    const rounds: MinerRound[] = [];
    for (const round of shown) {
      const state = await readMinerRound(client, { deployments, modelId, worker, round, terms: model, now });
      rounds.push(
        state.phase === "settled" ? await settledRound(client, { deployments, modelId, round, model, accepted, slashes, voided }) : state,
      );
    }
    const { commitEnd, challengeEnd } = roundWindows(model, model.currentRound);
    models.push({
      modelId,
      model,
      currentRound: model.currentRound,
      commitEndsAt: commitEnd,
      challengeEndsAt: challengeEnd,
      rounds,
      roundCount: all.length,
      totals: rewardTotals(rounds),
      slashes,
      payoutTokens: claimable.models[0]?.balanceTokens ?? 0n,
      payoutClaimableWei: claimable.models[0]?.claimableWei ?? 0n,
    });
  }
  return {
    worker,
    now,
    stakeWei: staker.stakeWei,
    payout: staker.payout,
    signingKey: staker.signingKey,
    unbonding: staker.unbonding,
    jailed: staker.jailed,
    paymentsWei,
    models,
  };
}
