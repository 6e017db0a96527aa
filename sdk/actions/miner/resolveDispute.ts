import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { ComputeLedgerDisputeNotOpenError, ComputeLedgerVotingNotOverError } from "../../errors/contractErrors.ts";
import type { AccountRequiredError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";

export type ResolveDisputeParameters = DeploymentsParameter & AccountParameter & { disputeId: bigint };

export type ResolveDisputeReturnType = WriteResult;

export type ResolveDisputeErrorType = ComputeLedgerDisputeNotOpenError | ComputeLedgerVotingNotOverError | AccountRequiredError | NoDeploymentError;

/**
 * Applies a dispute's verdict once every member voted or the vote window closed (anyone may call it); winners withdraw with `withdrawPayments`.
 *
 * @example
 * import { resolveDispute } from "shardholder/sdk"
 * await resolveDispute(walletClient, { deployments, disputeId: 0n })
 */
export async function resolveDispute(client: ShardholderClient, parameters: ResolveDisputeParameters): Promise<ResolveDisputeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return sendContractWrite(client, {
    action: "resolveDispute",
    abi: computeLedgerAbi,
    address: contracts.computeLedger,
    functionName: "resolveDispute",
    args: [parameters.disputeId],
    account: parameters.account,
  });
}
