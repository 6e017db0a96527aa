import { getModel } from "../../sdk/actions/models/getModel.ts";
import { resolveDispute } from "../../sdk/actions/miner/resolveDispute.ts";
import {
  ComputeLedgerAppealWindowOpenError,
  ComputeLedgerDisputeNotOpenError,
  ComputeLedgerVotingNotOverError,
} from "../../sdk/errors/contractErrors.ts";
import type { RoundAudit, Validator } from "./validator.ts";

export type RunValidatorLoopParameters = {
  validator: Validator;
  /** First round to audit (default: the model's current round). */
  fromRound?: bigint | undefined;
  /** Stop once this round is audited and this validator's disputes are resolved (default: run until `signal` aborts). */
  untilRound?: bigint | undefined;
  pollMs?: number | undefined;
  signal?: AbortSignal | undefined;
  onAudit?: ((round: bigint, audit: RoundAudit) => void) | undefined;
  /** Called when the validator minted its reward of an audited round (finalizing it if needed). */
  onReward?: ((round: bigint, tokens: bigint) => void) | undefined;
};

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * The `shardholder validate` loop: audits each round once its commit window has closed (a later
 * block's hash then seeds the sample), draws due committees, votes in every committee it is drawn
 * into, appeals verdicts that contradict its own re-execution, resolves its own disputes once their
 * vote and appeal windows are over, and mints its validator reward of every round it attested once
 * that round can be finalized. Committee duty is checked on every poll.
 */
export async function runValidatorLoop(p: RunValidatorLoopParameters): Promise<void> {
  const { validator } = p;
  const { wallet, deployments, modelId, publicClient } = validator.p;
  const model = await getModel(wallet, { deployments, modelId });
  let round = p.fromRound ?? model.currentRound;
  const open = new Set<bigint>();
  // Rounds audited whose validator reward is not minted yet (minted once the round is final).
  const unclaimed = new Set<bigint>();
  // Past `untilRound` it stays until its disputes are resolved and its rewards minted.
  while (!p.signal?.aborted && (p.untilRound === undefined || round <= p.untilRound || open.size > 0 || unclaimed.size > 0)) {
    const now = (await publicClient.getBlock()).timestamp;
    const commitEnd = model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec);
    if (now >= commitEnd) {
      const audit = await validator.auditRound(round);
      for (const id of audit.disputes) open.add(id);
      if (audit.attestedOnChain > 0) unclaimed.add(round);
      p.onAudit?.(round, audit);
      round++;
    }
    await validator.serveCommittee();
    for (const id of open) {
      try {
        await resolveDispute(wallet, { deployments, disputeId: id });
        open.delete(id);
      } catch (err) {
        // Still drawing, voting or open to appeal; or someone else resolved it first.
        if (err instanceof ComputeLedgerDisputeNotOpenError) open.delete(id);
        else if (!(err instanceof ComputeLedgerVotingNotOverError || err instanceof ComputeLedgerAppealWindowOpenError)) throw err;
      }
    }
    for (const r of unclaimed) {
      const tokens = await validator.claimReward(r);
      if (tokens !== undefined) {
        unclaimed.delete(r);
        if (tokens > 0n) p.onReward?.(r, tokens);
      }
    }
    if (now < commitEnd || open.size > 0 || unclaimed.size > 0) await sleep(p.pollMs ?? 5000, p.signal);
  }
}
