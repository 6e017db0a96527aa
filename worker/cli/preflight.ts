import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type Address, createPublicClient, http, type PublicClient } from "viem";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { ModelRegistryUnknownModelError } from "../../sdk/errors/contractErrors.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { DeploymentsLocation } from "../config/options.ts";
import {
  MissingDeploymentError,
  PeerCheckError,
  RpcUnreachableError,
  SigningKeyMismatchError,
  StakeBelowMinimumError,
  UnfundedKeyError,
  UnstakedKeyError,
  UsageError,
  WrongChainError,
} from "./errors.ts";

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * Connects to the JSON-RPC endpoint and reads its chain id, failing fast (no retries) with
 * {@link RpcUnreachableError}.
 */
export async function checkRpc(url: string, { timeoutMs = 5_000 } = {}): Promise<{ client: PublicClient; chainId: number }> {
  const client = createPublicClient({ transport: http(url, { timeout: timeoutMs, retryCount: 0 }) });
  try {
    return { client, chainId: await client.getChainId() };
  } catch (err) {
    throw new RpcUnreachableError({ url, cause: asError(err) });
  }
}

/**
 * {@link checkRpc} over the `--rpc` endpoints in order: the first that answers serves the
 * preflight; only when none does is it {@link RpcUnreachableError} (naming the first).
 */
export async function checkRpcs(
  urls: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<{ client: PublicClient; chainId: number; url: string }> {
  const failures: unknown[] = [];
  for (const url of urls) {
    try {
      return { ...(await checkRpc(url, options)), url };
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length) throw failures[0];
  throw new RpcUnreachableError({ url: "(none)", cause: new Error("no --rpc endpoint") });
}

async function readBook(file: string, chainId: number): Promise<Deployments | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MissingDeploymentError({ chainId, source: file, cause: asError(err) });
  }
  try {
    return parseDeployments(JSON.parse(text), file);
  } catch (err) {
    throw new MissingDeploymentError({ chainId, source: file, cause: asError(err) });
  }
}

/**
 * Loads the address book of `chainId` from a file or a `<dir>/<chainId>.json` directory.
 * A book for another chain is {@link WrongChainError}; no book at all {@link MissingDeploymentError}.
 */
export async function loadAddressBook(location: DeploymentsLocation, chainId: number): Promise<Deployments> {
  if (location.kind === "file") {
    const book = await readBook(location.path, chainId);
    if (!book) throw new MissingDeploymentError({ chainId, source: location.path });
    if (book.chainId !== chainId) throw new WrongChainError({ rpcChainId: chainId, bookChainIds: [book.chainId], source: location.path });
    return book;
  }
  const file = path.join(location.path, `${chainId}.json`);
  const book = await readBook(file, chainId);
  if (book) {
    if (book.chainId !== chainId) throw new WrongChainError({ rpcChainId: chainId, bookChainIds: [book.chainId], source: file });
    return book;
  }
  const others = await readdir(location.path).catch(() => [] as string[]);
  const chains = others
    .map((f) => /^(\d+)\.json$/.exec(f)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
  if (chains.length) throw new WrongChainError({ rpcChainId: chainId, bookChainIds: chains, source: location.path });
  throw new MissingDeploymentError({ chainId, source: file });
}

/** Throws {@link UnfundedKeyError} unless `address` holds at least `neededWei` (default: any). */
export async function checkFunded(client: PublicClient, address: Address, neededWei = 1n): Promise<bigint> {
  const balanceWei = await client.getBalance({ address });
  if (balanceWei < neededWei) throw new UnfundedKeyError({ address, balanceWei, neededWei });
  return balanceWei;
}

/**
 * Throws {@link UnstakedKeyError} unless `address` has an active stake in the ledger,
 * {@link StakeBelowMinimumError} when it is below `modelId`'s minimum worker stake (the ledger
 * would refuse its commitments), and {@link SigningKeyMismatchError} when `signingKey` is not the
 * key the ledger registered.
 */
export async function checkStaked(
  client: PublicClient,
  deployments: Deployments,
  address: Address,
  { signingKey, modelId }: { signingKey?: Address | undefined; modelId?: bigint | undefined } = {},
): Promise<{ stakeWei: bigint; minimumWei: bigint; signingKey: Address; payout: Address }> {
  let staker;
  try {
    staker = await getStaker(client, { deployments, account: address });
  } catch (err) {
    throw new MissingDeploymentError({
      chainId: deployments.chainId,
      source: `computeLedger ${deployments.contracts.computeLedger}`,
      cause: asError(err),
    });
  }
  if (staker.stakeWei === 0n) throw new UnstakedKeyError({ address, reason: "has no stake in the compute ledger" });
  if (staker.unbonding) throw new UnstakedKeyError({ address, reason: "is unbonding its stake" });
  if (staker.jailed) throw new UnstakedKeyError({ address, reason: "is jailed" });
  const minimumWei = modelId === undefined ? 0n : await minWorkerStake(client, deployments, modelId);
  if (staker.stakeWei < minimumWei)
    throw new StakeBelowMinimumError({ address, stakeWei: staker.stakeWei, minimumWei, modelIds: [modelId as bigint] });
  if (signingKey && staker.signingKey.toLowerCase() !== signingKey.toLowerCase())
    throw new SigningKeyMismatchError({ registered: staker.signingKey, given: signingKey });
  return { stakeWei: staker.stakeWei, minimumWei, signingKey: staker.signingKey, payout: staker.payout };
}

/** The model's minimum worker stake; a model the registry does not have is a usage error (exit 2). */
export async function minWorkerStake(client: PublicClient, deployments: Deployments, modelId: bigint): Promise<bigint> {
  try {
    return (await getModel(client, { deployments, modelId })).minWorkerStakeWei;
  } catch (err) {
    if (err instanceof ModelRegistryUnknownModelError)
      throw new UsageError(`--model ${modelId}: the registry ${deployments.contracts.modelRegistry} has no such model.`);
    throw err;
  }
}

/** Retry schedule of {@link checkPeers}. */
export type PeerCheckOptions = {
  attempts?: number | undefined;
  baseDelayMs?: number | undefined;
  maxDelayMs?: number | undefined;
  attemptTimeoutMs?: number | undefined;
  onRetry?: ((info: { address: string; attempt: number; delayMs: number; error: Error }) => void) | undefined;
};

/**
 * Dials every peer multiaddr over the pipeline's own libp2p stack (TCP + noise + yamux),
 * retrying with exponential backoff; {@link PeerCheckError} names the first that never answered.
 */
export async function checkPeers(addresses: readonly string[], options: PeerCheckOptions = {}): Promise<void> {
  if (addresses.length === 0) return;
  const { createPipeNode, backoffDelayMs } = await import("../p2p/node.ts");
  const { multiaddr } = await import("@multiformats/multiaddr");
  const attempts = options.attempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 3_000;
  const node = await createPipeNode({ listen: [] });
  try {
    for (const address of addresses) {
      let lastError: Error | undefined;
      let ok = false;
      for (let attempt = 1; attempt <= attempts && !ok; attempt++) {
        try {
          const connection = await node.dial(multiaddr(address), { signal: AbortSignal.timeout(options.attemptTimeoutMs ?? 5_000) });
          await connection.close();
          ok = true;
        } catch (err) {
          lastError = asError(err);
          if (attempt === attempts) break;
          const delayMs = backoffDelayMs(attempt, baseDelayMs, maxDelayMs);
          options.onRetry?.({ address, attempt, delayMs, error: lastError });
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      if (!ok) throw new PeerCheckError({ address, attempts, cause: lastError });
    }
  } finally {
    await node.stop();
  }
}
