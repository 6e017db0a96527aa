import { BaseError } from "../errors/base.ts";

/**
 * The ledger's `IComputeLedgerTypes.DisputeStatus`, by member name: what `getDispute(...).status`,
 * `DisputeResolved.status` and `getDisputes(...)[i].status` hold. The ABI carries only the enum's
 * name (`uint8` on the wire), so the order is the Solidity declaration's;
 * `disputeStatus.test.ts` compares it with `contracts/interfaces/IComputeLedgerTypes.sol`.
 *
 * @example
 * import { DisputeStatus, getDispute } from "@shardholder/sdk"
 * const { status } = await getDispute(client, { deployments, disputeId })
 * if (status === DisputeStatus.Open) console.log("still open")
 */
export const DisputeStatus = {
  None: 0,
  /** Its committee is being drawn, voting, or the verdict is open to appeal. */
  Open: 1,
  /** The last committee's cast seats found the accused at fault (for a chain break: stage s). */
  Fraud: 2,
  /** The last committee's cast seats found the accused honest (for a chain break: stage s+1 at fault). */
  Honest: 3,
  /** A tie, no votes, or no eligible validator to draw. */
  Dismissed: 4,
} as const;

export type DisputeStatus = (typeof DisputeStatus)[keyof typeof DisputeStatus];

/**
 * The ledger's `IComputeLedgerTypes.DisputeKind`, by member name (`getDispute(...).kind`,
 * `DisputeOpened.kind`); checked against the Solidity declaration like {@link DisputeStatus}.
 */
export const DisputeKind = {
  None: 0,
  /** One leaf is re-executed; fraud means the accused worker cheated. */
  Item: 1,
  /** A break between stage s (accused) and s+1 (counterparty); fraud means stage s is at fault. */
  ChainBreak: 2,
  /** What a stage operator served for an inference request (`round` holds the request id); fraud means it served wrong. */
  Serving: 3,
} as const;

export type DisputeKind = (typeof DisputeKind)[keyof typeof DisputeKind];

/** Narrows a decoded `uint8` status to {@link DisputeStatus}; throws on a value the enum lacks (a newer ledger). */
export function toDisputeStatus(value: number): DisputeStatus {
  if (!Object.values(DisputeStatus).includes(value as DisputeStatus)) throw unknownValue("DisputeStatus", value);
  return value as DisputeStatus;
}

/** Narrows a decoded `uint8` kind to {@link DisputeKind}; throws on a value the enum lacks (a newer ledger). */
export function toDisputeKind(value: number): DisputeKind {
  if (!Object.values(DisputeKind).includes(value as DisputeKind)) throw unknownValue("DisputeKind", value);
  return value as DisputeKind;
}

// Only a ledger newer than this SDK can produce one: the enums are checked against the contracts.
function unknownValue(name: string, value: number): BaseError {
  return new BaseError(`The ledger returned ${name} ${value}, which this SDK does not know.`, {
    name: "UnknownEnumValueError",
    metaMessages: ["Upgrade the SDK to the version matching the deployed ledger."],
  });
}
