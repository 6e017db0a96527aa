import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A worker's slash, as its `WorkerSlashed` event has it. */
export type Slash = EventLocation & {
  modelId: bigint;
  round: bigint;
  worker: Address;
  /** Stake taken (`SLASH_BPS` of what the worker had staked). */
  slashedWei: bigint;
  /** Of it, credited to whoever proved the fault (challenger, prover or availability challenger). */
  rewardWei: bigint;
  /** Of it, burned. The rest is the voter pool of the dispute that slashed (none for other slashes). */
  burnedWei: bigint;
  /** The worker's units of the round taken out of the round (all its stages' commitments). */
  unitsRemoved: bigint;
};

export type GetSlashesParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round. */
    round?: bigint | undefined;
    /** Only this worker's. */
    worker?: Address | undefined;
  };

export type GetSlashesReturnType = Slash[];

export type GetSlashesErrorType = NoDeploymentError;

/**
 * The slashes of a model's workers, in chain order, from `WorkerSlashed` events between the
 * deployment block (or `fromBlock`) and `toBlock`. Every way the ledger takes stake emits it once:
 * a dispute lost (either side of a chain break), a proven weights break, an unanswered
 * availability challenge, and a validator's false attestation (`slashFalseAttestation`; `worker`
 * is then the validator). An availability challenge against a commitment already slashed settles
 * without a second slash, and so without a second entry.
 *
 * @example
 * import { getSlashes } from "@shardholder/sdk"
 * const slashes = await getSlashes(client, { deployments, modelId: 1n, worker })
 * const lostWei = slashes.reduce((t, s) => t + s.slashedWei, 0n)
 */
export async function getSlashes(client: ShardholderClient, parameters: GetSlashesParameters): Promise<GetSlashesReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.WorkerSlashed],
    address: contracts.computeLedger,
    eventName: "WorkerSlashed",
    args: { modelId: parameters.modelId, round: parameters.round, worker: parameters.worker },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, worker, slashedWei, rewardWei, burnedWei, unitsRemoved } = l.args;
    return { modelId, round, worker, slashedWei, rewardWei, burnedWei, unitsRemoved, ...locationOf(l) };
  });
}
