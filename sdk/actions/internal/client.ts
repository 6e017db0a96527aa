import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Client,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type TransactionReceipt,
  type Transport,
} from "viem";
import { estimateContractGas, getChainId, simulateContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import { selectDeployments } from "../../deployments/parse.ts";
import type { Deployments, DeploymentsSource } from "../../deployments/types.ts";
import { toShardholderError } from "../../errors/index.ts";
import { AccountRequiredError, TransactionRevertedError } from "../../errors/sdk.ts";

/** Any viem client; write actions additionally need an account (on the client or passed in). */
export type ShardholderClient = Client<Transport, Chain | undefined, Account | undefined>;

/** Every action takes the address book (the decorator fills it in). */
export type DeploymentsParameter = { deployments: DeploymentsSource };

/** Write actions take an optional account overriding the client's. */
export type AccountParameter = { account?: Account | Address | undefined };

/** What every write action returns once its transaction is mined. */
export type WriteResult = { transactionHash: Hash; receipt: TransactionReceipt };

/** The address book of the client's chain. */
export async function resolveDeployments(client: ShardholderClient, source: DeploymentsSource): Promise<Deployments> {
  const chainId = client.chain?.id ?? (await getChainId(client));
  return selectDeployments(source, chainId);
}

/** Runs `fn`, converting protocol reverts into the SDK's typed errors. */
export async function withTypedErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toShardholderError(err);
  }
}

export type SendParameters<
  abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
> = {
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
   */
  extraGas?: bigint | undefined;
};

/**
 * Simulates (so reverts surface with decoded data before any gas is spent), sends, and waits for
 * the receipt of one contract write; protocol reverts become typed errors.
 */
export async function sendContractWrite<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, "nonpayable" | "payable">,
>(client: ShardholderClient, parameters: SendParameters<abi, functionName>): Promise<WriteResult> {
  const account = parameters.account ?? client.account;
  if (!account) throw new AccountRequiredError({ action: parameters.action });
  return withTypedErrors(async () => {
    const { request } = await simulateContract(client, {
      abi: parameters.abi as Abi,
      address: parameters.address,
      functionName: parameters.functionName as string,
      args: parameters.args as readonly unknown[],
      value: parameters.value,
      account,
      chain: client.chain,
      ...(parameters.simulateOn ? { blockTag: parameters.simulateOn } : {}),
    });
    const transactionHash = await writeContract(
      client,
      parameters.extraGas === undefined ? request : { ...request, gas: (await estimateContractGas(client, request)) + parameters.extraGas },
    );
    const receipt = await waitForTransactionReceipt(client, { hash: transactionHash });
    if (receipt.status !== "success") throw new TransactionRevertedError({ action: parameters.action, transactionHash });
    return { transactionHash, receipt };
  });
}
