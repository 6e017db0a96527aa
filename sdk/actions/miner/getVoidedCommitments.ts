import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A commitment voided as a copy (`proveUnlinked` / `proveDuplicate`), as its `CommitmentVoided` event has it. */
export type VoidedCommitment = EventLocation & {
  modelId: bigint;
  round: bigint;
  stage: number;
  worker: Address;
  /** The neighbour whose link (or input) proved the commitment a copy. */
  neighbour: Address;
  /** Units taken out of the round (0 when a slash had removed them already). */
  removedUnits: bigint;
};

export type GetVoidedCommitmentsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round. */
    round?: bigint | undefined;
    /** Only this worker's. */
    worker?: Address | undefined;
  };

export type GetVoidedCommitmentsReturnType = VoidedCommitment[];

export type GetVoidedCommitmentsErrorType = NoDeploymentError;

/**
 * The commitments of a model voided as copies of someone else's work (no stake is slashed, the
 * units leave the round), in chain order, from `CommitmentVoided` events between the deployment
 * block (or `fromBlock`) and `toBlock`.
 *
 * @example
 * import { getVoidedCommitments } from "@shardholder/sdk"
 * const voided = await getVoidedCommitments(client, { deployments, modelId: 1n, round: 3n })
 */
export async function getVoidedCommitments(
  client: ShardholderClient,
  parameters: GetVoidedCommitmentsParameters,
): Promise<GetVoidedCommitmentsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.CommitmentVoided],
    address: contracts.computeLedger,
    eventName: "CommitmentVoided",
    args: { modelId: parameters.modelId, round: parameters.round, worker: parameters.worker },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs.map((l) => {
    const { modelId, round, stage, worker, neighbour, removedUnits } = l.args;
    return { modelId, round, stage, worker, neighbour, removedUnits, ...locationOf(l) };
  });
}
