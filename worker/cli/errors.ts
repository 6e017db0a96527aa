import { BaseError } from "../../sdk/errors/base.ts";

/** Exit codes of `shardholder`, one per failure class, so scripts can branch on them. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  rpcUnreachable: 3,
  wrongChain: 4,
  missingDeployment: 5,
  unfunded: 6,
  unstaked: 7,
  peerUnreachable: 8,
  notAvailable: 9,
  missingKey: 10,
  signingKeyMismatch: 11,
  specMismatch: 12,
  peerTimeout: 13,
  peerLost: 14,
  journalLost: 15,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and turns into a specific exit code. */
export class CliError extends BaseError {
  readonly exitCode: ExitCodeValue;
  constructor(shortMessage: string, { exitCode, name, cause, metaMessages }: { exitCode: ExitCodeValue; name: string; cause?: Error | undefined; metaMessages?: string[] | undefined }) {
    super(shortMessage, { name, cause, metaMessages });
    this.exitCode = exitCode;
  }
}

/** The JSON-RPC endpoint did not answer. */
export class RpcUnreachableError extends CliError {
  constructor({ url, cause }: { url: string; cause?: Error | undefined }) {
    super(`RPC ${url} is unreachable${cause ? ` (${firstLine(cause)})` : ""}.`, { exitCode: ExitCode.rpcUnreachable, name: "RpcUnreachableError", cause });
  }
}

/** The RPC's chain is not the chain of the address book. */
export class WrongChainError extends CliError {
  constructor({ rpcChainId, bookChainIds, source }: { rpcChainId: number; bookChainIds: number[]; source: string }) {
    super(`RPC is on chain ${rpcChainId} but the address book ${source} is for chain ${bookChainIds.join(", ")}.`, {
      exitCode: ExitCode.wrongChain,
      name: "WrongChainError",
    });
  }
}

/** No address book exists for the RPC's chain. */
export class MissingDeploymentError extends CliError {
  constructor({ chainId, source, cause }: { chainId: number; source: string; cause?: Error | undefined }) {
    super(`No Shardholder deployment for chain ${chainId}: ${source} ${cause ? `is unusable (${firstLine(cause)})` : "does not exist"}.`, {
      exitCode: ExitCode.missingDeployment,
      name: "MissingDeploymentError",
      cause,
    });
  }
}

/** The sending key cannot pay. */
export class UnfundedKeyError extends CliError {
  constructor({ address, balanceWei, neededWei }: { address: string; balanceWei: bigint; neededWei: bigint }) {
    super(`Key ${address} has ${balanceWei} wei, needs at least ${neededWei} wei.`, { exitCode: ExitCode.unfunded, name: "UnfundedKeyError" });
  }
}

/** The key has no stake in the compute ledger (or is unbonding or jailed). */
export class UnstakedKeyError extends CliError {
  constructor({ address, reason }: { address: string; reason: string }) {
    super(`Key ${address} ${reason}; run \`shardholder stake\` first.`, { exitCode: ExitCode.unstaked, name: "UnstakedKeyError" });
  }
}

/** The `--signing-key` is not the signing key the ledger has registered for the worker. */
export class SigningKeyMismatchError extends CliError {
  constructor({ registered, given }: { registered: string; given: string }) {
    super(`The ledger expects signing key ${registered}, --signing-key is ${given}.`, { exitCode: ExitCode.signingKeyMismatch, name: "SigningKeyMismatchError" });
  }
}

/** A required key was not given. */
export class MissingKeyError extends CliError {
  constructor({ option, env }: { option: string; env: string }) {
    super(`Missing ${option} (or env ${env}).`, { exitCode: ExitCode.missingKey, name: "MissingKeyError" });
  }
}

/** A subcommand whose implementation has not landed. */
export class NotAvailableError extends CliError {
  constructor({ command, reason }: { command: string; reason: string }) {
    super(`\`shardholder ${command}\` is not available yet: ${reason}.`, { exitCode: ExitCode.notAvailable, name: "NotAvailableError" });
  }
}

/** A neighbour peer did not answer after every retry. */
export class PeerCheckError extends CliError {
  constructor({ address, attempts, cause }: { address: string; attempts: number; cause?: Error | undefined }) {
    super(`Peer ${address} is unreachable after ${attempts} attempts${cause ? ` (${firstLine(cause)})` : ""}.`, {
      exitCode: ExitCode.peerUnreachable,
      name: "PeerUnreachableError",
      cause,
    });
  }
}

/** A connected neighbour stopped sending or reading within `--peer-timeout` (worker/p2p `PeerTimeoutError`). */
export class PeerSilentError extends CliError {
  constructor({ cause }: { cause: Error & { shortMessage?: string } }) {
    super(`${(cause.shortMessage ?? cause.message).replace(/\.$/, "")} (--peer-timeout).`, {
      exitCode: ExitCode.peerTimeout,
      name: "PeerTimeoutError",
      cause,
    });
  }
}

/** The neighbour stage's link kept failing after every reconnect. */
export class PeerLostError extends CliError {
  constructor({ attempts, cause }: { attempts: number; cause: Error }) {
    super(`Lost the neighbour stage after ${attempts} reconnect${attempts === 1 ? "" : "s"} (${firstLine(cause)}).`, {
      exitCode: cause.name === "PeerTimeoutError" ? ExitCode.peerTimeout : ExitCode.peerLost,
      name: "PeerLostError",
      cause,
    });
  }
}

/**
 * The chain holds this worker's commitment of the round before the one it would train, and the
 * journal does not: it was deleted or replaced by an older copy. Training on would start from the
 * wrong weights and break weights continuity (slashable), so the stage refuses.
 */
export class JournalLostError extends CliError {
  constructor({ round, stage, journalDir }: { round: bigint; stage: number; journalDir: string }) {
    super(
      `The chain holds this worker's stage ${stage} commitment of round ${round}, but the journal ${journalDir} does not: restore the journal, or start again after round ${round + 1n} has passed.`,
      { exitCode: ExitCode.journalLost, name: "JournalLostError" },
    );
  }
}

/** Bad flags: the message commander produced. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage, name: "UsageError" });
  }
}

function firstLine(err: Error): string {
  const short = (err as { shortMessage?: unknown }).shortMessage;
  const text = typeof short === "string" && short ? short : err.message;
  return (text.split("\n")[0] ?? text).replace(/\.$/, "");
}
