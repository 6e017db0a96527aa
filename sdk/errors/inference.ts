import { type Address, formatEther, getAddress, type Hash, type Hex } from "viem";
import { BaseError } from "./base.ts";

/** The prompt is empty (nothing to send, and every empty prompt hashes alike). */
export class PromptEmptyError extends BaseError {
  constructor() {
    super("The prompt is empty.", { name: "PromptEmptyError" });
  }
}

/** The prompt is longer than serving endpoints accept (`MAX_PROMPT_BYTES`); refused before any fee moves. */
export class PromptTooLongError extends BaseError {
  lengthBytes: number;
  maxBytes: number;
  constructor({ lengthBytes, maxBytes }: { lengthBytes: number; maxBytes: number }) {
    super(`The prompt is ${lengthBytes} bytes of UTF-8; serving endpoints accept at most ${maxBytes}.`, { name: "PromptTooLongError" });
    this.lengthBytes = lengthBytes;
    this.maxBytes = maxBytes;
  }
}

/** The request's deadline is not after the chain's clock (the escrow would refuse it). */
export class InvalidDeadlineError extends BaseError {
  deadline: bigint;
  chainTime: bigint;
  constructor({ deadline, chainTime }: { deadline: bigint; chainTime: bigint }) {
    super(`Deadline ${deadline} is not after the chain's clock (${chainTime}); the escrow only takes future deadlines.`, {
      name: "InvalidDeadlineError",
      metaMessages: ["Pass `timeoutMs` (relative to the chain's clock) instead of an absolute deadline."],
    });
    this.deadline = deadline;
    this.chainTime = chainTime;
  }
}

/** The paying account cannot cover the value it sends (a fee, a stake) plus gas. */
export class InsufficientFundsError extends BaseError {
  account: Address;
  balanceWei: bigint;
  requiredWei: bigint;
  constructor({
    account,
    balanceWei,
    feeWei,
    gasWei,
  }: {
    account: Address;
    balanceWei: bigint;
    feeWei: bigint;
    gasWei?: bigint | undefined;
  }) {
    super(`Insufficient funds for ${formatEther(feeWei)} ETH + gas: account ${getAddress(account)} holds ${formatEther(balanceWei)} ETH.`, {
      name: "InsufficientFundsError",
      metaMessages:
        gasWei === undefined ? [] : [`Needed: ${formatEther(feeWei + gasWei)} ETH (value ${feeWei} wei, gas up to ${gasWei} wei).`],
    });
    this.account = getAddress(account);
    this.balanceWei = balanceWei;
    this.requiredWei = feeWei + (gasWei ?? 0n);
  }
}

/** Serving pipelines exist, but none of their first operators announced an endpoint in the ServingDirectory. */
export class NoServingEndpointError extends BaseError {
  modelId: bigint;
  constructor({ modelId, servingPipelines }: { modelId: bigint; servingPipelines: number }) {
    super(
      `No serving operator of model ${modelId} announced an endpoint (${servingPipelines} serving pipeline${servingPipelines === 1 ? "" : "s"}).`,
      {
        name: "NoServingEndpointError",
        metaMessages: ["The first operator of a pipeline announces its URL with `announceEndpoint`."],
      },
    );
    this.modelId = modelId;
  }
}

/** Every announced endpoint of the model refused or failed the prompt upload; no fee was paid. */
export class EndpointsUnreachableError extends BaseError {
  modelId: bigint;
  failures: readonly { url: string; reason: string }[];
  constructor({ modelId, failures }: { modelId: bigint; failures: readonly { url: string; reason: string }[] }) {
    super(
      `None of the ${failures.length} serving endpoint${failures.length === 1 ? "" : "s"} of model ${modelId} took the prompt; no fee was paid.`,
      {
        name: "EndpointsUnreachableError",
        metaMessages: failures.map((f) => `${f.url}: ${f.reason}`),
      },
    );
    this.modelId = modelId;
    this.failures = failures;
  }
}

/** Nobody fulfilled the request before its deadline; its fee was refunded to the requester. */
export class InferenceNotDeliveredError extends BaseError {
  requestId: bigint;
  refundedWei: bigint;
  refundTransactionHash: Hash;
  constructor({ requestId, refundedWei, refundTransactionHash }: { requestId: bigint; refundedWei: bigint; refundTransactionHash: Hash }) {
    super(
      `Inference request ${requestId} was not delivered before its deadline; its fee of ${formatEther(refundedWei)} ETH was refunded.`,
      {
        name: "InferenceNotDeliveredError",
        metaMessages: [`Refund transaction: ${refundTransactionHash}.`],
      },
    );
    this.requestId = requestId;
    this.refundedWei = refundedWei;
    this.refundTransactionHash = refundTransactionHash;
  }
}

/** The endpoint handed out a text that does not hash to the fulfilled `outputHash`: it is not the answer that was paid for. */
export class OutputMismatchError extends BaseError {
  requestId: bigint;
  url: string;
  expectedHash: Hex;
  receivedHash: Hex;
  constructor({ requestId, url, expectedHash, receivedHash }: { requestId: bigint; url: string; expectedHash: Hex; receivedHash: Hex }) {
    super(`Request ${requestId}: the text from ${url} hashes to ${receivedHash}, not the fulfilled outputHash ${expectedHash}.`, {
      name: "OutputMismatchError",
    });
    this.requestId = requestId;
    this.url = url;
    this.expectedHash = expectedHash;
    this.receivedHash = receivedHash;
  }
}

/** The request was fulfilled on-chain, but its endpoint did not hand out the text. */
export class OutputUnavailableError extends BaseError {
  requestId: bigint;
  url: string;
  constructor({ requestId, url, reason }: { requestId: bigint; url: string; reason: string }) {
    super(`Request ${requestId} was fulfilled, but ${url} did not hand out its text: ${reason}.`, {
      name: "OutputUnavailableError",
      metaMessages: ["The output hash is on-chain (`getInferenceRequest`); fetch the text again from the endpoint later."],
    });
    this.requestId = requestId;
    this.url = url;
  }
}

/** The JSON-RPC endpoint could not be reached (or answered with an HTTP error). */
export class RpcUnreachableError extends BaseError {
  constructor({ url, cause }: { url?: string | undefined; cause: Error }) {
    super(`Cannot reach the JSON-RPC endpoint${url ? ` ${url}` : ""}.`, { name: "RpcUnreachableError", cause });
  }
}
