import type { Abi, Address, ContractEventArgs, ContractEventName, GetContractEventsReturnType, Hash } from "viem";
import { getContractEvents } from "viem/actions";
import { type ShardholderClient, withTypedErrors } from "./client.ts";

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

/**
 * The decoded `eventName` logs of `address` in `range` (strict: every argument decoded), or none
 * without a request when the range is empty; node errors become the SDK's typed errors.
 */
export async function scanEvents<const abi extends Abi, eventName extends ContractEventName<abi>>(
  client: ShardholderClient,
  parameters: { abi: abi; address: Address; eventName: eventName; args?: ContractEventArgs<abi, eventName> | undefined; range: ScanRange },
): Promise<GetContractEventsReturnType<abi, eventName, true, bigint, bigint | "latest">> {
  const { abi, address, eventName, args, range } = parameters;
  if (isEmptyRange(range)) return [];
  return withTypedErrors(() =>
    getContractEvents(client, { abi, address, eventName, args, fromBlock: range.fromBlock, toBlock: range.toBlock, strict: true }),
  );
}
