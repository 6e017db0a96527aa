/** Package name and version reported in every error message. */
export const sdkVersion = "@shardholder/sdk@0.1.0";

export type BaseErrorParameters = {
  cause?: Error | undefined;
  details?: string | undefined;
  metaMessages?: string[] | undefined;
  name?: string | undefined;
};

export type BaseErrorType = BaseError & { name: "BaseError" };

/**
 * Root of every error the SDK throws (viem's layout): `shortMessage` is one line for humans,
 * `metaMessages` add context lines, `details` carries the underlying cause's message.
 */
export class BaseError extends Error {
  details: string;
  metaMessages?: string[] | undefined;
  shortMessage: string;
  version = sdkVersion;

  override name = "ShardholderError";

  constructor(shortMessage: string, args: BaseErrorParameters = {}) {
    const details = args.cause instanceof BaseError ? args.cause.details : (args.cause?.message ?? args.details ?? "");
    const message = [
      shortMessage || "An error occurred.",
      ...(args.metaMessages?.length ? ["", ...args.metaMessages] : []),
      ...(details ? ["", `Details: ${details}`] : []),
      `Version: ${sdkVersion}`,
    ].join("\n");
    super(message, args.cause ? { cause: args.cause } : undefined);
    this.details = details;
    this.metaMessages = args.metaMessages;
    this.shortMessage = shortMessage;
    if (args.name) this.name = args.name;
  }

  /** Follows `cause` links to the innermost error, or the first one `fn` accepts. */
  walk(fn?: (err: unknown) => boolean): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk's cursor starts at this error
    let err: unknown = this;
    while (err) {
      if (fn?.(err)) return err;
      const next: unknown = typeof err === "object" && err !== null && "cause" in err ? err.cause : undefined;
      if (next === undefined) return fn ? null : err;
      err = next;
    }
    return null;
  }
}
