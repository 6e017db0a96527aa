import { type Abi, decodeErrorResult, type Hex } from "viem";
import { BaseError } from "./base.ts";

/** A decoded custom error of one of the protocol's contracts. */
export type DecodedRevert = { errorName: string; args: readonly unknown[]; contract?: string | undefined };

/**
 * A transaction or call reverted with a protocol custom error. Every custom error has a
 * subclass named `<ErrorName>Error` (generated in `contractErrors.ts`); catch by class or test
 * `errorName`.
 */
export class ContractRevertError extends BaseError {
  errorName: string;
  args: readonly unknown[];
  raw: Hex;

  /**
   * `shortMessage` replaces the generic "<Contract> reverted: <error words> (args)." when an action
   * knows better what the revert means (e.g. `finalizeRound` says which window is still open).
   */
  constructor(
    decoded: DecodedRevert & { raw: Hex; cause?: Error | undefined; hint?: string | undefined; shortMessage?: string | undefined },
  ) {
    const args = decoded.args.map(formatArg).join(", ");
    super(
      decoded.shortMessage ?? `${decoded.contract ?? "Contract"} reverted: ${describe(decoded.errorName)}${args ? ` (${args})` : ""}.`,
      {
        cause: decoded.cause,
        name: `${decoded.errorName}Error`,
        metaMessages: [`Error: ${decoded.errorName}(${args})`, ...(decoded.hint ? [decoded.hint] : [])],
      },
    );
    this.errorName = decoded.errorName;
    this.args = decoded.args;
    this.raw = decoded.raw;
  }
}

/** Revert data that matches no protocol error (a panic, a string reason, or a foreign error). */
export class UnknownRevertError extends BaseError {
  raw: Hex;
  constructor(raw: Hex, cause?: Error) {
    super(`Contract reverted with data that no protocol ABI explains (${raw.slice(0, 10)}).`, {
      cause,
      name: "UnknownRevertError",
    });
    this.raw = raw;
  }
}

function formatArg(a: unknown): string {
  if (typeof a === "bigint") return a.toString();
  if (Array.isArray(a)) return `[${a.map(formatArg).join(", ")}]`;
  return String(a);
}

/** "ComputeLedgerUnbondingNotElapsed" -> "unbonding not elapsed" (the contract prefix is dropped). */
function describe(errorName: string): string {
  const words = errorName.replace(/^(ComputeLedger|ModelRegistry|ModelToken|InferenceEscrow|RevenueClaimer)/, "");
  return words
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase();
}

/** Finds revert data in a viem error chain (call, simulate, estimate gas or write). */
export function findRevertData(err: unknown): Hex | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 16; depth++) {
    if (typeof cur === "object" && cur !== null) {
      const raw = (cur as { raw?: unknown }).raw;
      if (typeof raw === "string" && raw.startsWith("0x") && raw.length >= 10) return raw as Hex;
      const data = (cur as { data?: unknown }).data;
      if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data as Hex;
      cur = (cur as { cause?: unknown }).cause;
    } else break;
  }
  return undefined;
}

/** Decodes revert data against the given ABIs; `undefined` when none has a matching error. */
export function decodeRevert(raw: Hex, abis: ReadonlyArray<{ name: string; abi: Abi }>): DecodedRevert | undefined {
  for (const { name, abi } of abis) {
    try {
      const { errorName, args } = decodeErrorResult({ abi, data: raw });
      return { errorName, args: args ?? [], contract: name };
    } catch {
      // not this contract's error; try the next ABI
    }
  }
  return undefined;
}

export type ErrorClassRegistry = Record<string, new (decoded: DecodedRevert & { raw: Hex; cause?: Error }) => ContractRevertError>;

/**
 * Turns any error from a contract interaction into the SDK's typed error when it carries revert
 * data of a protocol contract; other errors are returned unchanged.
 */
export function toTypedError(err: unknown, abis: ReadonlyArray<{ name: string; abi: Abi }>, classes: ErrorClassRegistry): unknown {
  if (err instanceof BaseError) return err;
  const raw = findRevertData(err);
  if (!raw) return err;
  const decoded = decodeRevert(raw, abis);
  const cause = err instanceof Error ? err : undefined;
  if (!decoded) return new UnknownRevertError(raw, cause);
  const Class = classes[decoded.errorName] ?? ContractRevertError;
  return new Class({ ...decoded, raw, cause });
}
