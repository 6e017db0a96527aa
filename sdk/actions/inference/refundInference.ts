import type {
  InferenceEscrowAlreadyFulfilledError,
  InferenceEscrowAlreadyRefundedError,
  InferenceEscrowDeadlineNotReachedError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, InferenceNotFoundError, NoDeploymentError } from "../../errors/sdk.ts";
import { decodeWrite, type ShardholderClient, type WriteResult, type WriteReturnType } from "../internal/client.ts";
import { type SettleRequestParameters, settleRequest } from "./settleRequest.ts";

export type RefundInferenceParameters<wait extends boolean = true> = SettleRequestParameters<wait>;

export type RefundInferenceReturnType<wait extends boolean = true> = WriteReturnType<WriteResult & { refundedWei: bigint }, wait>;

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
 * import { refundInference } from "@shardholder/sdk"
 * const { refundedWei } = await refundInference(walletClient, { deployments, requestId })
 */
export async function refundInference<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RefundInferenceParameters<wait>,
): Promise<RefundInferenceReturnType<wait>> {
  const { result, request } = await settleRequest(client, parameters, {
    action: "refundInference",
    functionName: "refund",
    // The latest block may predate the deadline on an idle chain while the next one will not.
    simulateOn: "pending",
    args: (request) => [parameters.requestId, request] as const,
  });
  return decodeWrite(result, (mined) => ({ ...mined, refundedWei: request.feeWei }));
}
