// Every failure the page shows, in words: a wallet's refusal, a contract's custom error (decoded
// by the SDK into `<Contract> reverted: <words> (args).`), a chain that does not answer, funds
// that do not cover a payment. Errors are recognised by their fields and names rather than by
// class, so this module needs none of the SDK's (lazily loaded) error classes.

export type ErrorKind = "rejected" | "reverted" | "rpc" | "funds" | "other";

export type DescribedError = {
  kind: ErrorKind;
  /** One line: what happened. */
  title: string;
  /** The SDK's or node's own one-line wording, when it adds something. */
  detail?: string | undefined;
  /** The contract's custom error name (e.g. `ModelTokenZeroRecipient`) for a revert. */
  errorName?: string | undefined;
};

type ErrorLike = {
  name?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  code?: unknown;
  cause?: unknown;
  errorName?: unknown;
  raw?: unknown;
  url?: unknown;
};

/** The error and its `cause` chain, outermost first (bounded: chains can be cyclic). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 16; depth++) {
    out.push(e);
    e = (e as ErrorLike).cause;
  }
  return out;
}

const text = (x: unknown): string | undefined => (typeof x === "string" && x.trim() ? x.trim() : undefined);
// eslint-disable-next-line @typescript-eslint/no-base-to-string -- e may be any thrown value, not only an object
const firstLine = (e: ErrorLike): string => (text(e.shortMessage) ?? text(e.message)?.split("\n")[0] ?? String(e)).trim();

/**
 * Describes `err` for a person: what kind of failure it is and a one-line title, with the
 * contract's custom error spelled out for reverts.
 *
 * @example
 * describeError(await claim().catch((e) => e)) // { kind: "rejected", title: "You rejected the transaction in your wallet; nothing was sent." }
 */
export function describeError(err: unknown): DescribedError {
  const links = chain(err);
  if (links.length === 0) return { kind: "other", title: String(err) };
  const outer = links[0] as ErrorLike;
  // EIP-1193 code 4001 (viem: UserRejectedRequestError): the person said no.
  if (links.some((e) => e.code === 4001 || e.name === "UserRejectedRequestError"))
    return { kind: "rejected", title: "You rejected the request in your wallet; nothing was sent." };
  // The SDK's ContractRevertError (one subclass per custom error) carries `errorName` and `raw`.
  const revert = links.find((e) => typeof e.errorName === "string" && typeof e.raw === "string");
  if (revert) return { kind: "reverted", title: `The contract refused: ${firstLine(revert)}`, errorName: revert.errorName as string };
  const unknownRevert = links.find((e) => e.name === "UnknownRevertError" || e.name === "TransactionRevertedError");
  if (unknownRevert) return { kind: "reverted", title: firstLine(unknownRevert) };
  const rpc = links.find((e) => e.name === "RpcUnreachableError" || e.name === "HttpRequestError");
  if (rpc) return { kind: "rpc", title: "The chain's RPC endpoint does not answer.", detail: firstLine(rpc) };
  const funds = links.find((e) => e.name === "InsufficientFundsError");
  if (funds) return { kind: "funds", title: firstLine(funds) };
  const title = firstLine(outer);
  const inner = links.length > 1 ? firstLine(links[links.length - 1] as ErrorLike) : undefined;
  return { kind: "other", title, detail: inner && inner !== title ? inner : undefined };
}
