// Dapp: pay for an inference and await its result.
import { type Account, type Chain, type Client, type Transport, publicActions } from "viem";
import { type DeploymentsSource, shardholderActions } from "../index.ts";

export async function runDapp(wallet: Client<Transport, Chain, Account>, deployments: DeploymentsSource, modelId: bigint) {
  const client = wallet.extend(publicActions).extend(shardholderActions({ deployments }));
  const { feeWei } = await client.estimateInferenceFee({ modelId });
  const { requestId } = await client.requestInference({ modelId, input: "Once upon a time", feeWei, ttlSec: 600 });
  // Resolves when a serving operator fulfils; rejects with InferenceTimeoutError / InferenceRefundedError.
  const { outputHash, fulfiller } = await client.waitForInference({ requestId, timeoutMs: 120_000 });
  return { requestId, outputHash, fulfiller };
}
