import type { Address, Hex } from "viem";
import type { Commitment } from "./commitment.ts";
import type { ItemsTree, MicrobatchItem } from "./merkle.ts";

/** A leaf, the commitment coordinates it belongs to and its proof: what a challenge submits. */
export type CommittedItem = {
  modelId: bigint;
  round: bigint;
  stage: number;
  worker: Address;
  itemsRoot: Hex;
  leaf: MicrobatchItem;
  proof: Hex[];
};

/**
 * Builds the challenge payload of microbatch `index` from a commitment and its items tree.
 *
 * @example
 * const item = committedItem({ commitment, tree: itemsTree(items), index: 3 })
 */
export function committedItem({ commitment, tree, index }: { commitment: Commitment; tree: ItemsTree; index: number }): CommittedItem {
  const leaf = tree.items.find((i) => i.index === index);
  const proof = tree.proof(index);
  return {
    modelId: commitment.modelId,
    round: commitment.round,
    stage: commitment.stage,
    worker: commitment.worker,
    itemsRoot: tree.root,
    leaf: leaf as MicrobatchItem,
    proof,
  };
}
