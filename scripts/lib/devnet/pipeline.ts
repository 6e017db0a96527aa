// Registers the devnet's serving pipeline the way separate operators would: each stage operator
// other than the sender signs its consent (EIP-712, `consentToPipeline`), the stage-0 operator
// sends `registerPipeline` with them. A pipeline registered earlier (a rerun on a used chain) is kept.
import { type Address, createWalletClient, type Hex, type PublicClient, type Transport } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getBlock, readContract } from "viem/actions";
import { inferenceEscrowAbi } from "../../../sdk/abi/inferenceEscrow.ts";
import { consentToPipeline } from "../../../sdk/actions/inference/consentToPipeline.ts";
import { registerPipeline } from "../../../sdk/actions/inference/registerPipeline.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { pipelineKey } from "../../../sdk/protocol/pipelineConsent.ts";

export type ServingPipeline = { pipelineKey: Hex; stageOperators: Address[]; gasUsed: bigint | undefined };

/** Registers the pipeline of `operatorKeys` (one key per stage, stage order) with every operator's consent. */
export async function registerServingPipeline(p: {
  client: PublicClient;
  transport: Transport;
  deployments: Deployments;
  modelId: bigint;
  operatorKeys: readonly Hex[];
}): Promise<ServingPipeline> {
  const accounts = p.operatorKeys.map((k) => privateKeyToAccount(k));
  const stageOperators = accounts.map((a) => a.address);
  const key = pipelineKey(p.modelId, stageOperators);
  const [registered] = await readContract(p.client, {
    abi: inferenceEscrowAbi,
    address: p.deployments.contracts.inferenceEscrow,
    functionName: "pipeline",
    args: [key],
  });
  if (registered) return { pipelineKey: key, stageOperators, gasUsed: undefined };
  const [sender, ...others] = accounts;
  if (!sender) throw new Error("a pipeline needs at least one stage");
  const consentDeadline = (await getBlock(p.client)).timestamp + 600n;
  const consents: Record<Address, Hex> = {};
  for (const account of others) {
    const wallet = createWalletClient({ account, transport: p.transport });
    consents[account.address] = (
      await consentToPipeline(wallet, { deployments: p.deployments, modelId: p.modelId, stageOperators, deadline: consentDeadline })
    ).signature;
  }
  const wallet = createWalletClient({ account: sender, transport: p.transport });
  const result = await registerPipeline(wallet, {
    deployments: p.deployments,
    modelId: p.modelId,
    stageOperators,
    consentDeadline,
    consents,
  });
  return { pipelineKey: result.pipelineKey, stageOperators, gasUsed: result.receipt.gasUsed };
}
