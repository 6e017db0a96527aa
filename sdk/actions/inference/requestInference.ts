import { type Hex, keccak256, toBytes } from "viem";
import { getBlock, readContract } from "viem/actions";
// Single ABI entries, not whole ABIs: an app bundling this action carries only what it calls.
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import type {
  InferenceEscrowFeeTooLowError,
  InferenceEscrowInvalidDeadlineError,
  InferenceEscrowUnknownModelError,
  InferenceEscrowUnknownPipelineError,
} from "../../errors/contractErrors.ts";
import { type AccountRequiredError, FeeAboveLimitError, type NoDeploymentError, NoServingPipelineError } from "../../errors/sdk.ts";
import {
  decodeWrite,
  type DeploymentsParameter,
  type WriteParameters,
  resolveDeployments,
  sendContractWrite,
  type ShardholderClient,
  withTypedErrors,
  type WriteResult,
  type WriteReturnType,
} from "../internal/client.ts";
import { receiptEvent } from "../internal/events.ts";
import type { InferenceRequest } from "./getInferenceRequest.ts";
import { getPipelines } from "./getPipelines.ts";

export type RequestInferenceParameters<wait extends boolean = true> = DeploymentsParameter &
  WriteParameters<wait> & {
    modelId: bigint;
    /**
     * The registered pipeline that alone may fulfil the request (`pipelineKey(modelId, stageOperators)`).
     * Default: the most recently registered pipeline of the model whose operators all serve now.
     */
    pipelineKey?: Hex | undefined;
    /** Hash of the input, or the input itself (`inputHash = keccak256(utf8(input))` for text, keccak256 of the bytes otherwise). */
    input: string | Uint8Array | { hash: Hex };
    /** Fee to escrow; defaults to the model's minimum request fee. */
    feeWei?: bigint | undefined;
    /** Refuse to send when the fee would exceed this. */
    maxFeeWei?: bigint | undefined;
    /** Seconds from the latest block's timestamp until the deadline (default 600). */
    ttlSec?: number | undefined;
    /** Absolute deadline (unix seconds); overrides `ttlSec`. */
    deadline?: bigint | undefined;
  };

export type RequestInferenceReturnType<wait extends boolean = true> = WriteReturnType<
  WriteResult & { requestId: bigint; request: InferenceRequest },
  wait
>;

export type RequestInferenceErrorType =
  | InferenceEscrowFeeTooLowError
  | InferenceEscrowInvalidDeadlineError
  | InferenceEscrowUnknownModelError
  | InferenceEscrowUnknownPipelineError
  | NoServingPipelineError
  | FeeAboveLimitError
  | AccountRequiredError
  | NoDeploymentError;

/** The input hash the escrow stores: `keccak256` of the UTF-8 bytes of text, or of raw bytes. */
export function inferenceInputHash(input: RequestInferenceParameters["input"]): Hex {
  if (typeof input === "object" && "hash" in input) return input.hash;
  return keccak256(typeof input === "string" ? toBytes(input) : input);
}

/** The most recently registered pipeline of `modelId` whose stage operators all serve now. */
export async function pickServingPipeline(
  client: ShardholderClient,
  parameters: { deployments: RequestInferenceParameters["deployments"]; modelId: bigint },
): Promise<Hex> {
  const pipelines = await getPipelines(client, { deployments: parameters.deployments, modelId: parameters.modelId, checkServing: true });
  const serving = pipelines.filter((p) => p.serving).at(-1);
  if (!serving) throw new NoServingPipelineError({ modelId: parameters.modelId });
  return serving.pipelineKey;
}

/**
 * Pays for one inference: escrows the fee (default: the model's minimum) until a deadline, naming
 * the pipeline that alone may fulfil it, and returns the request id. The input itself travels
 * off-chain to the serving operators; only its hash is stored. Await the result with `waitForInference`.
 *
 * @example
 * import { requestInference, waitForInference } from "@shardholder/sdk"
 * const { requestId } = await requestInference(walletClient, { deployments, modelId: 1n, input: "Once upon a time" })
 * const { outputHash } = await waitForInference(walletClient, { deployments, requestId })
 */
export async function requestInference<wait extends boolean = true>(
  client: ShardholderClient,
  parameters: RequestInferenceParameters<wait>,
): Promise<RequestInferenceReturnType<wait>> {
  const { contracts } = await resolveDeployments(client, parameters.deployments);
  const { modelId } = parameters;
  const feeWei =
    parameters.feeWei ??
    (
      await withTypedErrors(() =>
        readContract(client, { abi: [registryAbi.model], address: contracts.modelRegistry, functionName: "model", args: [modelId] }),
      )
    ).minRequestFeeWei;
  if (parameters.maxFeeWei !== undefined && feeWei > parameters.maxFeeWei)
    throw new FeeAboveLimitError({ feeWei, maxFeeWei: parameters.maxFeeWei });
  const deadline = parameters.deadline ?? (await getBlock(client)).timestamp + BigInt(parameters.ttlSec ?? 600);
  const inputHash = inferenceInputHash(parameters.input);
  const pipelineKey = parameters.pipelineKey ?? (await pickServingPipeline(client, { deployments: parameters.deployments, modelId }));
  const sent = await sendContractWrite(
    client,
    {
      action: "requestInference",
      abi: [escrowAbi.request],
      address: contracts.inferenceEscrow,
      functionName: "request",
      args: [modelId, pipelineKey, inputHash, deadline],
      value: feeWei,
      account: parameters.account,
    },
    parameters,
  );
  return decodeWrite(sent, (result) => {
    const { args } = receiptEvent(result, {
      abi: [escrowAbi.InferenceRequested],
      address: contracts.inferenceEscrow,
      eventName: "InferenceRequested",
    });
    return {
      ...result,
      requestId: args.requestId,
      request: {
        modelId: args.modelId,
        pipelineKey: args.pipelineKey,
        requester: args.requester,
        feeWei: args.feeWei,
        deadline: args.deadline,
        inputHash: args.inputHash,
      },
    };
  });
}
