import * as registryAbi from "../../abi/items/modelRegistry.ts";
import type { ModelRegistryUnknownModelError } from "../../errors/contractErrors.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readContract } from "viem/actions";

export type EstimateInferenceFeeParameters = DeploymentsParameter & {
  modelId: bigint;
  /** Fee to split; defaults to the model's minimum request fee. */
  feeWei?: bigint | undefined;
};

export type EstimateInferenceFeeReturnType = {
  /** The fee that would be escrowed (at least the model's minimum). */
  feeWei: bigint;
  minRequestFeeWei: bigint;
  /** How fulfilment splits it, exactly as the escrow computes it (bps rounded down, holders get the rest). */
  protocolFeeWei: bigint;
  operatorFeeWeiPerStage: bigint;
  holdersWei: bigint;
  stageCount: number;
};

export type EstimateInferenceFeeErrorType = ModelRegistryUnknownModelError | NoDeploymentError;

/** The escrow's split: protocol and operator shares in bps rounded down, the operators' share cut per stage. */
export function splitInferenceFee(
  feeWei: bigint,
  terms: { protocolFeeBps: number; operatorFeeBps: number; stageCount: number },
): { protocolFeeWei: bigint; operatorFeeWeiPerStage: bigint; holdersWei: bigint } {
  const protocolFeeWei = (feeWei * BigInt(terms.protocolFeeBps)) / 10_000n;
  const operatorFeeWeiPerStage = (feeWei * BigInt(terms.operatorFeeBps)) / 10_000n / BigInt(terms.stageCount);
  const holdersWei = feeWei - protocolFeeWei - operatorFeeWeiPerStage * BigInt(terms.stageCount);
  return { protocolFeeWei, operatorFeeWeiPerStage, holdersWei };
}

/**
 * The fee an inference of a model costs and how it will be split between protocol, the serving
 * operators of each stage and the token holders.
 *
 * @example
 * import { estimateInferenceFee } from "@shardholder/sdk"
 * const { feeWei, holdersWei } = await estimateInferenceFee(client, { deployments, modelId: 1n })
 */
export async function estimateInferenceFee(
  client: ShardholderClient,
  parameters: EstimateInferenceFeeParameters,
): Promise<EstimateInferenceFeeReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const model = await withTypedErrors(() =>
    readContract(client, { abi: [registryAbi.model], address: contracts.modelRegistry, functionName: "model", args: [parameters.modelId] }),
  );
  const feeWei = parameters.feeWei !== undefined && parameters.feeWei > model.minRequestFeeWei ? parameters.feeWei : model.minRequestFeeWei;
  return { feeWei, minRequestFeeWei: model.minRequestFeeWei, stageCount: model.stageCount, ...splitInferenceFee(feeWei, model) };
}
