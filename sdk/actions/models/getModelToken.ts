import type { Address } from "viem";
import { readContract } from "viem/actions";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import * as tokenAbi from "../../abi/items/modelToken.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

export type GetModelTokenParameters = DeploymentsParameter & { modelId: bigint };

export type GetModelTokenReturnType = {
  address: Address;
  name: string;
  symbol: string;
  decimals: number;
  totalSupplyTokens: bigint;
  capTokens: bigint;
  /** Supply below which revenue is held rather than distributed (`cap >> 20`). */
  minDistributionSupplyTokens: bigint;
  undistributedRevenueWei: bigint;
};

export type GetModelTokenErrorType = NoDeploymentError;

/**
 * Reads a model's token: ERC-20 metadata, supply against its cap, and revenue not yet distributed.
 *
 * @example
 * import { getModelToken } from "@shardholder/sdk"
 * const { symbol, totalSupplyTokens, capTokens } = await getModelToken(client, { deployments, modelId: 1n })
 */
export async function getModelToken(client: ShardholderClient, parameters: GetModelTokenParameters): Promise<GetModelTokenReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(async () => {
    const address = await readContract(client, {
      abi: [registryAbi.tokenOf],
      address: contracts.modelRegistry,
      functionName: "tokenOf",
      args: [parameters.modelId],
    });
    const token = {
      abi: [
        tokenAbi.name,
        tokenAbi.symbol,
        tokenAbi.decimals,
        tokenAbi.totalSupply,
        tokenAbi.cap,
        tokenAbi.minDistributionSupply,
        tokenAbi.undistributedRevenue,
      ],
      address,
    } as const;
    const [name, symbol, decimals, totalSupplyTokens, capTokens, minDistributionSupplyTokens, undistributedRevenueWei] = await readMany(
      client,
      [
        { ...token, functionName: "name" },
        { ...token, functionName: "symbol" },
        { ...token, functionName: "decimals" },
        { ...token, functionName: "totalSupply" },
        { ...token, functionName: "cap" },
        { ...token, functionName: "minDistributionSupply" },
        { ...token, functionName: "undistributedRevenue" },
      ],
    );
    return { address, name, symbol, decimals, totalSupplyTokens, capTokens, minDistributionSupplyTokens, undistributedRevenueWei };
  });
}
