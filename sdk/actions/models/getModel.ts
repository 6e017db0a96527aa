import type { Address, ContractFunctionReturnType, Hex } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import type { modelRegistryAbi } from "../../abi/modelRegistry.ts";
import type { ModelRegistryUnknownModelError } from "../../errors/contractErrors.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { readMany } from "../internal/multicall.ts";

export type GetModelParameters = DeploymentsParameter & { modelId: bigint };

/** The registry's stored terms plus the per-stage arrays, metadata and current round. */
export type GetModelReturnType = ContractFunctionReturnType<typeof modelRegistryAbi, "view", "model"> & {
  modelId: bigint;
  metadataURI: string;
  /** Per stage: Merkle root of the initial weights. */
  initialWeightsRoots: Hex[];
  /** Per stage: compute units one microbatch is worth. */
  unitsPerMicrobatch: bigint[];
  /** Holders' share of each fee, in bps: `10000 - protocolFeeBps - operatorFeeBps`. */
  holderFeeBps: number;
  currentRound: bigint;
  token: Address;
};

export type GetModelErrorType = ModelRegistryUnknownModelError | NoDeploymentError;

/**
 * Reads a model: spec hash, stage count, token, fee split, emission schedule, timing, stakes,
 * per-stage roots and units, and the round open now, in two batched calls.
 *
 * @example
 * import { getModel } from "@shardholder/sdk"
 * const model = await getModel(client, { deployments, modelId: 1n })
 * console.log(model.stageCount, model.emission.tokensPerRound, model.holderFeeBps)
 */
export async function getModel(client: ShardholderClient, parameters: GetModelParameters): Promise<GetModelReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const abi = [registryAbi.model, registryAbi.metadataURI, registryAbi.initialWeightsRoot, registryAbi.unitsPerMicrobatch];
  const registry = { abi, address: contracts.modelRegistry } as const;
  const { modelId } = parameters;
  return withTypedErrors(async () => {
    const [model, metadataURI, currentRound] = await readMany(client, [
      { ...registry, functionName: "model", args: [modelId] },
      { ...registry, functionName: "metadataURI", args: [modelId] },
      { abi: [ledgerAbi.currentRound], address: contracts.computeLedger, functionName: "currentRound", args: [modelId] },
    ]);
    const stages = Array.from({ length: model.stageCount }, (_, s) => s);
    const [roots, units] = await Promise.all([
      readMany(
        client,
        stages.map((s) => ({ ...registry, functionName: "initialWeightsRoot", args: [modelId, s] }) as const),
      ),
      readMany(
        client,
        stages.map((s) => ({ ...registry, functionName: "unitsPerMicrobatch", args: [modelId, s] }) as const),
      ),
    ]);
    return {
      ...model,
      modelId,
      metadataURI,
      initialWeightsRoots: roots,
      unitsPerMicrobatch: units,
      holderFeeBps: 10_000 - model.protocolFeeBps - model.operatorFeeBps,
      currentRound,
    };
  });
}
