// Checks before the devnet touches an existing chain (`--rpc`, `--deployments`): the endpoint
// answers, the address book is for its chain and points at deployed code, and every role key can
// pay. Each failure is one of the CLI's errors (one line, its own exit code). The chain may have
// been used before, so nothing here assumes fresh balances, nonces or stakes.
import path from "node:path";
import { type Address, formatEther, type Hex, type PublicClient, type WalletClient, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getStaker } from "../../../sdk/actions/miner/getStaker.ts";
import { contractNames, type Deployments } from "../../../sdk/deployments/types.ts";
import { MissingDeploymentError, UnfundedKeyError } from "../../../worker/cli/errors.ts";
import { checkFunded, checkRpc, loadAddressBook } from "../../../worker/cli/preflight.ts";
import { devKey, type DevnetRoles } from "./accounts.ts";

/**
 * Connects to `rpcUrl` and loads `deploymentsFile` for its chain. Throws `RpcUnreachableError`,
 * `WrongChainError` (the book names another chain) or `MissingDeploymentError` (no file, not an
 * address book, or a contract without code: a book left over from a restarted dev chain).
 */
export async function checkExistingChain(
  rpcUrl: string,
  deploymentsFile: string,
): Promise<{ client: PublicClient; chainId: number; deployments: Deployments }> {
  const { client, chainId } = await checkRpc(rpcUrl);
  const source = path.resolve(deploymentsFile);
  const deployments = await loadAddressBook({ kind: "file", path: source }, chainId);
  for (const name of contractNames) {
    const address = deployments.contracts[name];
    const code = await client.getCode({ address });
    if (!code || code === "0x")
      throw new MissingDeploymentError({ chainId, source, cause: new Error(`${name} ${address} has no code on this chain`) });
  }
  return { client, chainId, deployments };
}

/** The least balance each role needs for one run (stakes, fees and gas), in wei. */
export function roleNeedsWei(requests: number): { miner: bigint; minerGas: bigint; validator: bigint; cheater: bigint; client: bigint } {
  return {
    miner: parseEther("3"),
    /** A miner already staked (a used chain): its transactions' gas. */
    minerGas: parseEther("0.5"),
    validator: parseEther("2"),
    cheater: parseEther("3"),
    // Fees go up to 0.03 ETH per request (see run.ts), plus request gas.
    client: parseEther("0.05") * BigInt(requests) + parseEther("0.1"),
  };
}

/** Gas money the funder keeps for itself: registration, finalize/mint relaying, claims. */
const FUNDER_RESERVE_WEI = parseEther("1");

/**
 * Tops up every `account` below its `neededWei` from `funder` (the devnet's deployer) to exactly
 * that amount. Checks first that the funder can pay all of it (`UnfundedKeyError` otherwise), so
 * a run never stops halfway through funding. Returns the top-ups sent.
 */
export async function fundRoles(
  client: PublicClient,
  funder: WalletClient,
  accounts: readonly { address: Address; neededWei: bigint }[],
): Promise<{ address: Address; topUpWei: bigint }[]> {
  const funderAddress = funder.account?.address;
  if (!funderAddress) throw new Error("the funder wallet has no account");
  const shortfalls: { address: Address; topUpWei: bigint }[] = [];
  for (const a of accounts) {
    const balanceWei = await client.getBalance({ address: a.address });
    if (balanceWei < a.neededWei) shortfalls.push({ address: a.address, topUpWei: a.neededWei - balanceWei });
  }
  const totalWei = shortfalls.reduce((sum, s) => sum + s.topUpWei, 0n);
  await checkFunded(client, funderAddress, totalWei + FUNDER_RESERVE_WEI);
  for (const s of shortfalls) {
    const hash = await funder.sendTransaction({ account: funder.account ?? null, chain: null, to: s.address, value: s.topUpWei });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new UnfundedKeyError({ address: s.address, balanceWei: 0n, neededWei: s.topUpWei });
  }
  return shortfalls;
}

/** Development-key indices the cheating replica may use, in order of preference. */
export const CHEATER_KEY_INDICES: readonly number[] = [18, 19, ...Array.from({ length: 64 }, (_, i) => 200 + i)];

/**
 * The cheater's keys for this run: the first candidate the ledger has not jailed. A caught cheater
 * stays jailed for good, so a second run on the same chain needs a fresh identity to cheat with
 * (its signing key is the dev key 100 indices higher, disjoint from the miners' 100..107).
 */
export async function pickCheaterKeys(client: PublicClient, deployments: Deployments): Promise<DevnetRoles["cheater"] & { index: number }> {
  for (const index of CHEATER_KEY_INDICES) {
    const key = devKey(index);
    const staker = await getStaker(client, { deployments, account: privateKeyToAccount(key).address });
    if (!staker.jailed && !staker.unbonding) return { index, key, signingKey: devKey(index + 100) };
  }
  throw new Error(`every candidate cheater key (${CHEATER_KEY_INDICES.length}) is jailed on this chain`);
}

/** One line for the log: who was topped up with how much. */
export function describeTopUps(topUps: { address: Address; topUpWei: bigint }[]): string {
  if (topUps.length === 0) return "every role key already holds what it needs";
  return `funded ${topUps.length} role key(s): ${topUps.map((t) => `${t.address} +${formatEther(t.topUpWei)} ETH`).join(", ")}`;
}

/** Miners of `roles` (stage miners and replicas) that hold a stake on this chain already. */
export async function stakedMiners(client: PublicClient, deployments: Deployments, roles: DevnetRoles): Promise<Set<Address>> {
  const staked = new Set<Address>();
  for (const key of [...roles.miners, ...roles.replicas.map((r) => r.key)]) {
    const account = privateKeyToAccount(key).address;
    if ((await getStaker(client, { deployments, account })).stakeWei > 0n) staked.add(account);
  }
  return staked;
}

/**
 * Accounts of `roles` with what each needs (miners and replicas, clients, validators and, if
 * running, the cheater). A miner in `staked` (a used chain) needs gas only, not another stake.
 */
export function roleAccounts(
  roles: DevnetRoles,
  requests: number,
  cheater: Hex | undefined,
  staked: ReadonlySet<Address> = new Set(),
): { address: Address; neededWei: bigint }[] {
  const needs = roleNeedsWei(requests);
  const of = (key: Hex, neededWei: bigint) => ({ address: privateKeyToAccount(key).address, neededWei });
  const miner = (key: Hex) => of(key, staked.has(privateKeyToAccount(key).address) ? needs.minerGas : needs.miner);
  return [
    ...roles.miners.map(miner),
    ...roles.replicas.map((r) => miner(r.key)),
    ...roles.clients.map((k) => of(k, needs.client)),
    ...roles.validators.map((k) => of(k, needs.validator)),
    ...(cheater ? [of(cheater, needs.cheater)] : []),
  ];
}
