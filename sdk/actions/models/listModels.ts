import type { Address, ContractFunctionReturnType } from "viem";
import type { modelRegistryAbi } from "../../abi/modelRegistry.ts";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

export type ListModelsParameters = DeploymentsParameter & {
  /** First model id to list (default 1). */
  fromId?: bigint | undefined;
  /** Most models to return (default 100). */
  limit?: number | undefined;
};

export type ListModelsReturnType = {
  total: bigint;
  models: Array<ContractFunctionReturnType<typeof modelRegistryAbi, "view", "model"> & { modelId: bigint; token: Address }>;
};

export type ListModelsErrorType = NoDeploymentError;

/**
 * Lists registered models (paged, in one multicall per page) with their stored terms.
 *
 * @example
 * import { listModels } from "@shardholder/sdk"
 * const { total, models } = await listModels(client, { deployments })
 */
export async function listModels(client: ShardholderClient, parameters: ListModelsParameters): Promise<ListModelsReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const registry = { abi: [registryAbi.modelCount, registryAbi.model], address: contracts.modelRegistry } as const;
  return withTypedErrors(async () => {
    const [total] = await readMany(client, [{ ...registry, functionName: "modelCount" }]);
    const from = parameters.fromId ?? 1n;
    const limit = BigInt(parameters.limit ?? 100);
    const ids: bigint[] = [];
    for (let id = from; id <= total && id < from + limit; id++) ids.push(id);
    const models = await readMany(
      client,
      ids.map((id) => ({ ...registry, functionName: "model", args: [id] }) as const),
    );
    return { total, models: models.map((m, i) => ({ ...m, modelId: ids[i] as bigint })) };
  });
}
