import type { Logger } from "pino";
import type { Address, PublicClient } from "viem";
import { revealItem } from "../../sdk/actions/disputes/availability.ts";
import { getAvailabilityChallenges } from "../../sdk/actions/disputes/getAvailabilityChallenges.ts";
import { getAcceptedCommitments } from "../../sdk/actions/miner/getAcceptedCommitments.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import { ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { itemsTree } from "../../sdk/protocol/index.ts";
import { ComputeLedgerAvailabilityNotOpenError } from "../../sdk/errors/contractErrors.ts";
import { type ContentStore, decodeManifest } from "../p2p/content.ts";
import { pollUntilStopped } from "./poll.ts";

export type AnswerAvailabilityParameters = {
  wallet: ShardholderClient & { account: { address: Address } };
  publicClient: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  /** The staking identity whose commitments are demanded. */
  worker: Address;
  /** Where the miner's signed manifests are (by `itemsRoot`). */
  store: ContentStore;
  logger?: Logger | undefined;
};

/** What one pass over the open availability challenges did. */
export type AvailabilityAnswers = { answered: bigint[]; unanswerable: bigint[] };

/**
 * Answers every open availability challenge against `worker` (`AvailabilityChallenged` with a
 * deadline still ahead) with the demanded leaf and its proof from the miner's own manifest, so an
 * honest miner is never slashed for data it holds. A challenge whose leaf the miner does not hold
 * (its manifest is gone, or the index is not in it) is reported as unanswerable.
 */
export async function answerAvailabilityChallenges(
  p: AnswerAvailabilityParameters,
  answeredBefore: Set<bigint>,
): Promise<AvailabilityAnswers> {
  const demands = await getAvailabilityChallenges(p.publicClient, { deployments: p.deployments, modelId: p.modelId, worker: p.worker });
  const now = (await p.publicClient.getBlock()).timestamp;
  const out: AvailabilityAnswers = { answered: [], unanswerable: [] };
  for (const { challengeId, round, stage, index, deadline, status } of demands) {
    // Answered (by anyone) or slashed already: nothing left to answer.
    if (status !== "open" || answeredBefore.has(challengeId) || deadline < now) continue;
    const manifest = await findManifest(p, round, stage);
    if (!manifest || !manifest.items.some((i) => i.index === index)) {
      out.unanswerable.push(challengeId);
      answeredBefore.add(challengeId);
      p.logger?.error(
        { challengeId: challengeId.toString(), round: round.toString(), index },
        "availability challenge for a leaf this miner does not hold",
      );
      continue;
    }
    try {
      await revealItem(p.wallet, {
        deployments: p.deployments,
        challengeId,
        item: ledgerItem({ commitment: manifest.commitment, tree: itemsTree(manifest.items), index }),
      });
      out.answered.push(challengeId);
      p.logger?.info({ challengeId: challengeId.toString(), round: round.toString(), index }, "answered availability challenge");
    } catch (err) {
      // Answered by someone else, or settled, meanwhile.
      if (!(err instanceof ComputeLedgerAvailabilityNotOpenError)) throw err;
    }
    answeredBefore.add(challengeId);
  }
  return out;
}

/** The miner's own manifest of its (round, stage) commitment: the accepted `itemsRoot` looked up in its store. */
async function findManifest(p: AnswerAvailabilityParameters, round: bigint, stage: number) {
  const [accepted] = await getAcceptedCommitments(p.publicClient, {
    deployments: p.deployments,
    modelId: p.modelId,
    round,
    worker: p.worker,
    stage,
  });
  const itemsRoot = accepted?.itemsRoot;
  const bytes = itemsRoot ? p.store.get("items", itemsRoot) : undefined;
  return bytes ? decodeManifest(bytes) : undefined;
}

/**
 * Answers availability challenges against the miner every `pollMs` until `stop()`: the miner's
 * side of the data-availability game, run beside training and while it keeps serving. A failed
 * pass (an RPC hiccup) is logged and retried on the next one.
 */
export function watchAvailabilityChallenges(p: AnswerAvailabilityParameters & { pollMs: number }): { stop: () => Promise<void> } {
  const answered = new Set<bigint>();
  return pollUntilStopped(
    () => answerAvailabilityChallenges(p, answered),
    p.pollMs,
    (err) =>
      p.logger?.warn(
        { error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
        "availability check failed; retrying",
      ),
  );
}
