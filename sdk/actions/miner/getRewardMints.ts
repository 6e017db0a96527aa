import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A worker's reward of one round, as its `RewardMinted` event has it. */
export type RewardMint = EventLocation & {
  modelId: bigint;
  round: bigint;
  worker: Address;
  /** Where the worker's tokens went (its payout address when minted). */
  payout: Address;
  workerTokens: bigint;
  /** Minted to the model's designer with it (its `designerEmissionBps`). */
  designerTokens: bigint;
  /** The worker's verified units of the round, over all its stages. */
  units: bigint;
};

export type GetRewardMintsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round's. */
    round?: bigint | undefined;
    /** Only this worker's. */
    worker?: Address | undefined;
  };

export type GetRewardMintsReturnType = RewardMint[];

export type GetRewardMintsErrorType = NoDeploymentError;

/**
 * The workers' rewards minted for a model (`mintReward`, anyone may send it), in chain order, from
 * `RewardMinted` events between the deployment block (or `fromBlock`) and `toBlock`; at most one
 * per worker and round (it covers all the worker's stages).
 *
 * @example
 * import { getRewardMints } from "@shardholder/sdk"
 * const mints = await getRewardMints(client, { deployments, modelId: 1n, worker })
 * const earned = mints.reduce((t, m) => t + m.workerTokens, 0n)
 */
export async function getRewardMints(client: ShardholderClient, parameters: GetRewardMintsParameters): Promise<GetRewardMintsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.RewardMinted],
    address: contracts.computeLedger,
    eventName: "RewardMinted",
    args: { modelId: parameters.modelId, round: parameters.round, worker: parameters.worker },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, worker, payout, workerTokens, designerTokens, units } = l.args;
    return { modelId, round, worker, payout, workerTokens, designerTokens, units, ...locationOf(l) };
  });
}
