import type { Hex } from "viem";
import { protocolAbis } from "../abi/index.ts";
import { decodeRevert, type DecodedRevert, toTypedError } from "./contract.ts";
import { contractErrorClasses } from "./contractErrors.ts";

export * from "./base.ts";
export * from "./contract.ts";
export * from "./contractErrors.ts";
export * from "./sdk.ts";
export * from "./inference.ts";

/**
 * Converts an error thrown by a call or transaction into the SDK's typed error when it carries
 * revert data of a protocol contract (e.g. {@link ComputeLedgerJailedError}); other errors come
 * back unchanged. Every action already does this; use it around your own `writeContract` calls.
 *
 * @example
 * try { await walletClient.writeContract({ ... }) } catch (err) { throw toShardholderError(err) }
 */
export function toShardholderError(err: unknown): unknown {
  return toTypedError(err, protocolAbis, contractErrorClasses);
}

/**
 * Decodes raw revert data against every protocol ABI.
 *
 * @example
 * decodeProtocolRevert("0x…") // { errorName: "ComputeLedgerJailed", args: ["0x…"], contract: "ComputeLedger" }
 */
export function decodeProtocolRevert(raw: Hex): DecodedRevert | undefined {
  return decodeRevert(raw, protocolAbis);
}
