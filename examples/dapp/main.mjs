// A dapp in plain Node ESM (no TypeScript, no loader): pays for one inference on a running
// Shardholder network and prints the result as one JSON line.
//
//   npm run sdk && npm install     # packs ../../packages/sdk into this folder, installs it and viem
//   RPC_URL=http://127.0.0.1:8545 PRIVATE_KEY=0x… MODEL_ID=1 node main.mjs "Once upon a time"
//
// DEPLOYMENTS_DIR (default ./deployments) holds the address book `<chainId>.json` the deploy
// script writes. test/sdk/package.test.ts packs the SDK, installs this folder and runs it.
import { createWalletClient, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { requestInference, waitForInference } from "@shardholder/sdk";
import { loadDeployments } from "@shardholder/sdk/node";

/**
 * Pays for `prompt` and resolves once a serving pipeline fulfilled it. Same parameters as the
 * SDK's `infer`: once that action ships, `await infer(client, parameters)` replaces this call.
 */
async function ask(client, { deployments, modelId, prompt, maxFeeWei, timeoutMs }) {
  const { requestId } = await requestInference(client, { deployments, modelId, input: prompt, maxFeeWei, ttlSec: Math.ceil(timeoutMs / 1000) });
  return waitForInference(client, { deployments, requestId, timeoutMs });
}

const rpcUrl = process.env.RPC_URL ?? "http://127.0.0.1:8545";
if (!process.env.PRIVATE_KEY) throw new Error("set PRIVATE_KEY to the dapp account's key (it pays the fee)");
const client = createWalletClient({ account: privateKeyToAccount(process.env.PRIVATE_KEY), transport: http(rpcUrl) });
const deployments = await loadDeployments({ chainId: await getChainId(client), dir: process.env.DEPLOYMENTS_DIR ?? "deployments" });

const result = await ask(client, {
  deployments,
  modelId: BigInt(process.env.MODEL_ID ?? "1"),
  prompt: process.argv[2] ?? "Once upon a time",
  maxFeeWei: parseEther(process.env.MAX_FEE_ETH ?? "0.01"),
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 120_000),
});
console.log(JSON.stringify({ requestId: result.requestId.toString(), outputHash: result.outputHash, fulfiller: result.fulfiller }));
