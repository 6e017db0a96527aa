import type { ContractFunctionReturnType } from "viem";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DisputeKind, type DisputeStatus, toDisputeKind, toDisputeStatus } from "../../protocol/disputeStatus.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type GetDisputeParameters = DeploymentsParameter & { disputeId: bigint };

type StoredDispute = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "dispute">;

/** The stored dispute, its `status` and `kind` narrowed to the {@link DisputeStatus} / {@link DisputeKind} values. */
export type GetDisputeReturnType = Omit<StoredDispute, "status" | "kind"> & { status: DisputeStatus; kind: DisputeKind };

export type GetDisputeErrorType = NoDeploymentError;

/**
 * Reads a dispute: kind, status, accused, challenger, committee, votes and vote deadline.
 *
 * @example
 * import { DisputeStatus, getDispute } from "@shardholder/sdk"
 * const d = await getDispute(client, { deployments, disputeId: 0n })
 * if (d.status === DisputeStatus.Fraud) console.log(`${d.accused} was slashed`)
 */
export async function getDispute(client: ShardholderClient, parameters: GetDisputeParameters): Promise<GetDisputeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const stored = await withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "dispute",
      args: [parameters.disputeId],
    }),
  );
  return { ...stored, status: toDisputeStatus(stored.status), kind: toDisputeKind(stored.kind) };
}
