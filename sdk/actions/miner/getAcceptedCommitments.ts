import type { Address, Hex } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** A commitment the ledger accepted, as its `CommitmentAccepted` event has it. */
export type AcceptedCommitment = EventLocation & {
  modelId: bigint;
  round: bigint;
  stage: number;
  worker: Address;
  itemsRoot: Hex;
  /** Compute units credited: the commitment's `itemCount` times the stage's units per microbatch. */
  units: bigint;
};

export type GetAcceptedCommitmentsParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round. */
    round?: bigint | undefined;
    /** Only this worker's. */
    worker?: Address | undefined;
    /** Only this stage's (filtered after the query: the stage is not an indexed topic). */
    stage?: number | undefined;
  };

export type GetAcceptedCommitmentsReturnType = AcceptedCommitment[];

export type GetAcceptedCommitmentsErrorType = NoDeploymentError;

/**
 * The commitments the ledger accepted for a model (optionally one round, worker or stage), in
 * chain order, from `CommitmentAccepted` events between the deployment block (or `fromBlock`) and
 * `toBlock`. A commitment later voided or slashed is still listed: it was accepted
 * (`getVoidedCommitments`, `getSlashes`, `getCommitment` tell what became of it).
 *
 * @example
 * import { getAcceptedCommitments } from "@shardholder/sdk"
 * const accepted = await getAcceptedCommitments(client, { deployments, modelId: 1n, round: 3n })
 * // [{ worker: "0x…", stage: 0, itemsRoot: "0x…", units: 12n, round: 3n, blockNumber: 41n, … }]
 */
export async function getAcceptedCommitments(
  client: ShardholderClient,
  parameters: GetAcceptedCommitmentsParameters,
): Promise<GetAcceptedCommitmentsReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const { modelId, round, worker, stage } = parameters;
  const logs = await scanEvents(client, {
    abi: [ledgerAbi.CommitmentAccepted],
    address: contracts.computeLedger,
    eventName: "CommitmentAccepted",
    args: { modelId, round, worker },
    range: scanRange(deployedAtBlock, parameters),
  });
  return logs
    .filter((l) => stage === undefined || l.args.stage === stage)
    .map((l) => {
      const { modelId, round, stage, worker, itemsRoot, units } = l.args;
      return { modelId, round, stage, worker, itemsRoot, units, ...locationOf(l) };
    });
}
