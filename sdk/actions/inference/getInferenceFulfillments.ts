import type { Address, Hex } from "viem";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** One delivered request and how its fee was split, as its `InferenceFulfilled` event has it. */
export type FulfilledInference = EventLocation & {
  requestId: bigint;
  pipelineKey: Hex;
  /** The operator that delivered (the pipeline's stage 0). */
  fulfiller: Address;
  /** keccak256 of the UTF-8 text delivered. */
  outputHash: Hex;
  protocolFeeWei: bigint;
  operatorFeeWeiPerStage: bigint;
  /** Deposited to the model's token for its holders. */
  holdersWei: bigint;
};

export type GetInferenceFulfillmentsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    /** Only this request's (at most one). */
    requestId?: bigint | undefined;
    /** Only deliveries by this pipeline. */
    pipelineKey?: Hex | undefined;
  };

export type GetInferenceFulfillmentsReturnType = FulfilledInference[];

export type GetInferenceFulfillmentsErrorType = NoDeploymentError;

/**
 * Fulfilled inference requests in chain order, from `InferenceFulfilled` events between the
 * deployment block (or `fromBlock`) and `toBlock`. The event does not name the model: join with
 * `getInferenceRequests({ modelId })` by `requestId` for one model's revenue.
 *
 * @example
 * import { getInferenceFulfillments, getInferenceRequests } from "@shardholder/sdk"
 * const mine = new Set((await getInferenceRequests(client, { deployments, modelId: 1n })).map((r) => r.requestId))
 * const toHolders = (await getInferenceFulfillments(client, { deployments })).filter((f) => mine.has(f.requestId)).reduce((t, f) => t + f.holdersWei, 0n)
 */
export async function getInferenceFulfillments(
  client: ShardholderClient,
  parameters: GetInferenceFulfillmentsParameters,
): Promise<GetInferenceFulfillmentsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [escrowAbi.InferenceFulfilled],
    address: contracts.inferenceEscrow,
    eventName: "InferenceFulfilled",
    args: { requestId: parameters.requestId, pipelineKey: parameters.pipelineKey },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { requestId, pipelineKey, fulfiller, outputHash, protocolFeeWei, operatorFeeWeiPerStage, holdersWei } = l.args;
    return { requestId, pipelineKey, fulfiller, outputHash, protocolFeeWei, operatorFeeWeiPerStage, holdersWei, ...locationOf(l) };
  });
}
