import { type Address, getAddress, type Hex, keccak256, toHex, zeroAddress } from "viem";
import { describe, expect, it } from "vitest";
import { type Commitment, itemsTree, type MicrobatchItem } from "../../sdk/protocol/index.ts";
import { duplicateProof, isLinked, type ServedCommitment, signedLookup, unlinkedProof } from "./links.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const [A, B, C, X] = [addr(0xa), addr(0xb), addr(0xc), addr(0xdead)];

function items(tag: string): MicrobatchItem[] {
  return [0, 1].map((index) => ({ index, inputActHash: h(`in ${tag} ${index}`), outputActHash: h(`out ${tag} ${index}`), upstreamGradHash: h("u"), inputGradHash: h("g"), gradRoot: h(`r ${tag} ${index}`), weightsRoot: h(`w ${tag}`) }));
}

function served(stage: number, worker: Address, upstream: Address, downstream: Address, tag: string): ServedCommitment {
  const leaves = items(tag);
  const commitment: Commitment = { modelId: 1n, round: 0n, stage, worker, itemsRoot: itemsTree(leaves).root, itemCount: 2, weightsRootBefore: h("b"), weightsRootAfter: h("a"), upstream, downstream };
  return { c: { worker, stage }, m: { commitment, signature: "0x", items: leaves } };
}

describe("pipeline link evidence a validator submits", () => {
  // A (stage 0) feeds B (stage 1); C claims B's work.
  const up = served(0, A, zeroAddress, B, "stage0");
  const original = served(1, B, A, zeroAddress, "stage1");

  it("finds the unlinked proof of a verbatim copy, and none for the linked original", () => {
    const copy = served(1, C, A, zeroAddress, "stage1");
    const signed = signedLookup([up, original, copy]);
    expect(isLinked(up.m.commitment, original.m.commitment)).toBe(true);
    expect(unlinkedProof(original.m.commitment, signed)).toBeUndefined();
    expect(unlinkedProof(copy.m.commitment, signed)).toEqual({ neighbour: up.m.commitment, partner: original.m.commitment });
  });

  it("a neighbour that names a made-up worker voids nobody", () => {
    const liar = served(0, A, zeroAddress, X, "stage0");
    expect(unlinkedProof(original.m.commitment, signedLookup([liar, original]))).toBeUndefined();
  });

  it("finds the duplicate proof of a copy under a made-up upstream, never against the original", () => {
    const copy = served(1, C, X, zeroAddress, "stage1");
    const all = [up, original, copy];
    const accepted = all.map((s) => s.c);
    const signed = signedLookup(all);
    expect(unlinkedProof(copy.m.commitment, signed)).toBeUndefined();
    const proof = duplicateProof(copy, all, accepted, signed);
    expect(proof?.copy.worker).toBe(C);
    expect(proof?.original.worker).toBe(B);
    expect(proof?.originalUpstream).toEqual(up.m.commitment);
    expect(proof?.copyUpstream).toBeUndefined();
    expect(duplicateProof(original, all, accepted, signed)).toBeUndefined();
    // Its upstream committed but its manifest was not served: nothing can be shown about what it names.
    expect(duplicateProof(copy, all, [...accepted, { worker: X, stage: 0 }], signed)).toBeUndefined();
  });
});
