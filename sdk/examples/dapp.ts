// Dapp: prompt in, verified text out. The serving endpoint is found on-chain; nothing is paid
// when the input is bad or no endpoint takes the prompt; undelivered requests are refunded.
import { type Account, type Chain, type Client, type Transport, parseEther } from "viem";
import { type DeploymentsSource, shardholderActions } from "../index.ts";

export async function runDapp(wallet: Client<Transport, Chain, Account>, deployments: DeploymentsSource, modelId: bigint) {
  const client = wallet.extend(shardholderActions({ deployments }));
  const { text, requestId, holdersWei } = await client.infer({
    modelId,
    prompt: "Once upon a time",
    maxFeeWei: parseEther("0.01"),
    timeoutMs: 120_000,
  });
  // The text hashes to the outputHash the operator committed to on-chain; holdersWei went to token holders.
  return { text, requestId, holdersWei };
}
