// The dapp side of an inference: one call of the public SDK (`infer`), which finds the serving
// endpoint on-chain, uploads the prompt, pays, waits and checks the text against the on-chain hash.
import type { Hex, WalletClient } from "viem";
import { getTransactionReceipt } from "viem/actions";
import { type Deployments, infer } from "shardholder/sdk";

export type InferenceOutcome = {
  requestId: bigint;
  requester: Hex;
  prompt: string;
  output: string;
  feeWei: bigint;
  holdersWei: bigint;
  operatorFeeWeiPerStage: bigint;
  protocolFeeWei: bigint;
  requestGas: bigint;
  /** Where the SDK found the pipeline's endpoint (the ServingDirectory entry of its first operator). */
  url: string;
  latencyMs: number;
};

/** Pays for one inference through the SDK's `infer` and reports what the devnet summary shows. */
export async function payForInference(p: {
  wallet: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  prompt: string;
  feeWei: bigint;
}): Promise<InferenceOutcome> {
  const started = performance.now();
  const result = await infer(p.wallet, {
    deployments: p.deployments,
    modelId: p.modelId,
    prompt: p.prompt,
    feeWei: p.feeWei,
    maxFeeWei: p.feeWei,
    timeoutMs: 120_000,
    pollingInterval: 100,
  });
  const receipt = await getTransactionReceipt(p.wallet, { hash: result.requestTransactionHash });
  return {
    requestId: result.requestId,
    requester: p.wallet.account?.address ?? "0x",
    prompt: p.prompt,
    output: result.text,
    feeWei: result.feeWei,
    holdersWei: result.holdersWei,
    operatorFeeWeiPerStage: result.operatorFeeWeiPerStage,
    protocolFeeWei: result.protocolFeeWei,
    requestGas: receipt.gasUsed,
    url: result.url,
    latencyMs: performance.now() - started,
  };
}
