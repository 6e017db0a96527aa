import { type Address, type Hex, isAddressEqual } from "viem";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import type { NoDeploymentError } from "../../errors/sdk.ts";
import type { MicrobatchItem } from "../../protocol/merkle.ts";
import { type DeploymentsParameter, resolveDeployments, type ShardholderClient } from "../internal/client.ts";
import { type BlockRangeParameters, type EventLocation, locationOf, scanEvents, scanRange } from "../internal/scan.ts";

/**
 * Where a demand stands by the end of the scan: `open` (no answer yet; past its `deadline` anyone
 * may `slashUnavailable`), `answered` (`revealItem`, `ItemRevealed`) or `slashed`
 * (`slashUnavailable`, `AvailabilitySlashed`).
 */
export type AvailabilityChallengeStatus = "open" | "answered" | "slashed";

/** A data-availability demand, as its `AvailabilityChallenged` event has it, with its outcome. */
export type AvailabilityChallenge = EventLocation & {
  challengeId: bigint;
  modelId: bigint;
  round: bigint;
  stage: number;
  /** The demanded slot of the worker's commitment (its leaf at that slot is revealed). */
  index: number;
  worker: Address;
  challenger: Address;
  bondWei: bigint;
  /** Unix time after which an unanswered demand can be slashed. */
  deadline: bigint;
  status: AvailabilityChallengeStatus;
  /** The revealed leaf when `answered`. */
  revealed: { itemsRoot: Hex; leaf: MicrobatchItem } | undefined;
  /** The answer or slash, when the demand is closed. */
  closed: EventLocation | undefined;
};

export type GetAvailabilityChallengesParameters = DeploymentsParameter &
  BlockRangeParameters & {
    modelId: bigint;
    /** Only this round's. */
    round?: bigint | undefined;
    /** Only this challenge. */
    challengeId?: bigint | undefined;
    /** Only demands of this worker's leaves (filtered after the query: not an indexed topic). */
    worker?: Address | undefined;
  };

export type GetAvailabilityChallengesReturnType = AvailabilityChallenge[];

export type GetAvailabilityChallengesErrorType = NoDeploymentError;

/**
 * The availability demands on a model's commitments (`challengeAvailability`: publish leaf
 * `index` on-chain before `deadline` or be slashed), opened between the deployment block (or
 * `fromBlock`) and `toBlock`, in chain order, each with its outcome by `toBlock`.
 *
 * @example
 * import { getAvailabilityChallenges } from "@shardholder/sdk"
 * const demands = await getAvailabilityChallenges(client, { deployments, modelId: 1n, worker })
 * const toAnswer = demands.filter((d) => d.status === "open")
 */
export async function getAvailabilityChallenges(
  client: ShardholderClient,
  parameters: GetAvailabilityChallengesParameters,
): Promise<GetAvailabilityChallengesReturnType> {
  const { contracts, deployedAtBlock } = await resolveDeployments(client, parameters.deployments);
  const range = scanRange(deployedAtBlock, parameters);
  const ledger = { abi: computeLedgerAbi, address: contracts.computeLedger } as const;
  const { challengeId, modelId, round, worker: only } = parameters;
  const logs = await scanEvents(client, { ...ledger, eventName: "AvailabilityChallenged", args: { challengeId, modelId, round }, range });
  const opened = logs.filter((l) => only === undefined || isAddressEqual(l.args.worker, only));
  const first = opened[0];
  if (!first) return [];
  // Answers and slashes are indexed by challenge id (and worker), not by model: one scan of each
  // from the first demand on, matched here, rather than a topic filter listing every id.
  const closing = { args: { challengeId, worker: only }, range: { ...range, fromBlock: first.blockNumber } };
  const [answers, slashes] = await Promise.all([
    scanEvents(client, { ...ledger, eventName: "ItemRevealed", ...closing }),
    scanEvents(client, { ...ledger, eventName: "AvailabilitySlashed", ...closing }),
  ]);
  const answered = new Map(answers.map((l) => [l.args.challengeId, l]));
  const slashed = new Map(slashes.map((l) => [l.args.challengeId, l]));
  return opened.map((l) => {
    const { challengeId, modelId, round, stage, index, worker, challenger, bondWei, deadline } = l.args;
    const answer = answered.get(challengeId);
    const closedBy = answer ?? slashed.get(challengeId);
    return {
      challengeId,
      modelId,
      round,
      stage,
      index,
      worker,
      challenger,
      bondWei,
      deadline: BigInt(deadline),
      status: answer ? "answered" : closedBy ? "slashed" : "open",
      revealed: answer ? { itemsRoot: answer.args.itemsRoot, leaf: answer.args.leaf } : undefined,
      closed: closedBy ? locationOf(closedBy) : undefined,
      ...locationOf(l),
    };
  });
}
