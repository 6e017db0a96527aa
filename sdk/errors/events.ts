import type { Hash } from "viem";
import { BaseError } from "./base.ts";

/** No `DisputeOpened` event with this id between the deployment block and the scan's end. */
export class DisputeNotFoundError extends BaseError {
  disputeId: bigint;
  constructor({ disputeId }: { disputeId: bigint }) {
    super(`Dispute ${disputeId} was not opened on this ledger.`, { name: "DisputeNotFoundError" });
    this.disputeId = disputeId;
  }
}

/**
 * The transaction that opened a dispute is not a direct `challengeItem` / `challengeChainBreak`
 * call to the ledger (it went through another contract), so its calldata does not hold the item.
 */
export class DisputedItemNotDecodableError extends BaseError {
  disputeId: bigint;
  transactionHash: Hash;
  constructor({ disputeId, transactionHash, reason }: { disputeId: bigint; transactionHash: Hash; reason: string }) {
    super(`The item of dispute ${disputeId} cannot be read from transaction ${transactionHash}: ${reason}.`, {
      name: "DisputedItemNotDecodableError",
      metaMessages: ["Only a direct call to the ledger carries the item in its calldata; read it from a trace of the transaction instead."],
    });
    this.disputeId = disputeId;
    this.transactionHash = transactionHash;
  }
}
