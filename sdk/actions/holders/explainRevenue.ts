import type { Address } from "viem";
import { getBlockNumber, getContractEvents, readContract } from "viem/actions";
import * as registryAbi from "../../abi/items/modelRegistry.ts";
import * as tokenAbi from "../../abi/items/modelToken.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { replayRevenue, type RevenueExplanation, type RevenueReplayError, type TokenEvent } from "../../holders/revenueReplay.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient, withTypedErrors } from "../internal/client.ts";

export type ExplainRevenueParameters = DeploymentsParameter & {
  holder: Address;
  modelId: bigint;
  /** Explain the state as of this block (default: latest). */
  blockNumber?: bigint | undefined;
};

export type ExplainRevenueReturnType = RevenueExplanation & { modelId: bigint; token: Address; holder: Address; blockNumber: bigint };

export type ExplainRevenueErrorType = RevenueReplayError | NoDeploymentError;

/**
 * Audits a holder's revenue of one model from the token's events alone (initialization,
 * transfers and mints, deposits, claims): lists every deposit with the holder's balance, the
 * supply and the holder's exact share, and recomputes what the holder earned. By construction
 * `claimableWei + claimedWei == earnedWei` and `claimableWei` equals the token's `claimable(holder)`.
 *
 * @example
 * import { explainRevenue } from "@shardholder/sdk"
 * const { entries, earnedWei, claimableWei } = await explainRevenue(client, { deployments, holder, modelId: 1n })
 */
export async function explainRevenue(client: ShardholderClient, parameters: ExplainRevenueParameters): Promise<ExplainRevenueReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  return withTypedErrors(async () => {
    const blockNumber = parameters.blockNumber ?? (await getBlockNumber(client));
    const token = await readContract(client, {
      abi: [registryAbi.tokenOf],
      address: contracts.modelRegistry,
      functionName: "tokenOf",
      args: [parameters.modelId],
      blockNumber,
    });
    const logs = await getContractEvents(client, {
      // The four events the replay reads (not the whole ABI: a dapp's bundle carries only these).
      abi: [tokenAbi.ModelTokenInitialized, tokenAbi.Transfer, tokenAbi.RevenueDeposited, tokenAbi.RevenueClaimed],
      address: token,
      fromBlock: BigInt(deployedAtBlock),
      toBlock: blockNumber,
      strict: true,
    });
    const events: TokenEvent[] = [];
    for (const log of logs) {
      const at = { blockNumber: log.blockNumber, logIndex: log.logIndex, transactionHash: log.transactionHash };
      if (log.eventName === "ModelTokenInitialized") events.push({ ...at, kind: "initialized", capTokens: log.args.capTokens });
      else if (log.eventName === "Transfer")
        events.push({ ...at, kind: "transfer", from: log.args.from, to: log.args.to, value: log.args.value });
      else if (log.eventName === "RevenueDeposited")
        events.push({ ...at, kind: "deposit", depositor: log.args.depositor, amountWei: log.args.amountWei });
      else if (log.eventName === "RevenueClaimed")
        events.push({ ...at, kind: "claim", account: log.args.account, to: log.args.to, amountWei: log.args.amountWei });
    }
    events.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    return { ...replayRevenue(events, parameters.holder), modelId: parameters.modelId, token, holder: parameters.holder, blockNumber };
  });
}
