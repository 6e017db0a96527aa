import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type {
  ComputeLedgerAlreadyVotedError,
  ComputeLedgerDisputeNotOpenError,
  ComputeLedgerNotCommitteeMemberError,
  ComputeLedgerVoteWindowClosedError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";

export type VoteParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & { disputeId: bigint; fraud: boolean };

export type VoteReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type VoteErrorType =
  | ComputeLedgerDisputeNotOpenError
  | ComputeLedgerVoteWindowClosedError
  | ComputeLedgerNotCommitteeMemberError
  | ComputeLedgerAlreadyVotedError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Casts a committee member's vote on a dispute; `fraud: true` blames the accused worker (for a chain break: the upstream stage).
 *
 * @example
 * import { vote } from "@shardholder/sdk"
 * await vote(walletClient, { deployments, disputeId: 0n, fraud: true })
 */
export async function vote<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: VoteParameters<wait>,
): Promise<VoteReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "vote",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "vote",
      args: [parameters.disputeId, parameters.fraud],
      account: parameters.account,
      // Another member's vote may land first and make this one the last (which writes the appeal deadline).
      extraGas: 30_000n,
    },
    parameters,
  );
}
