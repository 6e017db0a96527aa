// Token holder: see what every model owes you, audit it from events, claim it all in one transaction.
import { type Account, type Chain, type Client, type Transport, formatEther } from "viem";
import { type DeploymentsSource, shardholderActions } from "../index.ts";

export async function runHolder(wallet: Client<Transport, Chain, Account>, deployments: DeploymentsSource) {
  const client = wallet.extend(shardholderActions({ deployments }));
  const holder = wallet.account.address;
  const { models, totalWei } = await client.getClaimable({ holder });
  for (const { modelId, claimableWei } of models) {
    const audit = await client.explainRevenue({ holder, modelId });
    console.log(`model ${modelId}: ${formatEther(claimableWei)} ETH claimable, ${audit.entries.length} deposits audited`);
  }
  const claimed = await client.claimAll();
  return { expectedWei: totalWei, claimedWei: claimed.totalWei };
}
