// A round's status from the ledger's state and the chain's clock: the same windows the contracts
// enforce (commit window of round r ends at genesis + (r+1) * commitWindow; the challenge window
// follows; a round is final once `finalizeRound` ran).

export type RoundStatus = "committing" | "challengeable" | "disputed" | "finalizable" | "final";

export type RoundTiming = { genesisTime: bigint; commitWindowSec: number; challengeWindowSec: number };

/** Unix time at which `round`'s commit window closes. */
export function commitEnd(round: bigint, t: RoundTiming): bigint {
  return t.genesisTime + (round + 1n) * BigInt(t.commitWindowSec);
}

/**
 * - `committing`: its commit window is open (workers submit commitments);
 * - `challengeable`: commitments are closed, anyone may challenge until the window ends;
 * - `disputed`: the challenge window is over but a dispute is still open;
 * - `finalizable`: nothing stands in the way, anyone may call `finalizeRound`;
 * - `final`: finalized; rewards can be minted.
 */
export function roundStatus(round: bigint, state: { finalized: boolean; openDisputes: number }, now: bigint, t: RoundTiming): RoundStatus {
  if (state.finalized) return "final";
  const end = commitEnd(round, t);
  if (now < end) return "committing";
  if (now < end + BigInt(t.challengeWindowSec)) return "challengeable";
  return state.openDisputes > 0 ? "disputed" : "finalizable";
}

export const statusWords: Record<RoundStatus, string> = {
  committing: "committing",
  challengeable: "challengeable",
  disputed: "disputed",
  finalizable: "awaiting finalization",
  final: "final",
};
