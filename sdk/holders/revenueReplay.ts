import { type Address, type Hash, isAddressEqual, zeroAddress } from "viem";
import { BaseError } from "../errors/base.ts";

/** ModelToken's fixed-point scale (`MAGNITUDE`). */
export const REVENUE_MAGNITUDE = 2n ** 56n;
const DISTRIBUTION_SHIFT = 20n;
const INT160_MAX = 2n ** 159n - 1n;

/** A ModelToken event, decoded, in chain order. */
export type TokenEvent = { blockNumber: bigint; logIndex: number; transactionHash: Hash } & (
  | { kind: "initialized"; capTokens: bigint }
  | { kind: "transfer"; from: Address; to: Address; value: bigint }
  | { kind: "deposit"; depositor: Address; amountWei: bigint }
  | { kind: "claim"; account: Address; to: Address; amountWei: bigint }
);

/** One step in which revenue reached the holders' accumulator (or was held back). */
export type RevenueEntry = {
  kind: "deposit" | "release";
  blockNumber: bigint;
  transactionHash: Hash;
  /** Wei deposited in this step (0 for a release of held revenue at a mint). */
  depositedWei: bigint;
  depositor: Address | undefined;
  /** Wei credited to all holders in this step, times MAGNITUDE (`step * supply`). */
  distributedMagnified: bigint;
  /** Supply and the holder's balance at that moment, in token wei. */
  supplyTokens: bigint;
  holderBalanceTokens: bigint;
  /** The holder's share of this step, times MAGNITUDE (`step * holderBalance`). */
  holderEarnedMagnified: bigint;
  /** Wei held back after this step (below the minimum supply, or the division remainder), times MAGNITUDE. */
  heldMagnified: bigint;
};

export type RevenueExplanation = {
  entries: RevenueEntry[];
  /** Sum of the holder's shares, times MAGNITUDE. */
  earnedMagnified: bigint;
  /** `floor(earnedMagnified / MAGNITUDE)`: what the holder has earned in wei. */
  earnedWei: bigint;
  claimedWei: bigint;
  /** `earnedWei - claimedWei`: must equal the token's `claimable(holder)`. */
  claimableWei: bigint;
  depositedWei: bigint;
};

/** Thrown when the event stream is not one ModelToken can produce (e.g. missing the initialization). */
export class RevenueReplayError extends BaseError {
  constructor(reason: string) {
    super(`Cannot replay the token's revenue: ${reason}.`, { name: "RevenueReplayError" });
  }
}

/**
 * Recomputes a holder's revenue from a ModelToken's events alone, replaying the contract's
 * integer arithmetic exactly (revenue per share, held revenue below `cap >> 20` supply, the
 * carried division remainder, the int160 room clamp). Pure: feed it `TokenEvent`s in chain order.
 *
 * @example
 * const { claimableWei, entries } = replayRevenue(events, holder)
 */
export function replayRevenue(events: readonly TokenEvent[], holder: Address): RevenueExplanation {
  let cap: bigint | undefined;
  let rps = 0n;
  let supply = 0n;
  let pending = 0n;
  let holderBalance = 0n;
  let earnedMagnified = 0n;
  let claimedWei = 0n;
  let depositedWei = 0n;
  const entries: RevenueEntry[] = [];

  const distribute = (e: TokenEvent, amountWei: bigint, kind: RevenueEntry["kind"], depositor: Address | undefined) => {
    if (cap === undefined) throw new RevenueReplayError("revenue event before the token was initialized");
    pending += amountWei * REVENUE_MAGNITUDE;
    let step = 0n;
    if (supply !== 0n && supply >= cap >> DISTRIBUTION_SHIFT) {
      step = pending / supply;
      const room = INT160_MAX / cap - rps;
      if (step > room) step = room;
      if (step !== 0n) {
        pending -= step * supply;
        rps += step;
      }
    }
    const holderEarned = step * holderBalance;
    earnedMagnified += holderEarned;
    if (kind === "deposit" || step !== 0n)
      entries.push({
        kind,
        blockNumber: e.blockNumber,
        transactionHash: e.transactionHash,
        depositedWei: amountWei,
        depositor,
        distributedMagnified: step * supply,
        supplyTokens: supply,
        holderBalanceTokens: holderBalance,
        holderEarnedMagnified: holderEarned,
        heldMagnified: pending,
      });
  };

  for (const e of events) {
    switch (e.kind) {
      case "initialized":
        cap = e.capTokens;
        break;
      case "transfer": {
        const mint = isAddressEqual(e.from, zeroAddress);
        if (mint) supply += e.value;
        if (!mint && isAddressEqual(e.from, holder)) holderBalance -= e.value;
        if (isAddressEqual(e.to, holder)) holderBalance += e.value;
        // ModelToken.mint releases held revenue once a per-share step is possible.
        if (mint && pending >= supply && supply !== 0n) distribute(e, 0n, "release", undefined);
        break;
      }
      case "deposit":
        depositedWei += e.amountWei;
        distribute(e, e.amountWei, "deposit", e.depositor);
        break;
      case "claim":
        if (isAddressEqual(e.account, holder)) claimedWei += e.amountWei;
        break;
    }
  }
  const earnedWei = earnedMagnified / REVENUE_MAGNITUDE;
  return { entries, earnedMagnified, earnedWei, claimedWei, claimableWei: earnedWei - claimedWei, depositedWei };
}
