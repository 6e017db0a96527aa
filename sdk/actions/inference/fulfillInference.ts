import type { Address, Hex } from "viem";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import type {
  InferenceEscrowAlreadyFulfilledError,
  InferenceEscrowDeadlinePassedError,
  InferenceEscrowNotPipelineMemberError,
  InferenceEscrowNotServingOperatorError,
  InferenceEscrowPipelineMismatchError,
} from "../../errors/contractErrors.ts";
import { type AccountRequiredError, InferenceNotFoundError, type NoDeploymentError } from "../../errors/sdk.ts";
import { decodeWrite, type ShardholderClient, type WriteResult, type WriteReturnType } from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import { getPipelines } from "./getPipelines.ts";
import { type SettleRequestParameters, settleRequest } from "./settleRequest.ts";

export type FulfillInferenceParameters<wait extends boolean = true> = SettleRequestParameters<wait> & {
  /** Hash of the delivered output (the output itself travels off-chain). */
  outputHash: Hex;
  /**
   * The operators of the request's pipeline, one per stage, in stage order (the sender among them).
   * Default: read from the pipeline's `PipelineRegistered` event.
   */
  stageOperators?: readonly Address[] | undefined;
};

export type FulfillInferenceReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { protocolFeeWei: bigint; operatorFeeWeiPerStage: bigint; holdersWei: bigint; pipelineKey: Hex },
  wait
>;

export type FulfillInferenceErrorType =
  | InferenceEscrowNotServingOperatorError
  | InferenceEscrowNotPipelineMemberError
  | InferenceEscrowPipelineMismatchError
  | InferenceEscrowDeadlinePassedError
  | InferenceEscrowAlreadyFulfilledError
  | InferenceNotFoundError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Delivers a request as a member of the pipeline the requester named (used by the worker's serve
 * mode): splits the fee between protocol, stage operators (accrued to the pipeline, withdraw with
 * `withdrawEscrowBalance`) and the token holders (deposited into the model token). Only that
 * pipeline's operators can fulfil, and its shares go to them whoever sends the transaction.
 *
 * @example
 * import { fulfillInference } from "@shardholder/sdk"
 * await fulfillInference(walletClient, { deployments, requestId, outputHash })
 */
export async function fulfillInference<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: FulfillInferenceParameters<wait>,
): Promise<FulfillInferenceReturnType<wait>> {
  const { result, escrow } = await settleRequest(client, parameters, {
    action: "fulfillInference",
    functionName: "fulfill",
    args: async (request) => {
      const stageOperators = parameters.stageOperators ?? (await pipelineOperators(client, parameters, request.pipelineKey));
      return [parameters.requestId, request, parameters.outputHash, stageOperators] as const;
    },
  });
  return decodeWrite(result, (mined) => {
    const { args } = receiptEvent(mined, { abi: [escrowAbi.InferenceFulfilled], address: escrow, eventName: "InferenceFulfilled" });
    return {
      ...mined,
      protocolFeeWei: args.protocolFeeWei,
      operatorFeeWeiPerStage: args.operatorFeeWeiPerStage,
      holdersWei: args.holdersWei,
      pipelineKey: args.pipelineKey,
    };
  });
}

async function pipelineOperators(
  client: ShardholderClient,
  parameters: FulfillInferenceParameters<boolean>,
  pipelineKey: Hex,
): Promise<readonly Address[]> {
  const [pipeline] = await getPipelines(client, { deployments: parameters.deployments, pipelineKey });
  if (!pipeline) throw new InferenceNotFoundError({ requestId: parameters.requestId });
  return pipeline.stageOperators;
}
