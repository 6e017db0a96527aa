import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import type { ContractFunctionReturnType } from "viem";
export type GetDisputeParameters = DeploymentsParameter & { disputeId: bigint };

export type GetDisputeReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "dispute">;

export type GetDisputeErrorType = NoDeploymentError;

/**
 * Reads a dispute: kind, status, accused, challenger, committee, votes and vote deadline.
 *
 * @example
 * import { getDispute } from "@shardholder/sdk"
 * const d = await getDispute(client, { deployments, disputeId: 0n })
 */
export async function getDispute(client: ShardholderClient, parameters: GetDisputeParameters): Promise<GetDisputeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, { abi: computeLedgerAbi, address: contracts.computeLedger, functionName: "dispute", args: [parameters.disputeId] }),
  );
}
