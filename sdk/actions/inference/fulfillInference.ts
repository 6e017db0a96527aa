import type { Address, Hex } from "viem";
import { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import type {
  InferenceEscrowAlreadyFulfilledError,
  InferenceEscrowDeadlinePassedError,
  InferenceEscrowNotServingOperatorError,
  InferenceEscrowStageCountMismatchError,
} from "../../errors/contractErrors.ts";
import type { AccountRequiredError, InferenceNotFoundError, NoDeploymentError } from "../../errors/sdk.ts";
import type { ShardholderClient, WriteResult } from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import { type SettleRequestParameters, settleRequest } from "./settleRequest.ts";

export type FulfillInferenceParameters = SettleRequestParameters & {
    /** Hash of the delivered output (the output itself travels off-chain). */
    outputHash: Hex;
    /** The serving operator of each stage, in stage order (one may appear several times). */
    stageOperators: readonly Address[];
};

export type FulfillInferenceReturnType = WriteResult & { protocolFeeWei: bigint; operatorFeeWeiPerStage: bigint; holdersWei: bigint };

export type FulfillInferenceErrorType =
  | InferenceEscrowNotServingOperatorError
  | InferenceEscrowDeadlinePassedError
  | InferenceEscrowAlreadyFulfilledError
  | InferenceEscrowStageCountMismatchError
  | InferenceNotFoundError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Delivers a request as a staked serving operator (used by the worker's serve mode): splits the
 * fee between protocol, stage operators (accrued to the pipeline of `stageOperators`, withdraw with
 * `withdrawEscrowBalance`) and the token holders (deposited into the model token).
 *
 * @example
 * import { fulfillInference } from "shardholder/sdk"
 * await fulfillInference(walletClient, { deployments, requestId, outputHash, stageOperators: [op0, op1] })
 */
export async function fulfillInference(client: ShardholderClient, parameters: FulfillInferenceParameters): Promise<FulfillInferenceReturnType> {
  const { result, escrow } = await settleRequest(client, parameters, {
    action: "fulfillInference",
    functionName: "fulfill",
    args: (request) => [parameters.requestId, request, parameters.outputHash, parameters.stageOperators] as const,
  });
  const { args } = receiptEvent(result, { abi: inferenceEscrowAbi, address: escrow, eventName: "InferenceFulfilled" });
  return { ...result, protocolFeeWei: args.protocolFeeWei, operatorFeeWeiPerStage: args.operatorFeeWeiPerStage, holdersWei: args.holdersWei };
}
