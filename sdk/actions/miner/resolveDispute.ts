import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerDisputeNotOpenError, ComputeLedgerVotingNotOverError } from "../../errors/contractErrors.ts";
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

export type ResolveDisputeParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { disputeId: bigint };

export type ResolveDisputeReturnType<wait extends boolean = true> = WriteReturnType<WriteResult, wait>;

export type ResolveDisputeErrorType =
  ComputeLedgerDisputeNotOpenError | ComputeLedgerVotingNotOverError | AccountRequiredError | NoDeploymentError;

/**
 * Applies a dispute's verdict once every member voted or the vote window closed (anyone may call it); winners withdraw with `withdrawPayments`.
 *
 * @example
 * import { resolveDispute } from "@shardholder/sdk"
 * await resolveDispute(walletClient, { deployments, disputeId: 0n })
 */
export async function resolveDispute<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: ResolveDisputeParameters<wait>,
): Promise<ResolveDisputeReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(
    client,
    {
      action: "resolveDispute",
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "resolveDispute",
      args: [parameters.disputeId],
      account: parameters.account,
    },
    parameters,
  );
}
