import type { Hex } from "viem";
import { decodeRevert, type DecodedRevert, toTypedError } from "./contract.ts";
import { contractErrorClasses, protocolErrorAbis } from "./contractErrors.ts";

// The one module that holds every protocol error class and error fragment. Actions reach it only
// through a dynamic import on a revert (`withTypedErrors`), so a dapp's bundle loads it lazily.

/**
 * Converts an error thrown by a call or transaction into the SDK's typed error when it carries
 * revert data of a protocol contract (e.g. {@link ComputeLedgerJailedError}); other errors come
 * back unchanged. Every action already does this; use it around your own `writeContract` calls.
 *
 * @example
 * try { await walletClient.writeContract({ ... }) } catch (err) { throw toShardholderError(err) }
 */
export function toShardholderError(err: unknown): unknown {
  return toTypedError(err, protocolErrorAbis, contractErrorClasses);
}

/**
 * Decodes raw revert data against every protocol contract's custom errors.
 *
 * @example
 * decodeProtocolRevert("0x…") // { errorName: "ComputeLedgerJailed", args: ["0x…"], contract: "ComputeLedger" }
 */
export function decodeProtocolRevert(raw: Hex): DecodedRevert | undefined {
  return decodeRevert(raw, protocolErrorAbis);
}
