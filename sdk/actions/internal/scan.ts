import type { Hash } from "viem";

/**
 * Block bounds of an event query, both inclusive. Protocol events cannot be older than the
 * deployment, so every query starts at the address book's `deployedAtBlock` unless told to start
 * later: scanning from block 0 costs a full-history `eth_getLogs`, which public RPCs refuse.
 */
export type BlockRangeParameters = {
  /** First block scanned (default: the address book's `deployedAtBlock`; an earlier one is raised to it). */
  fromBlock?: bigint | undefined;
  /** Last block scanned (default: the latest). Poll incrementally with `fromBlock = previous toBlock + 1n`. */
  toBlock?: bigint | undefined;
};

/** The bounds an action passes to `getContractEvents`. */
export type ScanRange = { fromBlock: bigint; toBlock: bigint | "latest" };

/** Where an event was emitted. */
export type EventLocation = { blockNumber: bigint; transactionHash: Hash; logIndex: number };

/** The scan bounds of `parameters` for an address book deployed at `deployedAtBlock`. */
export function scanRange(deployedAtBlock: number, parameters: BlockRangeParameters): ScanRange {
  const floor = BigInt(deployedAtBlock);
  const fromBlock = parameters.fromBlock === undefined || parameters.fromBlock < floor ? floor : parameters.fromBlock;
  return { fromBlock, toBlock: parameters.toBlock ?? "latest" };
}

/**
 * True when the range holds no block (a poll whose head has not moved): the action answers `[]`
 * without asking the node, since some nodes reject `fromBlock > toBlock`.
 */
export function isEmptyRange(range: ScanRange): boolean {
  return range.toBlock !== "latest" && range.fromBlock > range.toBlock;
}

/** The location fields of a decoded log (`strict` logs of mined blocks always have them). */
export function locationOf(log: { blockNumber: bigint; transactionHash: Hash; logIndex: number }): EventLocation {
  return { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.logIndex };
}
