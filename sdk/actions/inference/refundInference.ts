import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import type {
  InferenceEscrowAlreadyFulfilledError,
  InferenceEscrowAlreadyRefundedError,
  InferenceEscrowDeadlineNotReachedError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, InferenceNotFoundError, NoDeploymentError } from "../../errors/sdk.ts";
import {
  type AccountParameter,
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteResult,
} from "../internal/client.ts";
import { getInferenceRequest } from "./getInferenceRequest.ts";

export type RefundInferenceParameters = DeploymentsParameter & AccountParameter & { requestId: bigint };

export type RefundInferenceReturnType = WriteResult & { refundedWei: bigint };

export type RefundInferenceErrorType =
  | InferenceEscrowDeadlineNotReachedError
  | InferenceEscrowAlreadyFulfilledError
  | InferenceEscrowAlreadyRefundedError
  | InferenceNotFoundError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Returns the escrowed fee of an unfulfilled request to its requester once its deadline has
 * passed (anyone may send it; the fee only goes to the requester). The request's fields are
 * read back from its event.
 *
 * @example
 * import { refundInference } from "shardholder/sdk"
 * const { refundedWei } = await refundInference(walletClient, { deployments, requestId })
 */
export async function refundInference(client: ShardholderClient, parameters: RefundInferenceParameters): Promise<RefundInferenceReturnType> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { request } = await getInferenceRequest(client, parameters);
  const result = await sendContractWrite(client, {
    action: "refundInference",
    abi: inferenceEscrowAbi,
    address: contracts.inferenceEscrow,
    functionName: "refund",
    args: [parameters.requestId, request],
    account: parameters.account,
  });
  return { ...result, refundedWei: request.feeWei };
}
