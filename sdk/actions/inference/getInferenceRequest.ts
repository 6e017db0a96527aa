import type { Address, Hash, Hex } from "viem";
import { readContract } from "viem/actions";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import { InferenceNotFoundError, type NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { scanEvents, scanRange } from "../internal/scan.ts";

/** The fields of a request, as emitted by `InferenceRequested` (the escrow stores only their hash). */
export type InferenceRequest = {
  modelId: bigint;
  /** The registered pipeline that alone may fulfil it. */
  pipelineKey: Hex;
  requester: Address;
  feeWei: bigint;
  deadline: bigint;
  inputHash: Hex;
};

/**
 * Where a request stands (the escrow's `RequestState`): "fulfilled" while its operators' shares are held
 * through the challenge window, "released" once they are paid out.
 */
export type InferenceState = "live" | "fulfilled" | "refunded" | "released";

/** A fulfilment as emitted by `InferenceFulfilled`. */
export type InferenceFulfillment = {
  outputHash: Hex;
  fulfiller: Address;
  protocolFeeWei: bigint;
  operatorFeeWeiPerStage: bigint;
  holdersWei: bigint;
  /** The pipeline the operator shares accrue to: the request's (`pipelineKey(modelId, stageOperators)`). */
  pipelineKey: Hex;
  /** `keccak256` of the stages' serving commitments' struct hashes (docs/PROTOCOL.md "Verified inference"). */
  servingRoot: Hex;
  /** Unix seconds until which the answer can be challenged. */
  challengeableUntil: bigint;
  /** The stage operators, in stage order (from the pipeline's `PipelineRegistered` event). */
  stageOperators: readonly Address[];
  transactionHash: Hash;
  blockNumber: bigint;
  /** Its block's hash: with the request id it decides whether validators audit it (`servingAudited`). */
  blockHash: Hash;
};

export type GetInferenceRequestParameters = DeploymentsParameter & { requestId: bigint };

export type GetInferenceRequestReturnType = {
  requestId: bigint;
  request: InferenceRequest;
  state: InferenceState;
  /** Set when `state` is "fulfilled" or "released". */
  fulfillment: InferenceFulfillment | undefined;
  /** Set when `state` is "refunded". */
  refundTransactionHash: Hash | undefined;
};

export type GetInferenceRequestErrorType = InferenceNotFoundError | NoDeploymentError;

const states = ["none", "live", "fulfilled", "refunded", "released"] as const;

/**
 * Reads a request's fields (from its event), its state and, once settled, its fulfilment or refund.
 *
 * @example
 * import { getInferenceRequest } from "@shardholder/sdk"
 * const { state, request, fulfillment } = await getInferenceRequest(client, { deployments, requestId })
 */
export async function getInferenceRequest(
  client: ShardholderClient,
  parameters: GetInferenceRequestParameters,
): Promise<GetInferenceRequestReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const { requestId } = parameters;
  // The entries read here only (not the whole ABI), so dapps waiting for results bundle little.
  const abi = [
    escrowAbi.requestState,
    escrowAbi.InferenceRequested,
    escrowAbi.InferenceFulfilled,
    escrowAbi.PipelineRegistered,
    escrowAbi.InferenceRefunded,
  ];
  const escrow = { abi, address: contracts.inferenceEscrow } as const;
  return withTypedErrors(async () => {
    const stateIndex = await readContract(client, { ...escrow, functionName: "requestState", args: [requestId] });
    const state = states[stateIndex] ?? "none";
    if (state === "none") throw new InferenceNotFoundError({ requestId });
    const sinceDeployment = scanRange(deployedAtBlock, {});
    const [requested] = await scanEvents(client, {
      ...escrow,
      eventName: "InferenceRequested",
      args: { requestId },
      range: sinceDeployment,
    });
    if (!requested) throw new InferenceNotFoundError({ requestId });
    const { modelId, pipelineKey, requester, feeWei, deadline, inputHash } = requested.args;
    const request = { modelId, pipelineKey, requester, feeWei, deadline, inputHash };
    let fulfillment: InferenceFulfillment | undefined;
    let refundTransactionHash: Hash | undefined;
    if (state === "fulfilled" || state === "released") {
      const [log] = await scanEvents(client, {
        ...escrow,
        eventName: "InferenceFulfilled",
        args: { requestId },
        range: { fromBlock: requested.blockNumber, toBlock: "latest" },
      });
      if (log) {
        const [registered] = await scanEvents(client, {
          ...escrow,
          eventName: "PipelineRegistered",
          args: { pipelineKey },
          range: { ...sinceDeployment, toBlock: requested.blockNumber },
        });
        if (!registered) throw new InferenceNotFoundError({ requestId });
        fulfillment = {
          ...log.args,
          stageOperators: registered.args.stageOperators,
          transactionHash: log.transactionHash,
          blockNumber: log.blockNumber,
          blockHash: log.blockHash,
        };
      }
    } else if (state === "refunded") {
      const [log] = await scanEvents(client, {
        ...escrow,
        eventName: "InferenceRefunded",
        args: { requestId },
        range: { fromBlock: requested.blockNumber, toBlock: "latest" },
      });
      refundTransactionHash = log?.transactionHash;
    }
    return { requestId, request, state, fulfillment, refundTransactionHash };
  });
}
