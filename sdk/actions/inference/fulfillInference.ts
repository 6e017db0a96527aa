import type { Address, Hex } from "viem";
import { packServingSignatures, type ServingCommitment } from "../../protocol/serving.ts";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import type {
  InferenceEscrowAlreadyFulfilledError,
  InferenceEscrowCommitmentCountMismatchError,
  InferenceEscrowDeadlinePassedError,
  InferenceEscrowInvalidServingSignatureError,
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
  /** Each stage's serving commitment, in stage order (docs/PROTOCOL.md "Verified inference"). */
  commitments: readonly ServingCommitment[];
  /** Each stage operator's 64-byte compact signature of its commitment (`signServingCommitment`), in stage order. */
  signatures: readonly Hex[];
  /**
   * The operators of the request's pipeline, one per stage, in stage order (the sender among them).
   * Default: read from the pipeline's `PipelineRegistered` event.
   */
  stageOperators?: readonly Address[] | undefined;
};

export type FulfillInferenceReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & {
    protocolFeeWei: bigint;
    operatorFeeWeiPerStage: bigint;
    holdersWei: bigint;
    pipelineKey: Hex;
    servingRoot: Hex;
    /** Unix seconds until which the answer can be challenged; the operators' shares are held until then. */
    challengeableUntil: bigint;
  },
  wait
>;

export type FulfillInferenceErrorType =
  | InferenceEscrowNotServingOperatorError
  | InferenceEscrowNotPipelineMemberError
  | InferenceEscrowPipelineMismatchError
  | InferenceEscrowDeadlinePassedError
  | InferenceEscrowAlreadyFulfilledError
  | InferenceEscrowInvalidServingSignatureError
  | InferenceEscrowCommitmentCountMismatchError
  | InferenceNotFoundError
  | AccountRequiredError
  | NoDeploymentError;

/**
 * Delivers a request as a member of the pipeline the requester named (used by the worker's serve
 * mode), with every stage's signed serving commitment: pays the protocol's and the holders' shares
 * (deposited into the model token) and holds the stage operators' shares until `releaseInferenceFees`
 * after the challenge window. Only that pipeline's operators can fulfil, and its shares go to them
 * whoever sends the transaction.
 *
 * @example
 * import { fulfillInference } from "@shardholder/sdk"
 * await fulfillInference(walletClient, { deployments, requestId, outputHash, commitments, signatures })
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
      const commitments = parameters.commitments.map((c) => ({ ...c }));
      return [
        parameters.requestId,
        request,
        parameters.outputHash,
        commitments,
        packServingSignatures(parameters.signatures),
        stageOperators,
      ] as const;
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
      servingRoot: args.servingRoot,
      challengeableUntil: args.challengeableUntil,
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
