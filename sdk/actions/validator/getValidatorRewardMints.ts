import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A validator's reward of one round, as its `ValidatorRewardMinted` event has it. */
export type ValidatorRewardMint = EventLocation & {
  modelId: bigint;
  round: bigint;
  validator: Address;
  /** Where the tokens went (the validator's payout address when minted). */
  payout: Address;
  tokens: bigint;
  /** The attested units the reward was pro rata to. */
  units: bigint;
};

export type GetValidatorRewardMintsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round's. */
    round?: bigint | undefined;
    /** Only this validator's. */
    validator?: Address | undefined;
  };

export type GetValidatorRewardMintsReturnType = ValidatorRewardMint[];

export type GetValidatorRewardMintsErrorType = NoDeploymentError;

/**
 * The validators' rewards minted for a model (`mintValidatorReward`, anyone may send it), in
 * chain order, from `ValidatorRewardMinted` events between the deployment block (or
 * `fromBlock`) and `toBlock`; at most one per validator and round.
 *
 * @example
 * import { getValidatorRewardMints } from "@shardholder/sdk"
 * const mints = await getValidatorRewardMints(client, { deployments, modelId: 1n, validator })
 * const earned = mints.reduce((t, m) => t + m.tokens, 0n)
 */
export async function getValidatorRewardMints(
  client: ShardholderClient,
  parameters: GetValidatorRewardMintsParameters,
): Promise<GetValidatorRewardMintsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.ValidatorRewardMinted],
    address: contracts.computeLedger,
    eventName: "ValidatorRewardMinted",
    args: { modelId: parameters.modelId, round: parameters.round, validator: parameters.validator },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, validator, payout, tokens, units } = l.args;
    return { modelId, round, validator, payout, tokens, units, ...locationOf(l) };
  });
}
