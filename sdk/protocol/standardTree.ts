import { concatHex, type Hex, keccak256 } from "viem";

// OpenZeppelin's `StandardMerkleTree` layout over precomputed leaf hashes, on viem's keccak256:
// the one part of @openzeppelin/merkle-tree the SDK used, whose dependency tree (@metamask/utils,
// @ethereumjs/*, a second copy of @noble/*) would otherwise be most of an app's install.
// sdk/protocol/merkle.test.ts checks roots and proofs against the library itself.

/** OZ `Hashes.commutativeKeccak256`: keccak256 of the two nodes in ascending order. */
export function hashPair(a: Hex, b: Hex): Hex {
  // Lowercase first: equal-length lowercase hex strings order exactly as their bytes do.
  const [x, y] = [a.toLowerCase() as Hex, b.toLowerCase() as Hex];
  return keccak256(x < y ? concatHex([x, y]) : concatHex([y, x]));
}

/** A tree over leaf hashes; `proof(position)` takes the leaf's position in the input, not in the tree. */
export type StandardTree = { root: Hex; proof(position: number): Hex[] };

/**
 * Builds the tree `StandardMerkleTree.of` builds from the same leaves: leaves sorted by hash
 * (stable), stored from the end of an array of `2n - 1` nodes, node `i` = hashPair(`2i + 1`,
 * `2i + 2`), root at 0.
 */
export function standardTree(leafHashes: readonly Hex[]): StandardTree {
  if (leafHashes.length === 0) throw new Error("standardTree: no leaves");
  const sorted = leafHashes
    .map((hash, position) => ({ hash: hash.toLowerCase() as Hex, position }))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const tree: Hex[] = new Array<Hex>(2 * sorted.length - 1);
  const treeIndexOf = new Array<number>(sorted.length);
  sorted.forEach(({ hash, position }, i) => {
    tree[tree.length - 1 - i] = hash;
    treeIndexOf[position] = tree.length - 1 - i;
  });
  for (let i = tree.length - 1 - sorted.length; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1] as Hex, tree[2 * i + 2] as Hex);
  return {
    root: tree[0] as Hex,
    proof(position) {
      let i = treeIndexOf[position];
      if (i === undefined) throw new Error(`standardTree: no leaf at position ${position}`);
      const proof: Hex[] = [];
      for (; i > 0; i = Math.floor((i - 1) / 2)) proof.push(tree[i % 2 === 1 ? i + 1 : i - 1] as Hex);
      return proof;
    },
  };
}

/** OZ `MerkleProof.processProof`: the root a leaf and its proof lead to. */
export function processProof(leaf: Hex, proof: readonly Hex[]): Hex {
  return proof.reduce(hashPair, leaf);
}
