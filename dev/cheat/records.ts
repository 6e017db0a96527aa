import type { Hex } from "viem";
import { buildCommitment } from "../../worker/commit/commitment.ts";
import type { Commitment, MicrobatchItem } from "../../sdk/protocol/index.ts";
import type { ContentStore } from "../../worker/p2p/content.ts";
import type { CommitTamper } from "./miner.ts";

const rebuild = (c: Commitment, items: MicrobatchItem[], over: Partial<Commitment> = {}): Commitment => {
  const built = buildCommitment({ ...c, ...over, items });
  return { ...built, ...over, itemsRoot: built.itemsRoot, itemCount: built.itemCount };
};

/** Replays an earlier round's items (the miner did no work this round) under this round's commitment. */
export function replayItems(earlier: MicrobatchItem[]): CommitTamper {
  return ({ commitment }) => ({ commitment: rebuild(commitment, earlier), items: earlier });
}

/**
 * Copies another miner's outputs: the other miner's items of microbatch `(i + shift) % n` claimed
 * as this miner's item `i` (same index set, so the claim covers the microbatches assigned to it).
 * The copier also serves the copied content (it can fetch it from the victim).
 */
export function copyItems(victim: MicrobatchItem[], shift: number): CommitTamper {
  return ({ commitment, items }) => {
    const n = victim.length;
    const copied = items.map((own, i) => ({
      ...(victim[(i + shift) % n] as MicrobatchItem),
      index: own.index,
      microbatch: own.microbatch,
    }));
    return { commitment: rebuild(commitment, copied), items: copied };
  };
}

/**
 * Commits another worker's commitment verbatim: its items and roots, only `worker` changed to
 * the copier's (the copier serves the copied content too). On stage 0 this claims another
 * pipeline's data, drawn for the victim's address, so re-execution under the copier's own
 * address fails (docs/PROTOCOL.md "Deterministic data").
 */
export function copyCommitment(victim: { commitment: Commitment; items: MicrobatchItem[] }): CommitTamper {
  return ({ commitment }) => ({ commitment: { ...victim.commitment, worker: commitment.worker }, items: victim.items });
}

/**
 * Over-claims: signs the full `itemCount` of the round but builds the items tree over only the first
 * `kept` microbatches (the units of the rest are claimed for work that has no leaf). Its manifest
 * cannot be served (a manifest must hold `itemCount` leaves), so the sampled leaves are demanded
 * on-chain and the miner cannot answer for the missing ones.
 */
export function overclaimItems(kept: number): CommitTamper {
  return ({ commitment, items }) => {
    const few = items.slice(0, kept);
    return { commitment: { ...rebuild(commitment, few), itemCount: items.length }, items: few };
  };
}

/** Claims the work for another model (optionally with that model's registered initial weights root). */
export function otherModel(modelId: bigint, weightsRootBefore?: Hex): CommitTamper {
  return ({ commitment, items }) => ({
    commitment: rebuild(commitment, items, { modelId, ...(weightsRootBefore ? { weightsRootBefore } : {}) }),
    items,
  });
}

/** Claims the work for another round. */
export function otherRound(round: bigint): CommitTamper {
  return ({ commitment, items }) => ({ commitment: rebuild(commitment, items, { round }), items });
}

/** Copies every content entry a victim serves for `items` (and its weights) into the copier's store. */
export function copyContent(from: ContentStore, to: ContentStore, items: MicrobatchItem[]): void {
  for (const i of items) {
    for (const key of [i.inputActHash, i.outputActHash, i.upstreamGradHash, i.inputGradHash]) {
      const bytes = from.get("tensor", key);
      if (bytes) to.put("tensor", key, bytes);
    }
    const g = from.get("gradient", i.gradRoot);
    if (g) to.put("gradient", i.gradRoot, g);
  }
}

/** Refuses to serve the inputs of `items` (activations and upstream gradients) when challenged. */
export function withholdInputs(store: ContentStore, items: MicrobatchItem[]): void {
  for (const i of items) {
    store.withheld.add(i.inputActHash);
    store.withheld.add(i.upstreamGradHash);
  }
}
