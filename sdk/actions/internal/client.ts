import type {
  Abi,
  Account,
  Address,
  Chain,
  Client,
  ContractFunctionArgs,
  ContractFunctionName,
  ExactPartial,
  FeeValuesEIP1559,
  FeeValuesLegacy,
  Hash,
  TransactionReceipt,
  TransactionRequestBase,
  Transport,
} from "viem";
import { HttpRequestError, InsufficientFundsError as ViemInsufficientFundsError } from "viem";
import { estimateContractGas, getBalance, getChainId, simulateContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import { selectDeployments } from "../../deployments/parse.ts";
import type { Deployments, DeploymentsSource } from "../../deployments/types.ts";
import { BaseError } from "../../errors/base.ts";
import { findRevertData } from "../../errors/contract.ts";
import { InsufficientFundsError, RpcUnreachableError } from "../../errors/inference.ts";
import { AccountRequiredError, TransactionRevertedError } from "../../errors/sdk.ts";

/** Any viem client; write actions additionally need an account (on the client or passed in). */
export type ShardholderClient = Client<Transport, Chain | undefined, Account | undefined>;

/** Every action takes the address book (the decorator fills it in). */
export type DeploymentsParameter = { deployments: DeploymentsSource };

/** Write actions take an optional account overriding the client's. */
export type AccountParameter = { account?: Account | Address | undefined };

/**
 * viem's per-transaction overrides, forwarded to the simulation and to `writeContract`: gas limit,
 * nonce, and either the legacy `gasPrice` or the EIP-1559 `maxFeePerGas`/`maxPriorityFeePerGas`
 * (not both, as in viem). Whatever is left out the wallet and the node fill in as usual.
 */
export type TransactionOverrides = Pick<TransactionRequestBase, "gas" | "nonce"> &
  (ExactPartial<FeeValuesLegacy> | ExactPartial<FeeValuesEIP1559>);

/** Whether a write action waits for its receipt; the action's return type follows it. */
export type WaitParameter<wait extends boolean = true> = {
  /**
   * `true` (default): wait for the receipt, check it succeeded and return the values decoded from
   * its events. `false`: return `{ transactionHash }` as soon as the node accepted the transaction,
   * like viem's `writeContract` (the simulation still runs first, so a revert still costs no gas).
   */
  wait?: wait | undefined;
};

/** What every single-transaction write action accepts besides its own fields. */
export type WriteParameters<wait extends boolean = true> = AccountParameter & TransactionOverrides & WaitParameter<wait>;

/**
 * What a write action returns with `wait: false`: the hash of a transaction that may still be
 * pending. `receipt?: undefined` tells it apart from a {@link WriteResult} (`if (r.receipt)`).
 */
export type SentTransaction = { transactionHash: Hash; receipt?: undefined };

/** What every write action returns once its transaction is mined. */
export type WriteResult = { transactionHash: Hash; receipt: TransactionReceipt };

/**
 * A write action's result: `result` when it waited for the receipt, `sent` (the hash) for
 * `wait: false`, either for a `wait` only known at run time.
 */
export type WriteReturnType<result, wait extends boolean = true, sent = SentTransaction> = wait extends false ? sent : result;

/** The address book of the client's chain. */
export async function resolveDeployments(client: ShardholderClient, source: DeploymentsSource): Promise<Deployments> {
  const chainId =
    client.chain?.id ??
    (await getChainId(client).catch((err: unknown): never => {
      throw rpcUnreachable(err) ?? err;
    }));
  return selectDeployments(source, chainId);
}

/**
 * Runs `fn`, converting protocol reverts into the SDK's typed errors. The error registry (every
 * error class and error ABI fragment of every contract) is imported on the first revert, not up
 * front: bundlers put it in a lazily loaded chunk, so an app using one action does not carry it.
 */
export async function withTypedErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BaseError) throw err;
    if (findRevertData(err) === undefined) throw rpcUnreachable(err) ?? err;
    const { toShardholderError } = await import("../../errors/decode.ts");
    throw toShardholderError(err);
  }
}

/** The first error of `err`'s `cause` chain that `match` accepts. */
function causeOf<T>(err: unknown, match: (e: unknown) => e is T): T | undefined {
  for (let e = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) if (match(e)) return e;
  return undefined;
}

/** {@link RpcUnreachableError} when `err` is viem failing to reach the JSON-RPC endpoint over HTTP. */
export function rpcUnreachable(err: unknown): RpcUnreachableError | undefined {
  const http = causeOf(err, (e): e is HttpRequestError => e instanceof HttpRequestError);
  return http && new RpcUnreachableError({ url: http.url, cause: http });
}

/**
 * {@link InsufficientFundsError} when a write failed because `account` cannot pay `valueWei` plus
 * gas: the node said so, or the balance is below the value alone. Nodes word this differently
 * (Hardhat answers "Missing or invalid parameters"), so the balance is the arbiter.
 */
async function insufficientFunds(
  client: ShardholderClient,
  account: Account | Address,
  valueWei: bigint,
  err: unknown,
): Promise<InsufficientFundsError | undefined> {
  const nodeSaidSo = causeOf(err, (e): e is ViemInsufficientFundsError => e instanceof ViemInsufficientFundsError) !== undefined;
  if (!nodeSaidSo && valueWei === 0n) return undefined;
  const address = typeof account === "string" ? account : account.address;
  const balanceWei = await getBalance(client, { address }).catch(() => undefined);
  if (balanceWei === undefined || (!nodeSaidSo && balanceWei >= valueWei)) return undefined;
  return new InsufficientFundsError({ account: address, balanceWei, feeWei: valueWei });
}

export type SendParameters<abi extends Abi, functionName extends ContractFunctionName<abi, "nonpayable" | "payable">> = {
  abi: abi;
  address: Address;
  functionName: functionName;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", functionName>;
  value?: bigint | undefined;
  account?: Account | Address | undefined;
  action: string;
  /**
   * Block the simulation runs on (default: the node's latest). `"pending"` for calls that are only
   * valid in a block after the latest one (the committee draw and the sealed seed read the hash of
   * a block that must already be in the past).
   */
  simulateOn?: "pending" | undefined;
  /**
   * Gas added to the node's estimate, for calls whose cost depends on what lands before them (the
   * last vote of a committee also opens its appeal window): an exact estimate would run out of gas.
   * Ignored when the caller sets `gas`.
   */
  extraGas?: bigint | undefined;
};

/** Only the transaction fields of an action's parameters (an action passes all of its parameters). */
function overridesOf(options: TransactionOverrides): TransactionOverrides {
  const { gas, nonce, gasPrice, maxFeePerGas, maxPriorityFeePerGas } = options;
  const picked = { gas, nonce, gasPrice, maxFeePerGas, maxPriorityFeePerGas };
  // Absent keys stay absent: viem tells legacy from EIP-1559 requests by which fee keys are set.
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined));
}

/**
 * The overrides for the `index`-th transaction of an action that sends several in a row: the same
 * gas and fees, and the nonce after the previous one's when the caller fixed the first.
 */
export function laterTransaction(overrides: TransactionOverrides, index: number): TransactionOverrides {
  const picked = overridesOf(overrides);
  return picked.nonce === undefined ? picked : { ...picked, nonce: picked.nonce + index };
}

/** The tail of each sender's queue of sends in this process (lowercased address). */
const sendQueues = new Map<string, Promise<void>>();

/**
 * Runs `send` once every earlier send of `from` in this process was accepted or refused by the
 * node. A write picks its nonce from the node's pending count just before it signs, so two writes
 * of one account started together (a commitment batch and an availability answer, a mint) would
 * take the same nonce and one would fail; in a queue each sees the previous one pending. Only the
 * send waits its turn: simulations and receipt waits run side by side. Other processes sending
 * from the same account are not covered (the CLI refuses a second process on one key).
 */
export async function oneSendAtATime<T>(from: Address, send: () => Promise<T>): Promise<T> {
  const key = from.toLowerCase();
  const previous = sendQueues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = previous.then(() => mine);
  sendQueues.set(key, tail);
  await previous;
  try {
    return await send();
  } finally {
    done();
    if (sendQueues.get(key) === tail) sendQueues.delete(key);
  }
}

/**
 * Simulates (so reverts surface with decoded data before any gas is spent), sends, and (unless
 * `options.wait` is `false`) waits for the receipt of one contract write; protocol reverts become
 * typed errors. `options` is the action's parameters: their transaction overrides and `wait` are used.
 */
export async function sendContractWrite<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
  wait extends boolean = true,
>(
  client: ShardholderClient,
  parameters: SendParameters<abi, functionName>,
  options: TransactionOverrides & WaitParameter<wait> = {},
): Promise<WriteReturnType<WriteResult, wait>> {
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: parameters.action });
  const overrides = overridesOf(options);
  const send = async (): Promise<SentTransaction | WriteResult> => {
    // The two assertions widen the generic ABI and name, without which simulateContract's types do
    // not resolve (tsc fails); the rule does not see that they change the call's inference.
    const { request } = await simulateContract(client, {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
      abi: parameters.abi as Abi,
      address: parameters.address,
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
      functionName: parameters.functionName as string,
      args: parameters.args as readonly unknown[],
      value: parameters.value,
      account,
      chain: client.chain,
      ...overrides,
      ...(parameters.simulateOn ? { blockTag: parameters.simulateOn } : {}),
    });
    const padGas = parameters.extraGas !== undefined && overrides.gas === undefined;
    const prepared = padGas ? { ...request, gas: (await estimateContractGas(client, request)) + (parameters.extraGas ?? 0n) } : request;
    const from = typeof account === "string" ? account : account.address;
    const transactionHash = await oneSendAtATime(from, () => writeContract(client, prepared));
    if (options.wait === false) return { transactionHash };
    const receipt = await waitForTransactionReceipt(client, { hash: transactionHash });
    if (receipt.status !== "success") throw new TransactionRevertedError({ action: parameters.action, transactionHash });
    return { transactionHash, receipt };
  };
  const sent = await withTypedErrors(async () => {
    try {
      return await send();
    } catch (err) {
      // A revert is the contract's answer; anything else may be the account's funds, said in words.
      throw (findRevertData(err) === undefined && (await insufficientFunds(client, account, parameters.value ?? 0n, err))) || err;
    }
  });
  // The branch taken above is the one `wait` selects; TypeScript cannot follow that into the type.
  return sent as WriteReturnType<WriteResult, wait>;
}

/**
 * Finishes a write action: with the receipt, `decode` turns it into the action's result; for
 * `wait: false` the hash is passed through as it is.
 */
export function decodeWrite<wait extends boolean, result>(
  sent: WriteReturnType<WriteResult, wait>,
  decode: (mined: WriteResult) => result,
): WriteReturnType<result, wait> {
  const either: SentTransaction | WriteResult = sent;
  // Same reasoning as in sendContractWrite: the receipt is there exactly when `wait` was not false.
  return (either.receipt ? decode(either) : either) as WriteReturnType<result, wait>;
}
