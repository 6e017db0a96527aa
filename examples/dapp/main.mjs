// A dapp in plain Node ESM (no TypeScript, no loader): asks a model on a running Shardholder
// network for the continuation of a prompt and prints the verified text as one JSON line.
//
//   npm run sdk && npm install     # packs ../../packages/sdk into this folder, installs it and viem
//   RPC_URL=http://127.0.0.1:8545 PRIVATE_KEY=0x… MODEL_ID=1 node main.mjs "Once upon a time"
//
// DEPLOYMENTS_DIR (default ./deployments) holds the address book `<chainId>.json` the deploy
// script writes. test/sdk/package.test.ts packs the SDK, installs this folder and runs it.
import { createWalletClient, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { infer } from "@shardholder/sdk";
import { loadDeployments } from "@shardholder/sdk/node";

const rpcUrl = process.env.RPC_URL ?? "http://127.0.0.1:8545";
if (!process.env.PRIVATE_KEY) throw new Error("set PRIVATE_KEY to the dapp account's key (it pays the fee)");
const client = createWalletClient({ account: privateKeyToAccount(process.env.PRIVATE_KEY), transport: http(rpcUrl) });
const deployments = await loadDeployments({ chainId: await getChainId(client), dir: process.env.DEPLOYMENTS_DIR ?? "deployments" });

// The endpoint is found on-chain; the text comes back only if it hashes to the fulfilled outputHash.
const result = await infer(client, {
  deployments,
  modelId: BigInt(process.env.MODEL_ID ?? "1"),
  prompt: process.argv[2] ?? "Once upon a time",
  maxFeeWei: parseEther(process.env.MAX_FEE_ETH ?? "0.01"),
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 120_000),
});
console.log(
  JSON.stringify({ requestId: result.requestId.toString(), text: result.text, outputHash: result.outputHash, fulfiller: result.fulfiller }),
);
