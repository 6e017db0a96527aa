import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** One item a validator attested on-chain, as its `ItemAttested` event has it. */
export type ItemAttestation = EventLocation & {
  modelId: bigint;
  round: bigint;
  validator: Address;
  worker: Address;
  stage: number;
  /** The attested leaf's microbatch in the worker's commitment. */
  microbatch: number;
  /** Compute units of the item: the validator's reward weight. */
  units: bigint;
};

export type GetAttestationsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round's. */
    round?: bigint | undefined;
    /** Only this validator's. */
    validator?: Address | undefined;
  };

export type GetAttestationsReturnType = ItemAttestation[];

export type GetAttestationsErrorType = NoDeploymentError;

/**
 * The items validators attested on-chain (`attestItems`) for a model, in chain order, from
 * `ItemAttested` events between the deployment block (or `fromBlock`) and `toBlock`. An
 * attestation later proven false (`slashFalseAttestation`) is still listed; `getValidatorRound`
 * reads the units that still count.
 *
 * @example
 * import { getAttestations } from "@shardholder/sdk"
 * const attested = await getAttestations(client, { deployments, modelId: 1n, round: 3n, validator })
 */
export async function getAttestations(
  client: ShardholderClient,
  parameters: GetAttestationsParameters,
): Promise<GetAttestationsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.ItemAttested],
    address: contracts.computeLedger,
    eventName: "ItemAttested",
    args: { modelId: parameters.modelId, round: parameters.round, validator: parameters.validator },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, validator, worker, stage, microbatch, units } = l.args;
    return { modelId, round, validator, worker, stage, microbatch, units, ...locationOf(l) };
  });
}
