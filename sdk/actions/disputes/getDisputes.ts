import type { Address } from "viem";
import * as ledgerAbi from "../../abi/items/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import { type DisputeKind, DisputeStatus, toDisputeKind, toDisputeStatus } from "../../protocol/disputeStatus.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/** How a dispute ended, as its `DisputeResolved` event has it. */
export type DisputeResolution = EventLocation & {
  status: DisputeStatus;
  /** Seats of the last committee that voted fraud / honest. */
  fraudSeats: number;
  honestSeats: number;
};

/** A dispute as its `DisputeOpened` event has it, with its resolution when there is one by `toBlock`. */
export type OpenedDispute = EventLocation & {
  disputeId: bigint;
  modelId: bigint;
  round: bigint;
  kind: DisputeKind;
  /** The worker whose leaf is challenged (Item) or the stage-s worker (ChainBreak). */
  accused: Address;
  /** The stage-(s+1) worker of a ChainBreak; the zero address for an Item dispute. */
  counterparty: Address;
  challenger: Address;
  bondWei: bigint;
  /** Block whose hash seeds the first committee. */
  drawBlock: bigint;
  /** `Open` until a `DisputeResolved` event at or before `toBlock`, then its outcome. */
  status: DisputeStatus;
  resolution: DisputeResolution | undefined;
};

export type GetDisputesParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round's. */
    round?: bigint | undefined;
    /** Only this dispute. */
    disputeId?: bigint | undefined;
  };

export type GetDisputesReturnType = OpenedDispute[];

export type GetDisputesErrorType = NoDeploymentError;

/**
 * The disputes opened on a model (optionally one round or one dispute) between the deployment
 * block (or `fromBlock`) and `toBlock`, in chain order, each with how it was resolved by
 * `toBlock`: `DisputeOpened` events joined with the `DisputeResolved` ones. `getDispute` reads a
 * dispute's live state (committee level, votes, deadlines).
 *
 * @example
 * import { DisputeStatus, getDisputes } from "@shardholder/sdk"
 * const disputes = await getDisputes(client, { deployments, modelId: 1n, round: 3n })
 * const open = disputes.filter((d) => d.status === DisputeStatus.Open)
 */
export async function getDisputes(client: ShardholderClient, parameters: GetDisputesParameters): Promise<GetDisputesReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const range = scanRange(deployedAtBlock, parameters);
  const ledger = { abi: [ledgerAbi.DisputeOpened, ledgerAbi.DisputeResolved], address: contracts.computeLedger } as const;
  const { disputeId, modelId, round } = parameters;
  const opened = await scanEvents(client, { ...ledger, eventName: "DisputeOpened", args: { disputeId, modelId, round }, range });
  const first = opened[0];
  if (!first) return [];
  // `DisputeResolved` is indexed by dispute id only: one scan from the first opening, matched
  // here, instead of a topic filter listing every id (nodes cap how many topics a filter holds).
  const resolved = await scanEvents(client, {
    ...ledger,
    eventName: "DisputeResolved",
    args: { disputeId },
    range: { ...range, fromBlock: first.blockNumber },
  });
  const resolutions = new Map(resolved.map((l) => [l.args.disputeId, resolutionOf(l)]));
  return opened.map((l) => {
    const { disputeId, modelId, round, kind, accused, counterparty, challenger, bondWei, drawBlock } = l.args;
    const resolution = resolutions.get(disputeId);
    return {
      disputeId,
      modelId,
      round,
      kind: toDisputeKind(kind),
      accused,
      counterparty,
      challenger,
      bondWei,
      drawBlock,
      status: resolution?.status ?? DisputeStatus.Open,
      resolution,
      ...locationOf(l),
    };
  });
}

function resolutionOf(l: EventLocation & { args: { status: number; fraudSeats: number; honestSeats: number } }): DisputeResolution {
  const { status, fraudSeats, honestSeats } = l.args;
  return { status: toDisputeStatus(status), fraudSeats, honestSeats, ...locationOf(l) };
}
