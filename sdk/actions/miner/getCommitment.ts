import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import type { Address, ContractFunctionReturnType } from "viem";
export type GetCommitmentParameters = DeploymentsParameter & { modelId: bigint; round: bigint; stage: number; worker: Address };

export type GetCommitmentReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "commitmentOf">;

export type GetCommitmentErrorType = NoDeploymentError;

/**
 * Reads the ledger's record of one commitment (`found: false` when none is stored).
 *
 * @example
 * import { getCommitment } from "@shardholder/sdk"
 * const rec = await getCommitment(client, { deployments, modelId: 1n, round: 0n, stage: 0, worker })
 */
export async function getCommitment(client: ShardholderClient, parameters: GetCommitmentParameters): Promise<GetCommitmentReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, {
      abi: computeLedgerAbi,
      address: contracts.computeLedger,
      functionName: "commitmentOf",
      args: [parameters.modelId, parameters.round, parameters.stage, parameters.worker],
    }),
  );
}
