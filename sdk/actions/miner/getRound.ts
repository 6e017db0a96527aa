import { readContract } from "viem/actions";
import type { computeLedgerAbi } from "../../abi/computeLedger.ts";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import type { ContractFunctionReturnType } from "viem";
export type GetRoundParameters = DeploymentsParameter & { modelId: bigint; round: bigint };

export type GetRoundReturnType = ContractFunctionReturnType<typeof computeLedgerAbi, "view", "roundState">;

export type GetRoundErrorType = NoDeploymentError;

/**
 * Reads a round's accounting: accepted units, open disputes, finalized flag, emission and minted tokens.
 *
 * @example
 * import { getRound } from "@shardholder/sdk"
 * const { finalized, totalUnits } = await getRound(client, { deployments, modelId: 1n, round: 0n })
 */
export async function getRound(client: ShardholderClient, parameters: GetRoundParameters): Promise<GetRoundReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, {
      abi: [ledgerAbi.roundState],
      address: contracts.computeLedger,
      functionName: "roundState",
      args: [parameters.modelId, parameters.round],
    }),
  );
}
