// The network's side: every model with its terms and token, and per model what happened on-chain
// (rounds and their status, miners and validators with units, tokens minted, slashes, disputes,
// inference revenue), all from the SDK's reads and event queries; the events are scanned
// incrementally (activityEvents.ts), the rounds' state is read anew on each refresh.
import type { Address, Hex } from "viem";
import { getBlock } from "viem/actions";
import type { OpenedDispute } from "../../../sdk/actions/disputes/getDisputes.ts";
import { getServingEndpoints } from "../../../sdk/actions/inference/getServingEndpoints.ts";
import { getCurrentRound } from "../../../sdk/actions/miner/getCurrentRound.ts";
import { getRound } from "../../../sdk/actions/miner/getRound.ts";
import { getModelToken, type GetModelTokenReturnType } from "../../../sdk/actions/models/getModelToken.ts";
import { listModels, type ListModelsReturnType } from "../../../sdk/actions/models/listModels.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import type { ReadClient } from "../readClient.ts";
import { type RoundStatus, roundStatus } from "../rounds.ts";
import { type ActivityEvents, scanActivityEvents } from "./activityEvents.ts";

export type ModelSummary = ListModelsReturnType["models"][number] & { tokenInfo: GetModelTokenReturnType; endpoints: number };

/** Every registered model with its terms, token and how many serving endpoints it has. */
export async function loadModels(client: ReadClient, deployments: Deployments): Promise<ModelSummary[]> {
  const { models } = await listModels(client, { deployments });
  return Promise.all(
    models.map(async (m) => {
      const [tokenInfo, serving] = await Promise.all([
        getModelToken(client, { deployments, modelId: m.modelId }),
        getServingEndpoints(client, { deployments, modelId: m.modelId }),
      ]);
      return { ...m, tokenInfo, endpoints: serving.endpoints.length };
    }),
  );
}

export type RoundRow = {
  round: bigint;
  status: RoundStatus;
  commitments: number;
  /** Units the round counts now (accepted minus voided or slashed). */
  units: bigint;
  emissionTokens: bigint;
  mintedTokens: bigint;
  openDisputes: number;
  disputes: number;
  slashes: number;
};

export type MinerRow = {
  stage: number;
  worker: Address;
  commitments: number;
  units: bigint;
  voided: number;
  tokens: bigint;
  slashes: number;
  slashedWei: bigint;
};

export type ValidatorRow = {
  validator: Address;
  byStage: { stage: number; items: number; units: bigint }[];
  tokens: bigint;
  slashes: number;
  slashedWei: bigint;
};

export type RevenuePoint = { requestId: bigint; feeWei: bigint; holdersWei: bigint; cumulativeHoldersWei: bigint };

export type ModelActivity = {
  currentRound: bigint;
  chainTime: bigint;
  rounds: RoundRow[];
  finalRounds: bigint[];
  miners: MinerRow[];
  validators: ValidatorRow[];
  disputes: OpenedDispute[];
  requests: number;
  fulfilled: RevenuePoint[];
  feesWei: bigint;
  holdersWei: bigint;
};

const add = <K>(map: Map<K, bigint>, key: K, value: bigint) => map.set(key, (map.get(key) ?? 0n) + value);
const byRound = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Everything the chain says about one model's rounds, participants and revenue at the latest
 * block, with the events it read: pass them back as `previous` and the next call scans only the
 * blocks after them.
 */
export async function loadActivity(
  client: ReadClient,
  deployments: Deployments,
  model: ModelSummary,
  previous?: ActivityEvents,
): Promise<{ activity: ModelActivity; events: ActivityEvents }> {
  const { modelId } = model;
  const q = { deployments, modelId };
  // The event scan is pinned to this block, so the next one resumes right after it.
  const block = await getBlock(client);
  const [currentRound, events] = await Promise.all([
    getCurrentRound(client, q),
    scanActivityEvents(client, deployments, modelId, { number: block.number, hash: block.hash }, previous),
  ]);
  const { accepted, voided, finals, slashes, disputes, attestations, validatorMints, rewardMints, requests, fulfillments } = events;

  // Rounds: every round with a commitment or a finalization, and the current one.
  const roundIds = [...new Set([...accepted.map((c) => c.round), ...finals.map((f) => f.round), currentRound])].sort(byRound).reverse();
  const states = await Promise.all(roundIds.map((round) => getRound(client, { ...q, round })));
  const timing = {
    genesisTime: model.genesisTime,
    commitWindowSec: model.timing.commitWindowSec,
    challengeWindowSec: model.timing.challengeWindowSec,
  };
  const rounds = roundIds.map((round, i): RoundRow => {
    const s = states[i] as (typeof states)[number];
    return {
      round,
      status: roundStatus(round, s, block.timestamp, timing),
      commitments: accepted.filter((c) => c.round === round).length,
      units: s.totalUnits,
      emissionTokens: s.emissionTokens,
      mintedTokens: s.mintedTokens,
      openDisputes: s.openDisputes,
      disputes: disputes.filter((d) => d.round === round).length,
      slashes: slashes.filter((x) => x.round === round).length,
    };
  });

  // Miners, per stage and worker.
  const minerKey = (stage: number, worker: Address) => `${stage}:${worker.toLowerCase()}`;
  const miners = new Map<string, MinerRow>();
  for (const c of accepted) {
    const key = minerKey(c.stage, c.worker);
    const row = miners.get(key) ?? {
      stage: c.stage,
      worker: c.worker,
      commitments: 0,
      units: 0n,
      voided: 0,
      tokens: 0n,
      slashes: 0,
      slashedWei: 0n,
    };
    row.commitments += 1;
    row.units += c.units;
    miners.set(key, row);
  }
  for (const v of voided) {
    const row = miners.get(minerKey(v.stage, v.worker));
    if (row) row.voided += 1;
  }
  const minted = new Map<string, bigint>();
  for (const m of rewardMints) add(minted, m.worker.toLowerCase(), m.workerTokens);
  const slashedOf = (who: Address) => slashes.filter((x) => x.worker.toLowerCase() === who.toLowerCase());
  for (const row of miners.values()) {
    // A worker mints one reward per round for all its stages; shown on its first stage's row.
    const first = [...miners.values()].find((r) => r.worker.toLowerCase() === row.worker.toLowerCase());
    if (first === row) row.tokens = minted.get(row.worker.toLowerCase()) ?? 0n;
    const s = slashedOf(row.worker);
    row.slashes = s.length;
    row.slashedWei = s.reduce((t, x) => t + x.slashedWei, 0n);
  }

  // Validators: what they attested per stage, what they were minted, whether they were slashed.
  const validators = new Map<string, ValidatorRow>();
  const validatorRow = (who: Address) => {
    const key = who.toLowerCase();
    const row = validators.get(key) ?? { validator: who, byStage: [], tokens: 0n, slashes: 0, slashedWei: 0n };
    validators.set(key, row);
    return row;
  };
  for (const a of attestations) {
    const row = validatorRow(a.validator);
    const stage =
      row.byStage.find((s) => s.stage === a.stage) ?? row.byStage[row.byStage.push({ stage: a.stage, items: 0, units: 0n }) - 1];
    if (stage) {
      stage.items += 1;
      stage.units += a.units;
    }
  }
  for (const m of validatorMints) validatorRow(m.validator).tokens += m.tokens;
  for (const row of validators.values()) {
    row.byStage.sort((a, b) => a.stage - b.stage);
    const s = slashedOf(row.validator);
    row.slashes = s.length;
    row.slashedWei = s.reduce((t, x) => t + x.slashedWei, 0n);
  }

  // Inference revenue: the model's requests joined with their fulfilments, in chain order.
  const feeOf = new Map<bigint, bigint>(requests.map((r) => [r.requestId, r.feeWei]));
  let cumulative = 0n;
  const fulfilled = fulfillments
    .filter((f) => feeOf.has(f.requestId))
    .map((f): RevenuePoint => {
      cumulative += f.holdersWei;
      return { requestId: f.requestId, feeWei: feeOf.get(f.requestId) ?? 0n, holdersWei: f.holdersWei, cumulativeHoldersWei: cumulative };
    });
  const activity: ModelActivity = {
    currentRound,
    chainTime: block.timestamp,
    rounds,
    finalRounds: finals.map((f) => f.round).sort(byRound),
    miners: [...miners.values()].sort((a, b) => a.stage - b.stage || a.worker.localeCompare(b.worker)),
    validators: [...validators.values()],
    disputes,
    requests: requests.length,
    fulfilled,
    feesWei: fulfilled.reduce((t, p) => t + p.feeWei, 0n),
    holdersWei: cumulative,
  };
  return { activity, events };
}

/** Short label of a pipeline key or hash. */
export const shortHash = (h: Hex) => `${h.slice(0, 10)}…`;
