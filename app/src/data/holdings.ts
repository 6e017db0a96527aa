// A holder's position in every model: balance, share of supply, claimable revenue (the token's
// own `claimable`), lifetime earned and the audit trail that explains it (SDK `explainRevenue`,
// which replays the token's events with the contract's integer arithmetic).
import type { Address } from "viem";
import { explainRevenue } from "../../../sdk/actions/holders/explainRevenue.ts";
import { getClaimable } from "../../../sdk/actions/holders/getClaimable.ts";
import { getModelToken } from "../../../sdk/actions/models/getModelToken.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import type { RevenueEntry } from "../../../sdk/holders/revenueReplay.ts";
import type { ReadClient } from "../readClient.ts";

export type Holding = {
  modelId: bigint;
  token: Address;
  name: string;
  symbol: string;
  decimals: number;
  balanceTokens: bigint;
  supplyTokens: bigint;
  /** The token's `claimable(holder)`. */
  claimableWei: bigint;
  /** From the audit: everything the holder's balance earned, claimed or not. */
  earnedWei: bigint;
  claimedWei: bigint;
  /** The audit's own `earned - claimed`: equals `claimableWei` when both were read at the same block. */
  auditClaimableWei: bigint;
  entries: RevenueEntry[];
};

export type Holdings = { modelCount: number; holdings: Holding[]; totalClaimableWei: bigint };

/** Every model where `holder` holds tokens or ever earned revenue, in model order. */
export async function loadHoldings(client: ReadClient, deployments: Deployments, holder: Address): Promise<Holdings> {
  const { models, totalWei } = await getClaimable(client, { deployments, holder });
  const rows = await Promise.all(
    models.map(async (m): Promise<Holding> => {
      const [token, audit] = await Promise.all([
        getModelToken(client, { deployments, modelId: m.modelId }),
        explainRevenue(client, { deployments, holder, modelId: m.modelId }),
      ]);
      return {
        modelId: m.modelId,
        token: m.token,
        name: token.name,
        symbol: token.symbol,
        decimals: token.decimals,
        balanceTokens: m.balanceTokens,
        supplyTokens: token.totalSupplyTokens,
        claimableWei: m.claimableWei,
        earnedWei: audit.earnedWei,
        claimedWei: audit.claimedWei,
        auditClaimableWei: audit.claimableWei,
        entries: audit.entries,
      };
    }),
  );
  const holdings = rows.filter((h) => h.balanceTokens > 0n || h.earnedWei > 0n || h.claimableWei > 0n);
  return { modelCount: models.length, holdings, totalClaimableWei: totalWei };
}
