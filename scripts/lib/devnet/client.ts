// The dapp side of an inference: uses only the public SDK (`shardholder/sdk`) for the chain and
// plain HTTP for the operator's content store (the escrow only ever sees hashes).
import { keccak256, toBytes, type Hex, type WalletClient } from "viem";
import { type Deployments, requestInference, waitForInference } from "shardholder/sdk";

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
  latencyMs: number;
};

/** Uploads the prompt, pays for the inference, waits for the fulfilment and checks the delivered text against the on-chain hash. */
export async function payForInference(p: {
  wallet: WalletClient;
  deployments: Deployments;
  modelId: bigint;
  /** The pipeline to serve it (default: the SDK picks the newest serving one). */
  pipelineKey?: Hex | undefined;
  storeUrl: string;
  prompt: string;
  feeWei: bigint;
}): Promise<InferenceOutcome> {
  const started = performance.now();
  const put = await fetch(`${p.storeUrl}/inputs`, { method: "PUT", body: p.prompt });
  if (!put.ok) throw new Error(`prompt upload failed: HTTP ${put.status}`);
  const { requestId, receipt } = await requestInference(p.wallet, { deployments: p.deployments, modelId: p.modelId, pipelineKey: p.pipelineKey, input: p.prompt, feeWei: p.feeWei, maxFeeWei: p.feeWei });
  const done = await waitForInference(p.wallet, { deployments: p.deployments, requestId, timeoutMs: 120_000, pollingInterval: 100 });
  const res = await fetch(`${p.storeUrl}/outputs/${requestId}`);
  const { output } = (await res.json()) as { output: string };
  if (keccak256(toBytes(output)) !== done.outputHash) throw new Error(`request ${requestId}: delivered text does not hash to the fulfilled outputHash`);
  return {
    requestId,
    requester: (p.wallet.account?.address ?? "0x") as Hex,
    prompt: p.prompt,
    output,
    feeWei: p.feeWei,
    holdersWei: done.holdersWei,
    operatorFeeWeiPerStage: done.operatorFeeWeiPerStage,
    protocolFeeWei: done.protocolFeeWei,
    requestGas: receipt.gasUsed,
    latencyMs: performance.now() - started,
  };
}
