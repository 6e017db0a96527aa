import type { Address, Hex } from "viem";
import { BaseError } from "./base.ts";

/** The client's chain has no address book entry. */
export class NoDeploymentError extends BaseError {
  chainId: number;
  constructor({ chainId, known }: { chainId: number; known: number[] }) {
    super(`Shardholder is not deployed on chain ${chainId} (no address book for it).`, {
      name: "NoDeploymentError",
      metaMessages: [
        known.length ? `Address books loaded for chains: ${known.join(", ")}.` : "No address book was loaded.",
        "Pass `deployments` for this chain, or load deployments/<chainId>.json.",
      ],
    });
    this.chainId = chainId;
  }
}

/** An address book file or object does not have the expected shape. */
export class InvalidDeploymentsError extends BaseError {
  constructor({ reason, source }: { reason: string; source?: string | undefined }) {
    super(`Invalid Shardholder address book${source ? ` ${source}` : ""}: ${reason}.`, { name: "InvalidDeploymentsError" });
  }
}

/** The code at an address of the address book is not the expected protocol contract. */
export class NotOurContractError extends BaseError {
  contract: string;
  address: Address;
  constructor({ contract, address, reason }: { contract: string; address: Address; reason: string }) {
    super(`The contract at ${address} is not Shardholder's ${contract}: ${reason}.`, {
      name: "NotOurContractError",
      metaMessages: ["Check that the address book matches the chain the client is connected to."],
    });
    this.contract = contract;
    this.address = address;
  }
}

/** A round's sampling seed was still not sealed after three `sealRoundSeed` calls, each in a later block. */
export class SeedNotSealedError extends BaseError {
  modelId: bigint;
  round: bigint;
  constructor({ modelId, round }: { modelId: bigint; round: bigint }) {
    super(`The seed of model ${modelId} round ${round} was not sealed after three sealRoundSeed calls.`, {
      name: "SeedNotSealedError",
      metaMessages: ["The named block's hash was unavailable each time; check that the chain is mining."],
    });
    this.modelId = modelId;
    this.round = round;
  }
}

/** A write needs an account and the client has none. */
export class AccountRequiredError extends BaseError {
  constructor({ action }: { action: string }) {
    super(`${action} needs an account to send from.`, {
      name: "AccountRequiredError",
      metaMessages: ["Create the wallet client with an `account`, or pass `account` in the parameters."],
    });
  }
}

/** No inference request with this id exists. */
export class InferenceNotFoundError extends BaseError {
  requestId: bigint;
  constructor({ requestId }: { requestId: bigint }) {
    super(`Inference request ${requestId} does not exist.`, { name: "InferenceNotFoundError" });
    this.requestId = requestId;
  }
}

/** The request's deadline passed (or the caller's own timeout elapsed) before it was fulfilled. */
export class InferenceTimeoutError extends BaseError {
  requestId: bigint;
  deadline: bigint;
  constructor({ requestId, deadline, reason }: { requestId: bigint; deadline: bigint; reason: "deadline" | "timeout" }) {
    super(
      reason === "deadline"
        ? `Inference request ${requestId} passed its deadline (${deadline}) unfulfilled.`
        : `Gave up waiting for inference request ${requestId} (deadline ${deadline} not reached yet).`,
      {
        name: "InferenceTimeoutError",
        metaMessages: reason === "deadline" ? ["The escrowed fee can be taken back with `refundInference`."] : [],
      },
    );
    this.requestId = requestId;
    this.deadline = deadline;
  }
}

/** The request was refunded instead of fulfilled. */
export class InferenceRefundedError extends BaseError {
  requestId: bigint;
  transactionHash: Hex | undefined;
  constructor({ requestId, transactionHash }: { requestId: bigint; transactionHash?: Hex | undefined }) {
    super(`Inference request ${requestId} was refunded without a result.`, { name: "InferenceRefundedError" });
    this.requestId = requestId;
    this.transactionHash = transactionHash;
  }
}

/** The fee the model charges is above the caller's limit. */
export class FeeAboveLimitError extends BaseError {
  constructor({ feeWei, maxFeeWei }: { feeWei: bigint; maxFeeWei: bigint }) {
    super(`The inference fee ${feeWei} wei is above the limit of ${maxFeeWei} wei.`, { name: "FeeAboveLimitError" });
  }
}

/** A receipt did not contain the event the action relies on. */
export class MissingEventError extends BaseError {
  constructor({ event, transactionHash }: { event: string; transactionHash: Hex }) {
    super(`Transaction ${transactionHash} emitted no ${event} event.`, { name: "MissingEventError" });
  }
}

/** A mined transaction reverted (after a successful simulation: the state changed in between). */
export class TransactionRevertedError extends BaseError {
  transactionHash: Hex;
  constructor({ action, transactionHash }: { action: string; transactionHash: Hex }) {
    super(`${action}: transaction ${transactionHash} reverted on-chain.`, {
      name: "TransactionRevertedError",
      metaMessages: ["The simulation succeeded, so the chain state changed before the transaction was mined."],
    });
    this.transactionHash = transactionHash;
  }
}

/** A parameter is outside the range an action accepts. */
export class InvalidParameterError extends BaseError {
  constructor({ parameter, reason }: { parameter: string; reason: string }) {
    super(`Invalid \`${parameter}\`: ${reason}.`, { name: "InvalidParameterError" });
  }
}

/** No registered pipeline of the model has all of its stage operators serving (so no request could be fulfilled). */
export class NoServingPipelineError extends BaseError {
  modelId: bigint;
  constructor({ modelId }: { modelId: bigint }) {
    super(`No registered pipeline of model ${modelId} has every stage operator serving.`, {
      name: "NoServingPipelineError",
      metaMessages: ["Operators register a pipeline with `registerPipeline` (every operator consents); pass `pipelineKey` to choose one."],
    });
    this.modelId = modelId;
  }
}

/** Thrown when a request's fulfilment was not sent to the escrow directly, so its commitments cannot be read from the transaction. */
export class ServingCommitmentsUnreadableError extends BaseError {
  constructor({ requestId }: { requestId: bigint }) {
    super(`The fulfilment of request ${requestId} did not call the escrow directly: its serving commitments cannot be read.`, {
      name: "ServingCommitmentsUnreadableError",
    });
  }
}
