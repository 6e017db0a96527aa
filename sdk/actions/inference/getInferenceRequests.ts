import type { Address, Hex } from "viem";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";
import type { InferenceRequest } from "./getInferenceRequest.ts";

/** A request as its `InferenceRequested` event has it (whether it is still live: `getInferenceRequest`). */
export type RequestedInference = InferenceRequest & EventLocation & { requestId: bigint };

export type GetInferenceRequestsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    /** Only requests naming this pipeline: what its serving operator fulfils. */
    pipelineKey?: Hex | undefined;
    /** Only this requester's. */
    requester?: Address | undefined;
    /** Only this model's (filtered after the query: not an indexed topic). */
    modelId?: bigint | undefined;
  };

export type GetInferenceRequestsReturnType = RequestedInference[];

export type GetInferenceRequestsErrorType = NoDeploymentError;

/**
 * The inference requests made between the deployment block (or `fromBlock`) and `toBlock`, in
 * chain order, from the escrow's `InferenceRequested` events. A serving operator polls the
 * requests naming its pipeline with `fromBlock` one past the last block it read.
 *
 * @example
 * import { getInferenceRequests } from "@shardholder/sdk"
 * const head = await client.getBlockNumber()
 * const requests = await getInferenceRequests(client, { deployments, pipelineKey, fromBlock, toBlock: head })
 * fromBlock = head + 1n
 */
export async function getInferenceRequests(
  client: ShardholderClient,
  parameters: GetInferenceRequestsParameters,
): Promise<GetInferenceRequestsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const only = parameters.modelId;
  const logs = await scanEvents(client, {
    abi: [escrowAbi.InferenceRequested],
    address: contracts.inferenceEscrow,
    eventName: "InferenceRequested",
    args: { pipelineKey: parameters.pipelineKey, requester: parameters.requester },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs
    .filter((l) => only === undefined || l.args.modelId === only)
    .map((l) => {
      const { requestId, modelId, pipelineKey, requester, feeWei, deadline, inputHash } = l.args;
      return { requestId, modelId, pipelineKey, requester, feeWei, deadline, inputHash, ...locationOf(l) };
    });
}
