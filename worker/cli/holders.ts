// What `shardholder holdings` and `claim` read: a holder's model tokens, the revenue each owes,
// and what claiming it would cost in gas (gas estimate × the node's gas price), so a claim that
// pays less than its gas is seen before it is sent.
import type { Address, PublicClient } from "viem";
import { estimateContractGas, getGasPrice } from "viem/actions";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { revenueClaimerAbi } from "../../sdk/abi/revenueClaimer.ts";
import { getClaimable } from "../../sdk/actions/holders/getClaimable.ts";
import { getModelToken } from "../../sdk/actions/models/getModelToken.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";

export type Holding = {
  modelId: bigint;
  token: Address;
  name: string;
  symbol: string;
  balanceTokens: bigint;
  totalSupplyTokens: bigint;
  claimableWei: bigint;
  /** Claiming this model alone (nothing claimable: undefined). */
  claim?: ClaimQuote | undefined;
};

/** A claim transaction's expected cost. */
export type ClaimQuote = {
  via: "claim" | "claimAll";
  modelIds: bigint[];
  tokens: Address[];
  totalWei: bigint;
  gas: bigint;
  gasPriceWei: bigint;
  costWei: bigint;
};

/**
 * The gas of claiming `targets` (one model: the token's `claim()`; several: one RevenueClaimer
 * `claimAll`) as `holder`, priced at the node's current gas price.
 */
export async function quoteClaim(
  client: PublicClient,
  {
    deployments,
    holder,
    targets,
    gasPriceWei,
  }: {
    deployments: Deployments;
    holder: Address;
    targets: ReadonlyArray<{ modelId: bigint; token: Address; claimableWei: bigint }>;
    gasPriceWei?: bigint | undefined;
  },
): Promise<ClaimQuote> {
  const tokens = targets.map((t) => t.token);
  const [first] = targets;
  const gas =
    targets.length === 1 && first
      ? await estimateContractGas(client, { abi: modelTokenAbi, address: first.token, functionName: "claim", args: [], account: holder })
      : await estimateContractGas(client, {
          abi: revenueClaimerAbi,
          address: deployments.contracts.revenueClaimer,
          functionName: "claimAll",
          args: [tokens],
          account: holder,
        });
  const price = gasPriceWei ?? (await getGasPrice(client));
  return {
    via: targets.length === 1 ? "claim" : "claimAll",
    modelIds: targets.map((t) => t.modelId),
    tokens,
    totalWei: targets.reduce((t, x) => t + x.claimableWei, 0n),
    gas,
    gasPriceWei: price,
    costWei: gas * price,
  };
}

/**
 * A holder's tokens and claimable revenue: of `modelIds` (default: every registered model where
 * the holder has a balance or something to claim; with `all`, every model), each with the cost of
 * claiming it alone, and the cost of claiming everything claimable in one transaction.
 */
export async function readHoldings(
  client: PublicClient,
  {
    deployments,
    holder,
    modelIds,
    all = false,
  }: { deployments: Deployments; holder: Address; modelIds?: readonly bigint[] | undefined; all?: boolean | undefined },
): Promise<{ holdings: Holding[]; gasPriceWei: bigint; claimAll?: ClaimQuote | undefined }> {
  const explicit = modelIds !== undefined && modelIds.length > 0;
  const [claimable, gasPriceWei] = await Promise.all([
    getClaimable(client, { deployments, holder, modelIds: explicit ? modelIds : undefined }),
    getGasPrice(client),
  ]);
  const shown = claimable.models.filter((m) => explicit || all || m.balanceTokens > 0n || m.claimableWei > 0n);
  const holdings: Holding[] = [];
  for (const m of shown) {
    const token = await getModelToken(client, { deployments, modelId: m.modelId });
    const claim = m.claimableWei > 0n ? await quoteClaim(client, { deployments, holder, targets: [m], gasPriceWei }) : undefined;
    holdings.push({
      modelId: m.modelId,
      token: m.token,
      name: token.name,
      symbol: token.symbol,
      balanceTokens: m.balanceTokens,
      totalSupplyTokens: token.totalSupplyTokens,
      claimableWei: m.claimableWei,
      claim,
    });
  }
  const claimableOnes = holdings.filter((h) => h.claimableWei > 0n);
  const claimAll =
    claimableOnes.length > 1
      ? await quoteClaim(client, { deployments, holder, targets: claimableOnes, gasPriceWei })
      : claimableOnes[0]?.claim;
  return { holdings, gasPriceWei, claimAll };
}
