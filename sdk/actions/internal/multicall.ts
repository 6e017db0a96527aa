import type { MulticallParameters, MulticallReturnType } from "viem";
import { multicall } from "viem/actions";
import type { ShardholderClient } from "./client.ts";

/**
 * Batched reads in one `eth_call`: through the chain's Multicall3 when the client's chain
 * declares one, otherwise deployless (the Multicall3 bytecode runs inside the call), which also
 * works on chains without Multicall3 such as a fresh Hardhat node. Failures throw. `blockNumber`
 * reads the state of that block instead of the latest.
 */
export async function readMany<const contracts extends readonly unknown[]>(
  client: ShardholderClient,
  contracts: MulticallParameters<contracts, false>["contracts"],
  { blockNumber }: { blockNumber?: bigint | undefined } = {},
): Promise<MulticallReturnType<contracts, false>> {
  const deployless = client.chain?.contracts?.multicall3 === undefined;
  return multicall(client, { contracts, allowFailure: false, deployless, ...(blockNumber === undefined ? {} : { blockNumber }) });
}
