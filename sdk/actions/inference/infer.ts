import type { Address, Hash, Hex } from "viem";
import { estimateFeesPerGas, getBalance, getGasPrice } from "viem/actions";
import type { ModelRegistryUnknownModelError } from "../../errors/contractErrors.ts";
import {
  EndpointsUnreachableError,
  InferenceNotDeliveredError,
  InsufficientFundsError,
  InvalidDeadlineError,
  NoServingEndpointError,
  type OutputMismatchError,
  type OutputUnavailableError,
  PromptEmptyError,
  PromptTooLongError,
  type RpcUnreachableError,
} from "../../errors/inference.ts";
import {
  AccountRequiredError,
  FeeAboveLimitError,
  InferenceTimeoutError,
  InvalidParameterError,
  type NoDeploymentError,
  NoServingPipelineError,
} from "../../errors/sdk.ts";
import { MAX_PROMPT_BYTES, utf8Bytes } from "../../protocol/servingEndpoint.ts";
import { getModel } from "../models/getModel.ts";
import { type AccountParameter, type DeploymentsParameter, rpcUnreachable, type ShardholderClient } from "../internal/client.ts";
import { nextBlockTime } from "../internal/blockTime.ts";
import { fetchOutput, uploadPrompt } from "./endpointHttp.ts";
import { getServingEndpoints, type ServingEndpoint } from "./getServingEndpoints.ts";
import { refundInference } from "./refundInference.ts";
import { requestInference } from "./requestInference.ts";
import { getServingStatus, type ServingVerification } from "./getServingStatus.ts";
import { waitForInference } from "./waitForInference.ts";

/** Upper bound of the escrow's `request` gas (measured 58,227 in bench/gas.json), for the funding check. */
export const REQUEST_GAS_BOUND = 150_000n;

export type InferParameters = DeploymentsParameter &
  AccountParameter & {
    modelId: bigint;
    /** The prompt, non-empty, at most `MAX_PROMPT_BYTES` (4096) bytes of UTF-8. */
    prompt: string;
    /** Most the dapp will pay, in wei; nothing is sent when the fee would be higher. */
    maxFeeWei: bigint;
    /** Fee to escrow (default: the model's minimum request fee). */
    feeWei?: bigint | undefined;
    /**
     * How long the network has to deliver, in milliseconds (default 120,000): the request's deadline
     * is the chain's clock plus this, rounded up to seconds. Undelivered by then, the fee is refunded.
     */
    timeoutMs?: number | undefined;
    /** Absolute deadline (unix seconds, the chain's clock) instead of `timeoutMs`; refused unless it is in the chain's future. */
    deadline?: bigint | undefined;
    /** How long one endpoint may take to accept the prompt before the next is tried (default 5,000). */
    endpointTimeoutMs?: number | undefined;
    /** How long to keep trying to refund after the deadline, waiting for the chain's clock to pass it (default 60,000). */
    refundGraceMs?: number | undefined;
    /** Polling interval for HTTP transports while waiting for the fulfilment. */
    pollingInterval?: number | undefined;
    /** Progress: the endpoint chosen, the request paid, the fulfilment seen. */
    onProgress?: ((progress: InferProgress) => void) | undefined;
  };

/** Steps `infer` reports as it goes. */
export type InferProgress =
  | { step: "uploaded"; url: string; pipelineKey: Hex }
  | { step: "requested"; requestId: bigint; transactionHash: Hash; deadline: bigint }
  | { step: "fulfilled"; requestId: bigint; transactionHash: Hash };

export type InferReturnType = {
  /** The generated text; it hashes to `outputHash`, the hash the fulfilling operator committed to on-chain. */
  text: string;
  /**
   * Whether the answer can still be challenged, was audited by every stage's validators, or is final
   * (docs/PROTOCOL.md "Verified inference"); re-read later with `getServingStatus`. A stage proven wrong
   * within the window refunds the fee in full from its operator's stake.
   */
  verification: ServingVerification;
  requestId: bigint;
  outputHash: Hex;
  /** The endpoint that took the prompt and handed out the text. */
  url: string;
  pipelineKey: Hex;
  fulfiller: Address;
  stageOperators: readonly Address[];
  feeWei: bigint;
  holdersWei: bigint;
  operatorFeeWeiPerStage: bigint;
  protocolFeeWei: bigint;
  requestTransactionHash: Hash;
  fulfillTransactionHash: Hash;
};

export type InferErrorType =
  | PromptEmptyError
  | PromptTooLongError
  | ModelRegistryUnknownModelError
  | FeeAboveLimitError
  | InvalidParameterError
  | InvalidDeadlineError
  | NoServingPipelineError
  | NoServingEndpointError
  | InsufficientFundsError
  | EndpointsUnreachableError
  | InferenceNotDeliveredError
  | InferenceTimeoutError
  | OutputMismatchError
  | OutputUnavailableError
  | AccountRequiredError
  | RpcUnreachableError
  | NoDeploymentError;

/** Throws the typed error for a prompt `infer` would refuse; bounds are checked before any fee moves. */
export function checkPrompt(prompt: string): void {
  if (typeof prompt !== "string" || prompt.length === 0) throw new PromptEmptyError();
  const lengthBytes = utf8Bytes(prompt);
  if (lengthBytes > MAX_PROMPT_BYTES) throw new PromptTooLongError({ lengthBytes, maxBytes: MAX_PROMPT_BYTES });
}

async function maxGasPriceWei(client: ShardholderClient): Promise<bigint> {
  try {
    const fees = await estimateFeesPerGas(client);
    return fees.maxFeePerGas ?? fees.gasPrice ?? (await getGasPrice(client));
  } catch {
    return getGasPrice(client);
  }
}

/** Tries the endpoints in order until one stores the prompt; throws {@link EndpointsUnreachableError} when none does. */
async function deliverPrompt(
  modelId: bigint,
  endpoints: readonly ServingEndpoint[],
  prompt: string,
  timeoutMs: number,
): Promise<ServingEndpoint> {
  const failures: { url: string; reason: string }[] = [];
  for (const endpoint of endpoints) {
    const reason = await uploadPrompt(endpoint.url, prompt, timeoutMs);
    if (reason === undefined) return endpoint;
    failures.push({ url: endpoint.url, reason });
  }
  throw new EndpointsUnreachableError({ modelId, failures });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** After the deadline: refunds the request, or returns "fulfilled" if the fulfilment landed first. */
async function refundWhenDue(
  client: ShardholderClient,
  parameters: InferParameters,
  requestId: bigint,
  graceMs: number,
): Promise<"fulfilled" | { transactionHash: Hash; refundedWei: bigint }> {
  const until = Date.now() + graceMs;
  for (;;) {
    try {
      return await refundInference(client, { deployments: parameters.deployments, requestId, account: parameters.account });
    } catch (err) {
      // By name, not instanceof: the contract error classes load lazily, on the first revert.
      const name = err instanceof Error ? err.name : "";
      if (name === "InferenceEscrowAlreadyFulfilledError") return "fulfilled";
      // The wall clock passed the deadline before the chain's did: wait for the chain.
      if (name !== "InferenceEscrowDeadlineNotReachedError" || Date.now() >= until) throw err;
      await sleep(1_000);
    }
  }
}

/** @internal viem's transport failures become {@link RpcUnreachableError} (the client's own mapping); everything else is already typed. */
export function toInferError(err: unknown): unknown {
  return rpcUnreachable(err) ?? err;
}

/**
 * From prompt to verified text in one call. Checks the prompt, the model, the fee, the deadline and
 * the payer's funds before any fee moves; finds the model's serving endpoints from the chain
 * (serving pipelines, ServingDirectory); delivers the prompt to the first endpoint that takes it
 * (trying the next when one is down); escrows the fee naming that endpoint's pipeline; waits for
 * the fulfilment; and returns the text only if it hashes to the fulfilled `outputHash`. Nobody
 * delivering before the deadline refunds the fee and throws {@link InferenceNotDeliveredError}.
 *
 * @example
 * import { infer } from "@shardholder/sdk"
 * const { text, requestId, holdersWei } = await infer(walletClient, { deployments, modelId: 1n, prompt: "The jury", maxFeeWei: parseEther("0.01") })
 */
export async function infer(client: ShardholderClient, parameters: InferParameters): Promise<InferReturnType> {
  try {
    return await settleInference(client, parameters, await payInference(client, parameters));
  } catch (err) {
    throw toInferError(err);
  }
}

/** @internal What `infer` and `inferStream` have once the request is paid. */
export type PaidInference = { endpoint: ServingEndpoint; requestId: bigint; requestTransactionHash: Hash; feeWei: bigint; waitMs: number };

/** @internal Checks everything, delivers the prompt and pays: the first half of `infer`. */
export async function payInference(client: ShardholderClient, parameters: InferParameters): Promise<PaidInference> {
  const { modelId, prompt, maxFeeWei } = parameters;
  checkPrompt(prompt);
  const timeoutMs = parameters.timeoutMs ?? 120_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1_000)
    throw new InvalidParameterError({
      parameter: "timeoutMs",
      reason: `${timeoutMs} is below 1000 (the chain's clock counts whole seconds)`,
    });
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: "infer" });
  const payer = typeof account === "string" ? account : account.address;

  const model = await getModel(client, { deployments: parameters.deployments, modelId });
  const feeWei = parameters.feeWei ?? model.minRequestFeeWei;
  if (feeWei > maxFeeWei) throw new FeeAboveLimitError({ feeWei, maxFeeWei });
  const now = await nextBlockTime(client);
  const deadline = parameters.deadline ?? now + BigInt(Math.ceil(timeoutMs / 1_000));
  if (deadline <= now) throw new InvalidDeadlineError({ deadline, chainTime: now });

  const { endpoints, servingPipelines } = await getServingEndpoints(client, { deployments: parameters.deployments, modelId });
  if (servingPipelines === 0) throw new NoServingPipelineError({ modelId });
  if (endpoints.length === 0) throw new NoServingEndpointError({ modelId, servingPipelines });

  const [balanceWei, gasPriceWei] = await Promise.all([getBalance(client, { address: payer }), maxGasPriceWei(client)]);
  const gasWei = REQUEST_GAS_BOUND * gasPriceWei;
  if (balanceWei < feeWei + gasWei) throw new InsufficientFundsError({ account: payer, balanceWei, feeWei, gasWei });

  const endpoint = await deliverPrompt(modelId, endpoints, prompt, parameters.endpointTimeoutMs ?? 5_000);
  parameters.onProgress?.({ step: "uploaded", url: endpoint.url, pipelineKey: endpoint.pipelineKey });
  const requested = await requestInference(client, {
    deployments: parameters.deployments,
    account: parameters.account,
    modelId,
    pipelineKey: endpoint.pipelineKey,
    input: prompt,
    feeWei,
    maxFeeWei,
    deadline,
  });
  parameters.onProgress?.({ step: "requested", requestId: requested.requestId, transactionHash: requested.transactionHash, deadline });
  return {
    endpoint,
    requestId: requested.requestId,
    requestTransactionHash: requested.transactionHash,
    feeWei,
    waitMs: Math.max(1_000, Number(deadline - now) * 1_000 + 1_000),
  };
}

/** @internal Waits for the fulfilment (refunding after the deadline) and fetches the verified text: the second half of `infer`. */
export async function settleInference(
  client: ShardholderClient,
  parameters: InferParameters,
  paid: PaidInference,
): Promise<InferReturnType> {
  const { requestId, endpoint } = paid;
  let fulfilled: Awaited<ReturnType<typeof waitForInference>>;
  try {
    fulfilled = await waitForInference(client, {
      deployments: parameters.deployments,
      requestId,
      timeoutMs: paid.waitMs,
      pollingInterval: parameters.pollingInterval,
    });
  } catch (err) {
    if (!(err instanceof InferenceTimeoutError)) throw err;
    const refund = await refundWhenDue(client, parameters, requestId, parameters.refundGraceMs ?? 60_000);
    if (refund !== "fulfilled")
      throw new InferenceNotDeliveredError({ requestId, refundedWei: refund.refundedWei, refundTransactionHash: refund.transactionHash });
    fulfilled = await waitForInference(client, {
      deployments: parameters.deployments,
      requestId,
      timeoutMs: 10_000,
      pollingInterval: parameters.pollingInterval,
    });
  }
  parameters.onProgress?.({ step: "fulfilled", requestId, transactionHash: fulfilled.transactionHash });

  const text = await fetchOutput(endpoint.url, requestId, fulfilled.outputHash, parameters.endpointTimeoutMs ?? 5_000);
  const verification = await getServingStatus(client, { deployments: parameters.deployments, requestId });
  return {
    verification,
    text,
    requestId,
    outputHash: fulfilled.outputHash,
    url: endpoint.url,
    pipelineKey: endpoint.pipelineKey,
    fulfiller: fulfilled.fulfiller,
    stageOperators: fulfilled.stageOperators,
    feeWei: paid.feeWei,
    holdersWei: fulfilled.holdersWei,
    operatorFeeWeiPerStage: fulfilled.operatorFeeWeiPerStage,
    protocolFeeWei: fulfilled.protocolFeeWei,
    requestTransactionHash: paid.requestTransactionHash,
    fulfillTransactionHash: fulfilled.transactionHash,
  };
}
