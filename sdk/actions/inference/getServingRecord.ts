import { type Address, decodeFunctionData, type Hex, isAddressEqual, sliceHex } from "viem";
import { getTransaction } from "viem/actions";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import { InferenceNotFoundError, type NoDeploymentError, ServingCommitmentsUnreadableError } from "../../errors/sdk.ts";
import type { ServingCommitment } from "../../protocol/serving.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";
import { getInferenceRequest, type InferenceFulfillment, type InferenceRequest } from "./getInferenceRequest.ts";

export type GetServingRecordParameters = DeploymentsParameter & { requestId: bigint };

/** A fulfilled request with what every stage signed for it: all a validator or challenger needs from the chain. */
export type ServingRecord = {
  requestId: bigint;
  request: InferenceRequest;
  fulfillment: InferenceFulfillment;
  /** One per stage, in stage order, as passed to `fulfill` (they hash to `fulfillment.servingRoot`). */
  commitments: readonly ServingCommitment[];
  /** Each stage operator's 64-byte compact signature of its commitment. */
  signatures: readonly Hex[];
  stageOperators: readonly Address[];
};

export type GetServingRecordErrorType = InferenceNotFoundError | ServingCommitmentsUnreadableError | NoDeploymentError;

/**
 * Reads a fulfilled request's serving commitments back from its fulfilment transaction (the escrow
 * stores only their root; they are in the calldata, public to everyone).
 *
 * @example
 * import { getServingRecord } from "@shardholder/sdk"
 * const { commitments, stageOperators } = await getServingRecord(client, { deployments, requestId })
 */
export async function getServingRecord(client: ShardholderClient, parameters: GetServingRecordParameters): Promise<ServingRecord> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { requestId } = parameters;
  const { request, fulfillment } = await getInferenceRequest(client, parameters);
  if (!fulfillment) throw new InferenceNotFoundError({ requestId });
  return withTypedErrors(async () => {
    const tx = await getTransaction(client, { hash: fulfillment.transactionHash });
    if (!tx.to || !isAddressEqual(tx.to, contracts.inferenceEscrow)) throw new ServingCommitmentsUnreadableError({ requestId });
    const { functionName, args } = decodeFunctionData({ abi: [escrowAbi.fulfill], data: tx.input });
    if (functionName !== "fulfill" || args[0] !== requestId) throw new ServingCommitmentsUnreadableError({ requestId });
    const [, , , commitments, packed, stageOperators] = args;
    const signatures = commitments.map((_, stage) => sliceHex(packed, stage * 64, stage * 64 + 64));
    return { requestId, request, fulfillment, commitments, signatures, stageOperators };
  });
}
