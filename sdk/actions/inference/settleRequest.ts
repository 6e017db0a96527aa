import type { Address, ContractFunctionArgs } from "viem";
import type { inferenceEscrowAbi } from "../../abi/inferenceEscrow.ts";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import {
  type DeploymentsParameter,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  type WriteParameters,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { getInferenceRequest, type InferenceRequest } from "./getInferenceRequest.ts";

/** The escrow writes that settle a request and take its fields back as calldata. */
export type SettlingFunction = "fulfill" | "refund";

/** @internal Parameters shared by the actions that settle one request. */
export type SettleRequestParameters<wait extends boolean = true> = DeploymentsParameter & WriteParameters<wait> & { requestId: bigint };

/**
 * @internal Reads request `requestId`'s fields back from its `InferenceRequested` event (the escrow
 * stores only their hash; `InferenceNotFoundError` when there is no such request) and sends the
 * escrow write `functionName` with the arguments `args` builds from them.
 */
export async function settleRequest<functionName extends SettlingFunction, wait extends boolean = true>(
  client: ShardholderClient,
  parameters: SettleRequestParameters<wait>,
  call: {
    action: string;
    functionName: functionName;
    /** Simulate on the pending block (a refund is valid in the first block at or past the deadline). */
    simulateOn?: "pending" | undefined;
    args: (
      request: InferenceRequest,
    ) =>
      | ContractFunctionArgs<typeof inferenceEscrowAbi, "nonpayable", functionName>
      | Promise<ContractFunctionArgs<typeof inferenceEscrowAbi, "nonpayable", functionName>>;
  },
): Promise<{ result: WriteReturnType<WriteResult, wait>; request: InferenceRequest; escrow: Address }> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { request } = await getInferenceRequest(client, parameters);
  const result = await sendContractWrite(
    client,
    {
      action: call.action,
      abi: [escrowAbi.fulfill, escrowAbi.refund],
      address: contracts.inferenceEscrow,
      functionName: call.functionName,
      args: await call.args(request),
      account: parameters.account,
      simulateOn: call.simulateOn,
    },
    parameters,
  );
  return { result, request, escrow: contracts.inferenceEscrow };
}
