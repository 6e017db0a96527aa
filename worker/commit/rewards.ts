// A miner's side of getting paid: where each of its rounds stands (commit window, challenge
// window, disputed, finalizable, mintable, minted, slashed), finalizing the rounds nobody
// finalized and minting its own reward. `shardholder train` runs it beside training and while it
// keeps serving; `shardholder status` reads the same states.
//
// It matters beyond being paid: the ledger keeps 8 rounds of one worker's commitments per stage
// (RING_SIZE), and refuses round r + 8 while round r's commitment is neither rewarded nor slashed.
import type { Logger } from "pino";
import { type Address, formatEther, type Hex, type PublicClient } from "viem";
import { getBlock } from "viem/actions";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import { finalizeRound } from "../../sdk/actions/miner/finalizeRound.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getRound } from "../../sdk/actions/miner/getRound.ts";
import { mintReward } from "../../sdk/actions/miner/mintReward.ts";
import type { GetModelReturnType } from "../../sdk/actions/models/getModel.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import {
  ComputeLedgerAlreadyFinalizedError,
  ComputeLedgerChallengeWindowOpenError,
  ComputeLedgerDisputesOpenError,
  ComputeLedgerNothingToMintError,
} from "../../sdk/errors/contractErrors.ts";

/** Where one of a worker's rounds stands, from the worker's point of view. */
export type RoundPhase =
  /** The round's commit window is open: commitments are still coming in. */
  | "commit"
  /** Validators audit; nobody can finalize until it ends. */
  | "challenge"
  /** Both windows are over but a dispute of the round is open: finalization waits for its verdict. */
  | "disputed"
  /** Anyone may finalize it now. */
  | "finalizable"
  /** Finalized; the worker's reward can be minted (anyone may send it, tokens go to the payout). */
  | "mintable"
  /** The worker's reward was minted. */
  | "minted"
  /** The worker's commitments of the round were slashed: no reward. */
  | "slashed"
  /** Voided (a weights break upstream of it, or never linked): no reward, no slash. */
  | "voided"
  /** The ledger no longer holds the commitment (its slot was reused 8+ rounds later, which needs it settled). */
  | "settled";

export type MinerRound = {
  round: bigint;
  /** Stages of the round this worker has commitments for. */
  stages: number[];
  /** Units of its unslashed, unvoided commitments. */
  units: bigint;
  phase: RoundPhase;
  /** End of the open window (phases `commit`, `challenge`), unix seconds. */
  windowEndsAt?: bigint | undefined;
  /** The worker's tokens of the round (finalized rounds: minted or mintable). */
  tokens?: bigint | undefined;
  openDisputes: number;
};

/** The model fields round timing and shares need. */
export type RewardTerms = Pick<GetModelReturnType, "genesisTime" | "timing" | "stageCount" | "designerEmissionBps">;

/** Commit and challenge window ends of `round` (unix seconds), as the ledger computes them. */
export function roundWindows(
  terms: Pick<RewardTerms, "genesisTime" | "timing">,
  round: bigint,
): { commitEnd: bigint; challengeEnd: bigint } {
  const commitEnd = terms.genesisTime + (round + 1n) * BigInt(terms.timing.commitWindowSec);
  return { commitEnd, challengeEnd: commitEnd + BigInt(terms.timing.challengeWindowSec) };
}

/**
 * The chain's "now" for deciding which window is open: the latest block's timestamp, or the wall
 * clock when that is later (an idle dev chain mines no block, so its latest timestamp stands still
 * while the next block's would not). Every write is simulated first, so a guess that is early
 * costs a read, never gas.
 */
export async function chainNow(client: ShardholderClient): Promise<bigint> {
  const latest = (await getBlock(client, { blockTag: "latest" })).timestamp;
  const wall = BigInt(Math.floor(Date.now() / 1000));
  return latest > wall ? latest : wall;
}

/** The worker's tokens of a finalized round for `units`, exactly as `mintReward` computes them. */
export function workerTokensOf(
  round: { emissionTokens: bigint; validatorTokens: bigint; totalUnits: bigint },
  units: bigint,
  designerEmissionBps: number,
): bigint {
  if (round.totalUnits === 0n || units === 0n) return 0n;
  const share = ((round.emissionTokens - round.validatorTokens) * units) / round.totalUnits;
  return share - (share * BigInt(designerEmissionBps)) / 10_000n;
}

/**
 * Reads where `worker`'s `round` stands: its commitments of every stage (`getCommitment`), the
 * round's accounting (`getRound`) and the windows against `now`.
 */
export async function readMinerRound(
  client: ShardholderClient,
  p: { deployments: Deployments; modelId: bigint; worker: Address; round: bigint; terms: RewardTerms; now: bigint },
): Promise<MinerRound> {
  const { deployments, modelId, worker, round, terms, now } = p;
  const stageIds = Array.from({ length: terms.stageCount }, (_, s) => s);
  const [records, state] = await Promise.all([
    Promise.all(stageIds.map((stage) => getCommitment(client, { deployments, modelId, round, stage, worker }))),
    getRound(client, { deployments, modelId, round }),
  ]);
  const found = records.map((r, stage) => ({ ...r, stage })).filter((r) => r.found);
  const live = found.filter((r) => !r.slashed && !r.voided);
  const units = live.reduce((sum, r) => sum + BigInt(r.units), 0n);
  const base = { round, stages: found.map((r) => r.stage), units, openDisputes: state.openDisputes };
  const tokens = state.finalized ? workerTokensOf(state, units, terms.designerEmissionBps) : undefined;
  if (found.length === 0) return { ...base, phase: "settled" };
  if (live.length === 0) return { ...base, phase: found.some((r) => r.slashed) ? "slashed" : "voided" };
  if (live.every((r) => r.rewarded)) return { ...base, phase: "minted", tokens };
  if (state.finalized) return { ...base, phase: "mintable", tokens };
  const { commitEnd, challengeEnd } = roundWindows(terms, round);
  if (now < commitEnd) return { ...base, phase: "commit", windowEndsAt: commitEnd };
  if (now < challengeEnd) return { ...base, phase: "challenge", windowEndsAt: challengeEnd };
  return { ...base, phase: state.openDisputes > 0 ? "disputed" : "finalizable" };
}

/** A reward this worker minted (or found minted by someone else) in one pass. */
export type MintedReward = { round: bigint; units: bigint; tokens: bigint; txHash?: Hex | undefined; finalizedHere: boolean };

export type SettleRewardsParameters = {
  /** Reads (the long-lived client). */
  client: PublicClient;
  /** Sends finalizeRound and mintReward (its account pays the gas). */
  wallet: ShardholderClient;
  deployments: Deployments;
  modelId: bigint;
  worker: Address;
  terms: RewardTerms;
  /** Rounds this worker committed to (the journal's stored commitments). */
  rounds: readonly bigint[];
  /**
   * How long (wall-clock ms) a round stays finalizable or mintable before this worker sends the
   * transaction itself: validators finalize the rounds they attested and relayers mint for
   * everyone, and a second transaction for the same thing only burns gas (or makes theirs fail).
   */
  graceMs: number;
  /** When each round was first seen finalizable or mintable (kept across passes). */
  seen: Map<bigint, number>;
  /** The last state read of each round (kept across passes): a round in a window is not read again. */
  known?: Map<bigint, MinerRound> | undefined;
  logger?: Logger | undefined;
};

export type SettleRewardsResult = { rounds: MinerRound[]; minted: MintedReward[] };

const waitingPhases: ReadonlySet<RoundPhase> = new Set(["commit", "challenge"]);

/**
 * One pass over `rounds`: finalizes those whose challenge window is over with no open dispute
 * (when nobody did within `graceMs`) and mints this worker's reward of every finalized one.
 * Rounds still in a window are answered from the timing alone (no read). A finalization or mint
 * someone else got in first is not an error: the round is read again.
 */
export async function settleRewards(p: SettleRewardsParameters): Promise<SettleRewardsResult> {
  const now = await chainNow(p.client);
  const out: SettleRewardsResult = { rounds: [], minted: [] };
  const who = { deployments: p.deployments, modelId: p.modelId, worker: p.worker, terms: p.terms, now };
  for (const round of [...new Set(p.rounds)].sort((a, b) => (a < b ? -1 : 1))) {
    const { commitEnd, challengeEnd } = roundWindows(p.terms, round);
    const before = p.known?.get(round);
    if (now < challengeEnd && before) {
      // Still in a window and read before: nothing to do, and nothing to read again.
      const inCommit = now < commitEnd;
      const state: MinerRound = { ...before, phase: inCommit ? "commit" : "challenge", windowEndsAt: inCommit ? commitEnd : challengeEnd };
      p.known?.set(round, state);
      out.rounds.push(state);
      continue;
    }
    let state = await readMinerRound(p.client, { ...who, round });
    if (state.phase === "finalizable" || state.phase === "mintable") {
      const first = p.seen.get(round) ?? Date.now();
      p.seen.set(round, first);
      if (Date.now() - first >= p.graceMs) {
        let finalizedHere = false;
        if (state.phase === "finalizable") {
          finalizedHere = await finalizeUnlessDone(p, round);
          state = await readMinerRound(p.client, { ...who, round });
        }
        if (state.phase === "mintable") {
          const minted = await mintUnlessDone(p, round, finalizedHere);
          if (minted) out.minted.push(minted);
          state = await readMinerRound(p.client, { ...who, round });
        }
      }
    }
    p.known?.set(round, state);
    out.rounds.push(state);
  }
  return out;
}

async function finalizeUnlessDone(p: SettleRewardsParameters, round: bigint): Promise<boolean> {
  try {
    const { transactionHash } = await finalizeRound(p.wallet, { deployments: p.deployments, modelId: p.modelId, round });
    p.logger?.info({ round: round.toString(), txHash: transactionHash }, "round finalized");
    return true;
  } catch (err) {
    // Someone finalized it first, a dispute opened, or the chain's clock is behind ours: read again.
    if (
      err instanceof ComputeLedgerAlreadyFinalizedError ||
      err instanceof ComputeLedgerDisputesOpenError ||
      err instanceof ComputeLedgerChallengeWindowOpenError
    )
      return false;
    throw err;
  }
}

async function mintUnlessDone(p: SettleRewardsParameters, round: bigint, finalizedHere: boolean): Promise<MintedReward | undefined> {
  try {
    const m = await mintReward(p.wallet, { deployments: p.deployments, modelId: p.modelId, round, worker: p.worker });
    const reward = { round, units: m.units, tokens: m.workerTokens, txHash: m.transactionHash, finalizedHere };
    p.logger?.info(
      {
        round: round.toString(),
        units: m.units.toString(),
        tokens: formatEther(m.workerTokens),
        payout: m.payout,
        txHash: m.transactionHash,
      },
      "reward minted",
    );
    return reward;
  } catch (err) {
    // Minted by someone else meanwhile (anyone may; the tokens went to our payout all the same).
    if (err instanceof ComputeLedgerNothingToMintError) return undefined;
    throw err;
  }
}

/** One line per round for logs and `--json`: decimal token amounts, seconds left in the open window. */
export function describeRounds(rounds: readonly MinerRound[], now: bigint) {
  return rounds.map((r) => ({
    round: r.round.toString(),
    phase: r.phase,
    ...(r.stages.length ? { stages: r.stages } : {}),
    units: r.units.toString(),
    ...(r.tokens !== undefined ? { tokens: formatEther(r.tokens) } : {}),
    ...(r.windowEndsAt !== undefined ? { endsInS: Number(r.windowEndsAt > now ? r.windowEndsAt - now : 0n) } : {}),
    ...(r.openDisputes ? { openDisputes: r.openDisputes } : {}),
  }));
}

/** Totals of a set of rounds: minted and mintable tokens, rounds still waiting for a window or a verdict. */
export function rewardTotals(rounds: readonly MinerRound[]) {
  const sum = (phase: RoundPhase) => rounds.filter((r) => r.phase === phase).reduce((t, r) => t + (r.tokens ?? 0n), 0n);
  return {
    mintedTokens: sum("minted"),
    mintableTokens: sum("mintable"),
    waitingRounds: rounds.filter((r) => waitingPhases.has(r.phase) || r.phase === "disputed" || r.phase === "finalizable").length,
    slashedRounds: rounds.filter((r) => r.phase === "slashed").length,
  };
}

/**
 * Runs {@link settleRewards} every `pollMs` until `stop()`, over the rounds `rounds()` names at
 * each pass (the journal grows as training goes). A failed pass is logged and retried.
 * `passNow()` runs one pass at once (after the last round, and at the end) and returns the last
 * known state of every round seen so far, and `minted` every reward this process minted.
 */
export function watchRewards(
  p: Omit<SettleRewardsParameters, "rounds" | "seen" | "known"> & { rounds: () => readonly bigint[]; pollMs: number },
): {
  passNow: () => Promise<MinerRound[]>;
  minted: MintedReward[];
  stop: () => Promise<void>;
} {
  const seen = new Map<bigint, number>();
  const known = new Map<bigint, MinerRound>();
  const minted: MintedReward[] = [];
  // Rounds past every state change are not read again.
  const final: ReadonlySet<RoundPhase> = new Set(["minted", "slashed", "voided", "settled"]);
  let stopped = false;
  let wake: (() => void) | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const pass = async (): Promise<MinerRound[]> => {
    const open = p.rounds().filter((r) => !final.has(known.get(r)?.phase as RoundPhase));
    const result = await settleRewards({ ...p, rounds: open, seen, known });
    minted.push(...result.minted);
    return [...known.values()].sort((a, b) => (a.round < b.round ? -1 : 1));
  };
  // One pass at a time: the loop's and passNow's never overlap (they would race for the same mint).
  const once = (): Promise<MinerRound[]> => {
    const next = running.catch(() => undefined).then(pass);
    running = next;
    return next;
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (err) {
        p.logger?.warn(
          { error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
          "rewards pass failed; retrying",
        );
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, p.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    passNow: once,
    minted,
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
