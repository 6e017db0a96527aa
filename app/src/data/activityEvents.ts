// One model's event history, scanned incrementally: the first refresh reads the protocol's events
// from the deployment block, every later one only the blocks after the last it read, appended to
// what it had. The events are append-only, with two exceptions handled here: a reorganised or
// reset chain (the last block read no longer has the hash it had: everything is read again) and a
// dispute's resolution, which comes in a later event than its opening (a still-open dispute is
// read again, from its own block, until it is resolved).
import type { Hash } from "viem";
import { getBlock } from "viem/actions";
import { getDisputes, type OpenedDispute } from "../../../sdk/actions/disputes/getDisputes.ts";
import { getSlashes, type Slash } from "../../../sdk/actions/disputes/getSlashes.ts";
import { type FulfilledInference, getInferenceFulfillments } from "../../../sdk/actions/inference/getInferenceFulfillments.ts";
import { getInferenceRequests, type RequestedInference } from "../../../sdk/actions/inference/getInferenceRequests.ts";
import { type AcceptedCommitment, getAcceptedCommitments } from "../../../sdk/actions/miner/getAcceptedCommitments.ts";
import { getRewardMints, type RewardMint } from "../../../sdk/actions/miner/getRewardMints.ts";
import { getRoundFinalizations, type RoundFinalization } from "../../../sdk/actions/miner/getRoundFinalizations.ts";
import { getVoidedCommitments, type VoidedCommitment } from "../../../sdk/actions/miner/getVoidedCommitments.ts";
import { getAttestations, type ItemAttestation } from "../../../sdk/actions/validator/getAttestations.ts";
import { getValidatorRewardMints, type ValidatorRewardMint } from "../../../sdk/actions/validator/getValidatorRewardMints.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { DisputeStatus } from "../../../sdk/protocol/disputeStatus.ts";
import type { ReadClient } from "../readClient.ts";

/** A block the scan read up to (inclusive), by number and hash. */
export type ScannedBlock = { number: bigint; hash: Hash };

/** Every protocol event of one model up to `through`, in chain order. */
export type ActivityEvents = {
  modelId: bigint;
  through: ScannedBlock;
  accepted: AcceptedCommitment[];
  voided: VoidedCommitment[];
  finals: RoundFinalization[];
  slashes: Slash[];
  /** With each dispute's resolution as of `through`. */
  disputes: OpenedDispute[];
  attestations: ItemAttestation[];
  validatorMints: ValidatorRewardMint[];
  rewardMints: RewardMint[];
  requests: RequestedInference[];
  /** Fulfilments of this model's requests only (the event does not name the model). */
  fulfillments: FulfilledInference[];
};

/**
 * Where the next scan starts: one past `previous.through` when that block still has the hash it
 * had, else from the deployment (`undefined`): no previous scan, another model, a chain reset
 * below it or a reorganisation that replaced it (any replaced block before it changes its hash too).
 */
export async function resumeFrom(
  client: ReadClient,
  modelId: bigint,
  head: ScannedBlock,
  previous: ActivityEvents | undefined,
): Promise<bigint | undefined> {
  if (!previous || previous.modelId !== modelId || previous.through.number > head.number) return undefined;
  const hash =
    previous.through.number === head.number ? head.hash : (await getBlock(client, { blockNumber: previous.through.number })).hash;
  return hash === previous.through.hash ? previous.through.number + 1n : undefined;
}

/** The first block of the earliest dispute still open, if any: its resolution may come in any later block. */
function firstOpenDisputeBlock(disputes: readonly OpenedDispute[]): bigint | undefined {
  return disputes
    .filter((d) => d.status === DisputeStatus.Open)
    .reduce<bigint | undefined>((min, d) => (min === undefined || d.blockNumber < min ? d.blockNumber : min), undefined);
}

/**
 * The events of `modelId` through `head`: read in full, or, when `previous` still holds for this
 * chain, only the blocks after it, appended. Equal to a full scan through `head` either way.
 *
 * @example
 * let events = await scanActivityEvents(client, deployments, 1n, head)          // from the deployment
 * events = await scanActivityEvents(client, deployments, 1n, newHead, events)   // only the new blocks
 */
export async function scanActivityEvents(
  client: ReadClient,
  deployments: Deployments,
  modelId: bigint,
  head: ScannedBlock,
  previous?: ActivityEvents,
): Promise<ActivityEvents> {
  const from = await resumeFrom(client, modelId, head, previous);
  const base = from !== undefined ? previous : undefined;
  if (base && from !== undefined && from > head.number) return base; // no new block
  const q = { deployments, modelId, fromBlock: from, toBlock: head.number };
  // Disputes opened before the earliest open one are resolved for good; that one onwards is read again.
  const reopenFrom = base ? firstOpenDisputeBlock(base.disputes) : undefined;
  const disputesFrom = reopenFrom !== undefined && from !== undefined && reopenFrom < from ? reopenFrom : from;
  const [accepted, voided, finals, slashes, disputes, attestations, validatorMints, rewardMints, requests] = await Promise.all([
    getAcceptedCommitments(client, q),
    getVoidedCommitments(client, q),
    getRoundFinalizations(client, q),
    getSlashes(client, q),
    getDisputes(client, { ...q, fromBlock: disputesFrom }),
    getAttestations(client, q),
    getValidatorRewardMints(client, q),
    getRewardMints(client, q),
    getInferenceRequests(client, q),
  ]);
  const allRequests = [...(base?.requests ?? []), ...requests];
  // A fulfilment follows its request, so none in this range belongs to the model while it has no request.
  const ours = new Set(allRequests.map((r) => r.requestId));
  const fulfillments = ours.size
    ? (await getInferenceFulfillments(client, { deployments, fromBlock: from, toBlock: head.number })).filter((f) => ours.has(f.requestId))
    : [];
  const kept = (base?.disputes ?? []).filter((d) => disputesFrom === undefined || d.blockNumber < disputesFrom);
  return {
    modelId,
    through: head,
    accepted: [...(base?.accepted ?? []), ...accepted],
    voided: [...(base?.voided ?? []), ...voided],
    finals: [...(base?.finals ?? []), ...finals],
    slashes: [...(base?.slashes ?? []), ...slashes],
    disputes: [...kept, ...disputes],
    attestations: [...(base?.attestations ?? []), ...attestations],
    validatorMints: [...(base?.validatorMints ?? []), ...validatorMints],
    rewardMints: [...(base?.rewardMints ?? []), ...rewardMints],
    requests: allRequests,
    fulfillments: [...(base?.fulfillments ?? []), ...fulfillments],
  };
}
