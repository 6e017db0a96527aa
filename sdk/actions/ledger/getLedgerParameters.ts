import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

/**
 * The ledger's protocol constants (its `public constant`s), the same for every model. Basis points
 * are out of 10 000. Small counts and rates are numbers (they feed array sizes and sampling); the
 * delay is a bigint like the block timestamps it is compared with.
 */
export type LedgerParameters = {
  /** Share of a round's microbatches each validator may attest per commitment (`attestDraws`). */
  attestSampleBps: number;
  /** Most attestable draws per (validator, commitment), whatever the round's size (`attestDraws`). */
  maxAttestDraws: number;
  /** Most attestations one `attestItems` call takes. */
  maxAttestBatch: number;
  /** Rounds of one (model, stage, worker) sharing a commitment storage slot: round r reuses round r - ringSize's once that one is rewarded or slashed. */
  ringSize: number;
  /**
   * Vote windows a dispute may last (three committee levels, two appeal windows, one of slack): a
   * model's commit + challenge + this many vote windows must fit in `unbondingDelaySec`.
   */
  disputeWindows: number;
  /** Appeals a dispute may have (each draws a larger committee). */
  maxAppeals: number;
  /** Share of a losing worker's stake that is slashed. */
  slashBps: number;
  /** Share of any slashed amount (worker stake or challenger bond) credited to the winner. */
  winnerShareBps: number;
  /** Share of a committee-decided slash or forfeited bond paid to the voters of the final verdict (the rest is burned). */
  voterShareBps: number;
  /** What a seat that voted against the final verdict, or did not vote, loses from its stake, in bps of the model's challenge bond. */
  votePenaltyBps: number;
  /** Share of each bond kept when a dispute is dismissed (a tie or no votes), credited to the accused. */
  dismissFeeBps: number;
  /** Bond of an availability challenge, in bps of the model's challenge bond (the ledger adds a floor). */
  availabilityBondBps: number;
  /** Seconds between `requestUnbond` and `withdrawStake`. */
  unbondingDelaySec: bigint;
};

export type GetLedgerParametersParameters = DeploymentsParameter;

export type GetLedgerParametersReturnType = LedgerParameters;

export type GetLedgerParametersErrorType = NoDeploymentError;

const constants = [
  "ATTEST_SAMPLE_BPS",
  "MAX_ATTEST_DRAWS",
  "MAX_ATTEST_BATCH",
  "RING_SIZE",
  "DISPUTE_WINDOWS",
  "MAX_APPEALS",
  "SLASH_BPS",
  "WINNER_SHARE_BPS",
  "VOTER_SHARE_BPS",
  "VOTE_PENALTY_BPS",
  "DISMISS_FEE_BPS",
  "AVAILABILITY_BOND_BPS",
  "UNBONDING_DELAY_SEC",
] as const;

/**
 * Reads the ledger's protocol constants in one call (multicall): read them instead of copying
 * them, so a redeployed ledger with other values is followed. They never change for a deployment;
 * read once and keep them.
 *
 * @example
 * import { attestDraws, getLedgerParameters } from "@shardholder/sdk"
 * const { attestSampleBps, maxAttestDraws, maxAttestBatch } = await getLedgerParameters(client, { deployments })
 * const draws = attestDraws(microbatchesPerRound, { sampleBps: attestSampleBps, maxDraws: maxAttestDraws })
 */
export async function getLedgerParameters(
  client: ShardholderClient,
  parameters: GetLedgerParametersParameters,
): Promise<GetLedgerParametersReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const ledger = { abi: computeLedgerAbi, address: contracts.computeLedger } as const;
  const values = await withTypedErrors(() =>
    readMany(
      client,
      constants.map((functionName) => ({ ...ledger, functionName }) as const),
    ),
  );
  // A multicall without `allowFailure` answers every call, in order.
  const read = Object.fromEntries(constants.map((name, i) => [name, values[i] as bigint])) as Record<(typeof constants)[number], bigint>;
  return {
    attestSampleBps: Number(read.ATTEST_SAMPLE_BPS),
    maxAttestDraws: Number(read.MAX_ATTEST_DRAWS),
    maxAttestBatch: Number(read.MAX_ATTEST_BATCH),
    ringSize: Number(read.RING_SIZE),
    disputeWindows: Number(read.DISPUTE_WINDOWS),
    maxAppeals: Number(read.MAX_APPEALS),
    slashBps: Number(read.SLASH_BPS),
    winnerShareBps: Number(read.WINNER_SHARE_BPS),
    voterShareBps: Number(read.VOTER_SHARE_BPS),
    votePenaltyBps: Number(read.VOTE_PENALTY_BPS),
    dismissFeeBps: Number(read.DISMISS_FEE_BPS),
    availabilityBondBps: Number(read.AVAILABILITY_BOND_BPS),
    unbondingDelaySec: read.UNBONDING_DELAY_SEC,
  };
}
