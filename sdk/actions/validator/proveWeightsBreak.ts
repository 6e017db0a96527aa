import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerCommitmentSlashedError,
  ComputeLedgerNotAWeightsBreakError,
  ComputeLedgerNotEligibleValidatorError,
  ComputeLedgerOutsideChallengeWindowError,
  ComputeLedgerUnknownCommitmentError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";

export type ProveWeightsBreakParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    /** The worker's accepted commitment of round r - 1 (same model and stage). */
    previous: Commitment;
    /** Its accepted commitment of round r, whose `weightsRootBefore` differs from `previous.weightsRootAfter`. */
    current: Commitment;
  };

export type ProveWeightsBreakReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { slashedWei: bigint; rewardWei: bigint },
  wait
>;

export type ProveWeightsBreakErrorType =
  | ComputeLedgerNotAWeightsBreakError
  | ComputeLedgerUnknownCommitmentError
  | ComputeLedgerCommitmentSlashedError
  | ComputeLedgerNotEligibleValidatorError
  | ComputeLedgerOutsideChallengeWindowError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Slashes a worker whose round-r commitment does not start from the weights its own round r-1
 * commitment ended with; proven on-chain from the two stored commitments (no committee, no bond).
 * The caller (a staked validator) is credited the winner's share of the slashed stake.
 *
 * @example
 * import { proveWeightsBreak } from "@shardholder/sdk"
 * await proveWeightsBreak(walletClient, { deployments, previous, current })
 */
export async function proveWeightsBreak<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ProveWeightsBreakParameters<wait>,
): Promise<ProveWeightsBreakReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const sent = await sendContractWrite(
    client,
    {
      action: "proveWeightsBreak",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "proveWeightsBreak",
      args: [parameters.previous, parameters.current],
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, { abi: computeLedgerAbi, address: contracts.computeLedger, eventName: "WorkerSlashed" });
    return { ...result, slashedWei: args.slashedWei, rewardWei: args.rewardWei };
  });
}
