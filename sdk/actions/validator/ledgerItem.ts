import type { Hex } from "viem";
import type { Commitment } from "../../protocol/commitment.ts";
import { type CommittedItem, committedItem } from "../../protocol/committedItem.ts";
import type { ItemsTree } from "../../protocol/merkle.ts";

/**
 * A committed leaf as the ledger takes it (`challengeItem`, `challengeChainBreak`, `attestItems`):
 * the protocol's `CommittedItem` plus the commitment's weights roots, because the ledger stores one
 * digest of `(itemsRoot, weightsRootBefore, weightsRootAfter)` per commitment.
 */
export type LedgerItem = CommittedItem & { weightsRootBefore: Hex; weightsRootAfter: Hex };

/**
 * Builds the ledger payload of the leaf at slot `index` of a signed commitment and its items tree.
 *
 * @example
 * import { itemsTree, ledgerItem } from "@shardholder/sdk"
 * const item = ledgerItem({ commitment, tree: itemsTree(items), index: 3 })
 */
export function ledgerItem({ commitment, tree, index }: { commitment: Commitment; tree: ItemsTree; index: number }): LedgerItem {
  return {
    ...committedItem({ commitment, tree, index }),
    weightsRootBefore: commitment.weightsRootBefore,
    weightsRootAfter: commitment.weightsRootAfter,
  };
}
