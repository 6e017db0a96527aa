import { readContract } from "viem/actions";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type GetCurrentRoundParameters = DeploymentsParameter & { modelId: bigint };

export type GetCurrentRoundReturnType = bigint;

export type GetCurrentRoundErrorType = NoDeploymentError;

/**
 * The round whose commit window is open now (from the model's genesis time and commit window).
 *
 * @example
 * import { getCurrentRound } from "@shardholder/sdk"
 * const round = await getCurrentRound(client, { deployments, modelId: 1n })
 */
export async function getCurrentRound(
  client: ShardholderClient,
  parameters: GetCurrentRoundParameters,
): Promise<GetCurrentRoundReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(() =>
    readContract(client, {
      abi: [ledgerAbi.currentRound],
      address: contracts.computeLedger,
      functionName: "currentRound",
      args: [parameters.modelId],
    }),
  );
}
