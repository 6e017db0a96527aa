import type { Address } from "viem";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import * as tokenAbi from "../../abi/items/modelToken.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

export type GetClaimableParameters = DeploymentsParameter & {
  holder: Address;
  /** Models to look at; default: every registered model. */
  modelIds?: readonly bigint[] | undefined;
};

export type GetClaimableReturnType = {
  /** One entry per model, in the order asked. */
  models: Array<{ modelId: bigint; token: Address; claimableWei: bigint; balanceTokens: bigint }>;
  totalWei: bigint;
};

export type GetClaimableErrorType = NoDeploymentError;

/**
 * Revenue a holder can claim now across many models, read in one multicall (through Multicall3,
 * or deployless where the chain has none) together with the holder's token balances.
 *
 * @example
 * import { getClaimable } from "@shardholder/sdk"
 * const { totalWei, models } = await getClaimable(client, { deployments, holder })
 */
export async function getClaimable(client: ShardholderClient, parameters: GetClaimableParameters): Promise<GetClaimableReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const registry = { abi: [registryAbi.modelCount, registryAbi.tokenOf], address: contracts.modelRegistry } as const;
  return withTypedErrors(async () => {
    let modelIds = parameters.modelIds;
    if (!modelIds) {
      const [count] = await readMany(client, [{ ...registry, functionName: "modelCount" }]);
      modelIds = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1));
    }
    const ids = [...modelIds];
    const tokens = await readMany(
      client,
      ids.map((id) => ({ ...registry, functionName: "tokenOf", args: [id] }) as const),
    );
    const reads = await readMany(
      client,
      tokens.flatMap((token) => [
        { abi: [tokenAbi.claimable], address: token, functionName: "claimable", args: [parameters.holder] } as const,
        { abi: [tokenAbi.balanceOf], address: token, functionName: "balanceOf", args: [parameters.holder] } as const,
      ]),
    );
    const models = ids.map((modelId, i) => ({
      modelId,
      token: tokens[i] as Address,
      claimableWei: reads[2 * i] as bigint,
      balanceTokens: reads[2 * i + 1] as bigint,
    }));
    return { models, totalWei: models.reduce((sum, m) => sum + m.claimableWei, 0n) };
  });
}
