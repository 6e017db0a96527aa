import { BaseError } from "../../sdk/errors/base.ts";
import { ConfigError } from "../config/errors.ts";
import { PeerTimeoutError } from "../p2p/errors.ts";

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
  // 9 is retired: it was "not available yet", for subcommands that had not landed; all have.
  missingKey: 10,
  signingKeyMismatch: 11,
  specMismatch: 12,
  peerTimeout: 13,
  peerLost: 14,
  journalLost: 15,
  keyInUse: 16,
  stakeBelowMinimum: 17,
  claimNotWorthGas: 18,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and turns into a specific exit code. */
export class CliError extends BaseError {
  readonly exitCode: ExitCodeValue;
  constructor(
    shortMessage: string,
    {
      exitCode,
      name,
      cause,
      metaMessages,
    }: { exitCode: ExitCodeValue; name: string; cause?: Error | undefined; metaMessages?: string[] | undefined },
  ) {
    super(shortMessage, { name, cause, metaMessages });
    this.exitCode = exitCode;
  }
}

/** The JSON-RPC endpoint did not answer. */
export class RpcUnreachableError extends CliError {
  constructor({ url, cause }: { url: string; cause?: Error | undefined }) {
    super(`RPC ${url} is unreachable${cause ? ` (${firstLine(cause)})` : ""}.`, {
      exitCode: ExitCode.rpcUnreachable,
      name: "RpcUnreachableError",
      cause,
    });
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
    super(`Key ${address} has ${balanceWei} wei, needs at least ${neededWei} wei.`, {
      exitCode: ExitCode.unfunded,
      name: "UnfundedKeyError",
    });
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
    super(`The ledger expects signing key ${registered}, --signing-key is ${given}.`, {
      exitCode: ExitCode.signingKeyMismatch,
      name: "SigningKeyMismatchError",
    });
  }
}

/** A required key was not given. */
export class MissingKeyError extends CliError {
  constructor({ option, env }: { option: string; env: string }) {
    super(`Missing ${option} (or env ${env}).`, { exitCode: ExitCode.missingKey, name: "MissingKeyError" });
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
      exitCode: cause instanceof PeerTimeoutError ? ExitCode.peerTimeout : ExitCode.peerLost,
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

/**
 * Another process holds this key (worker/cli/keyLock.ts): two processes sending from one key pick
 * the same nonces, and one's transactions (a round's commitments) are lost.
 */
/** A joining miner found no peer serving its stage's current weights (exit 8, like an unreachable peer). */
export class JoinWeightsUnavailableError extends CliError {
  constructor({
    stage,
    round,
    attempts,
  }: {
    stage: number;
    round: bigint;
    attempts: readonly { worker: string; peer: string; reason: string }[];
  }) {
    super(
      `No peer served the weights of stage ${stage} after round ${round}: ${attempts.map((a) => `${a.worker} at ${a.peer} (${a.reason})`).join(", ") || "no peer of this stage"}.`,
      { exitCode: ExitCode.peerUnreachable, name: "JoinWeightsUnavailableError" },
    );
  }
}

export class KeyInUseError extends CliError {
  constructor({ address, holder }: { address: string; holder: { pid: number; command: string; since: string } }) {
    super(
      `Key ${address} is in use by another shardholder process (pid ${holder.pid}, \`${holder.command}\`, since ${holder.since}): two processes sending from one key race for its nonces and lose transactions; stop that process, or give this one its own --key.`,
      { exitCode: ExitCode.keyInUse, name: "KeyInUseError" },
    );
  }
}

/** The stake (`has`, or after this top-up `would have`) is below what the model requires of its workers. */
export class StakeBelowMinimumError extends CliError {
  constructor({
    address,
    stakeWei,
    minimumWei,
    modelIds,
    after = false,
  }: {
    address: string;
    stakeWei: bigint;
    minimumWei: bigint;
    modelIds: bigint[];
    after?: boolean;
  }) {
    const below =
      modelIds.length === 1
        ? `below model ${modelIds[0]}'s minimum worker stake of ${formatEth(minimumWei)} ETH`
        : `below the minimum worker stake of every model (${modelIds.join(", ")}; the smallest is ${formatEth(minimumWei)} ETH)`;
    super(
      `Key ${address} ${after ? "would have" : "has"} ${formatEth(stakeWei)} ETH staked, ${below}: stake at least ${formatEth(minimumWei - stakeWei)} ETH more.`,
      {
        exitCode: ExitCode.stakeBelowMinimum,
        name: "StakeBelowMinimumError",
      },
    );
  }
}

/** The claim's gas would cost at least what it pays (override with `--force`). */
export class ClaimNotWorthGasError extends CliError {
  constructor({
    claimableWei,
    gasCostWei,
    gas,
    gasPriceWei,
  }: {
    claimableWei: bigint;
    gasCostWei: bigint;
    gas: bigint;
    gasPriceWei: bigint;
  }) {
    super(
      `Claiming ${formatEth(claimableWei)} ETH would cost about ${formatEth(gasCostWei)} ETH of gas (${gas} gas at ${formatGwei(gasPriceWei)} gwei): wait until more revenue accrues, or pass --force.`,
      { exitCode: ExitCode.claimNotWorthGas, name: "ClaimNotWorthGasError" },
    );
  }
}

/** The spec file is not the model the registry holds. */
export class SpecMismatchError extends CliError {
  constructor({ modelId, registered, file }: { modelId: bigint; registered: string; file: string }) {
    super(`Spec ${file} does not hash to model ${modelId}'s registered specHash ${registered}.`, {
      exitCode: ExitCode.specMismatch,
      name: "SpecMismatchError",
    });
  }
}

/** Bad flags: the message commander produced. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage, name: "UsageError" });
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The CLI error (one line, exit code) of anything a command threw, decided by class: the first
 * error of the `cause` chain (outermost first) whose class is mapped wins; anything else is
 * `unexpected` (1). The mapped classes load on the error path only (transport.ts pulls in viem).
 */
export async function toCliError(err: unknown): Promise<CliError> {
  if (err instanceof CliError) return err;
  const [p2p, { RpcStalledError }, sdkRpc, sdk] = await Promise.all([
    import("../p2p/errors.ts"),
    import("../rpc/transport.ts"),
    import("../../sdk/errors/inference.ts"),
    import("../../sdk/errors/sdk.ts"),
  ]);
  const as = (exitCode: ExitCodeValue) => (e: Error) => new CliError(shortOf(e), { exitCode, name: e.name, cause: e });
  const rules: Array<[ErrorClass, (e: Error) => CliError]> = [
    [ConfigError, (e) => new UsageError(shortOf(e))],
    // A connected neighbour went silent within --peer-timeout; a link closed outside the reconnect loop.
    [p2p.PeerTimeoutError, (e) => new PeerSilentError({ cause: e })],
    [p2p.LinkClosedError, (e) => new PeerLostError({ attempts: 0, cause: e })],
    [p2p.PeerUnreachableError, as(ExitCode.peerUnreachable)],
    // The long-lived RPC layer waited out its whole stall budget, whatever action's error wraps it.
    [RpcStalledError, as(ExitCode.rpcUnreachable)],
    [sdkRpc.RpcUnreachableError, as(ExitCode.rpcUnreachable)],
    [sdkRpc.InsufficientFundsError, as(ExitCode.unfunded)],
    [sdk.NotOurContractError, as(ExitCode.missingDeployment)],
  ];
  const top = err instanceof Error ? err : new Error(String(err));
  for (let e: unknown = top; e instanceof Error; e = e.cause) for (const [Class, make] of rules) if (e instanceof Class) return make(e);
  return as(ExitCode.unexpected)(top);
}

/** An error's one-line message: its `shortMessage` (viem and SDK errors), else its first line. */
function shortOf(err: Error): string {
  const short = (err as { shortMessage?: unknown }).shortMessage;
  const text = typeof short === "string" && short ? short : err.message;
  return text.split("\n")[0] ?? text;
}

/** Wei as decimal ETH without trailing zeros ("0.000044"); no viem import (this module loads eagerly). */
export function formatEth(wei: bigint): string {
  const sign = wei < 0n ? "-" : "";
  const abs = wei < 0n ? -wei : wei;
  const fraction = (abs % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return `${sign}${abs / 10n ** 18n}${fraction ? `.${fraction}` : ""}`;
}

function formatGwei(wei: bigint): string {
  const fraction = (wei % 10n ** 9n).toString().padStart(9, "0").replace(/0+$/, "").slice(0, 3);
  return `${wei / 10n ** 9n}${fraction ? `.${fraction}` : ""}`;
}

function firstLine(err: Error): string {
  const short = (err as { shortMessage?: unknown }).shortMessage;
  const text = typeof short === "string" && short ? short : err.message;
  return (text.split("\n")[0] ?? text).replace(/\.$/, "");
}
