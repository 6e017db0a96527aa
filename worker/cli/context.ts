// What the chain-facing subcommands share: the global options resolved, the preflight's checks
// (RPC, address book, contract code), the long-lived chain connection, and the one-process-per-key lock.
import type { Command } from "commander";
import type { Logger } from "pino";
import type { Address, PublicClient, Transport } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { GlobalConfig, RawGlobalOptions } from "../config/options.ts";
import { MissingDeploymentError, MissingKeyError } from "./errors.ts";
import type { KeyLock } from "./keyLock.ts";

/**
 * What every chain-facing command has checked before it runs. `client` fails fast (the
 * preflight's); `chain` is the long-lived processes' (worker/rpc/transport.ts: fallback over every
 * `--rpc`, retries with backoff, a stall waited out with a log line).
 */
export type Connected = {
  config: GlobalConfig;
  logger: Logger;
  client: PublicClient;
  chainId: number;
  /** The `--rpc` endpoint that answered the preflight. */
  rpcUrl: string;
  deployments: Deployments;
  chain: { client: PublicClient; transport: Transport };
};

/** The global options (flags, then environment) validated, and the logger they ask for. */
export async function globals(command: Command): Promise<{ config: GlobalConfig; logger: Logger }> {
  const { resolveGlobalConfig } = await import("../config/options.ts");
  const { createLogger } = await import("./output.ts");
  const config = resolveGlobalConfig(command.optsWithGlobals<RawGlobalOptions>(), process.env);
  return { config, logger: createLogger({ json: config.json }) };
}

/**
 * Connects: the first `--rpc` that answers, the address book of its chain, and code at every
 * address of the book (an address book of another deployment or a wiped chain would otherwise
 * take a stake to an empty address: exit 5).
 */
export async function connect(command: Command): Promise<Connected> {
  const { config, logger } = await globals(command);
  const { checkRpcs, loadAddressBook } = await import("./preflight.ts");
  const { client, chainId, url } = await checkRpcs(config.rpcUrls);
  const deployments = await loadAddressBook(config.deployments, chainId);
  await checkContracts(client, deployments);
  logger.info({ chainId, rpc: url, fallbacks: config.rpcUrls.length - 1, computeLedger: deployments.contracts.computeLedger }, "connected");
  const { createPublicClient } = await import("viem");
  const { rpcTransport } = await import("../rpc/transport.ts");
  const transport = rpcTransport({
    urls: config.rpcUrls,
    onRetry: ({ method, attempt, delayMs, failingForMs, error }) =>
      logger.warn(
        {
          method,
          attempt,
          retryInMs: delayMs,
          failingForS: Math.round(failingForMs / 1000),
          error: (error as { shortMessage?: string }).shortMessage ?? error.message,
        },
        "chain not answering; retrying",
      ),
  });
  return { config, logger, client, chainId, rpcUrl: url, deployments, chain: { client: createPublicClient({ transport }), transport } };
}

/** Every contract of the address book has our code: {@link MissingDeploymentError} (exit 5) otherwise. */
async function checkContracts(client: PublicClient, deployments: Deployments): Promise<void> {
  const { verifyDeployments } = await import("../../sdk/deployments/verify.ts");
  const { NotOurContractError } = await import("../../sdk/errors/sdk.ts");
  try {
    await verifyDeployments(client, deployments);
  } catch (err) {
    if (!(err instanceof NotOurContractError)) throw err;
    throw new MissingDeploymentError({
      chainId: deployments.chainId,
      source: `the address book's ${err.contract} ${err.address}`,
      cause: err,
    });
  }
}

export function requireAccount(config: GlobalConfig): PrivateKeyAccount {
  if (!config.account) throw new MissingKeyError({ option: "--key", env: "SHARDHOLDER_KEY" });
  return config.account;
}

export function requireSigner(config: GlobalConfig): PrivateKeyAccount {
  if (!config.signer) throw new MissingKeyError({ option: "--signing-key", env: "SHARDHOLDER_SIGNING_KEY" });
  return config.signer;
}

/**
 * Holds `address` for this process until it exits ({@link KeyInUseError}, exit 16, when another
 * live process holds it). Every command that sends transactions calls it before the first one.
 */
export async function lockKey(connected: Pick<Connected, "chainId" | "rpcUrl">, address: Address, command: string): Promise<KeyLock> {
  const { acquireKeyLock } = await import("./keyLock.ts");
  return acquireKeyLock({ address, chainId: connected.chainId, rpcUrl: connected.rpcUrl, command });
}

/**
 * Preflight of the stage-worker commands: key funded and holding the model's minimum stake
 * (signing key the registered one, when `signer` is given), key locked to this process, peers up.
 */
export async function workerPreflight(
  command: Command,
  {
    modelId,
    peers,
    attempts = 5,
    signingKey: need,
    lockAs,
  }: { modelId: bigint; peers: string[]; attempts?: number; signingKey: "required" | "checkedIfGiven"; lockAs: string },
): Promise<Connected> {
  const connected = await connect(command);
  const { checkFunded, checkPeers, checkStaked } = await import("./preflight.ts");
  const account = requireAccount(connected.config);
  const signingKey = need === "required" ? requireSigner(connected.config) : connected.config.signer;
  await checkFunded(connected.client, account.address);
  const staker = await checkStaked(connected.client, connected.deployments, account.address, { signingKey: signingKey?.address, modelId });
  connected.logger.info(
    { worker: account.address, stakeWei: staker.stakeWei.toString(), minimumWei: staker.minimumWei.toString(), payout: staker.payout },
    "staked",
  );
  await lockKey(connected, account.address, lockAs);
  await checkPeers(peers, {
    attempts,
    onRetry: ({ address: peer, attempt, delayMs }) =>
      connected.logger.warn({ peer, attempt, retryInMs: delayMs }, "peer not answering, retrying"),
  });
  return connected;
}
