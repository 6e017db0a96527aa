import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { type Address, concat, encodeAbiParameters, getAddress, type Hex, hexToBigInt, keccak256, toHex, zeroAddress } from "viem";
import { describe, expect, it } from "vitest";
import {
  assignSlots,
  CHUNK_SIZE,
  chunkLeafHash,
  chunkTree,
  gradientChunks,
  gradRoot,
  itemLeafHash,
  itemsTree,
  type MicrobatchItem,
  MerkleInputError,
  verifyChunkProof,
  verifyItemProof,
  weightChunks,
  weightsRoot,
} from "./merkle.ts";
import { quantizeInt8 } from "./tensorBytes.ts";

const sine = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i) * 0.01);
const h = (s: string) => keccak256(toHex(s));
const UPSTREAM: Address = "0x00000000000000000000000000000000000000b0";
const DOWNSTREAM: Address = "0x00000000000000000000000000000000000000c0";
/** The documented vector (docs/PROTOCOL.md "Test vectors"): slots 0..2, microbatch = slot. */
const items: MicrobatchItem[] = [0, 1, 2].map((index) => ({
  index,
  microbatch: index,
  inputActHash: h(`in${index}`),
  outputActHash: h(`out${index}`),
  upstreamGradHash: h(`up${index}`),
  inputGradHash: h(`ig${index}`),
  gradRoot: h(`g${index}`),
  weightsRoot: h(`w${index}`),
  upstream: UPSTREAM,
  downstream: DOWNSTREAM,
}));

/** The ten leaf values in Solidity's `ItemLeaf` order, as `abi.encode(leaf)` takes them. */
const leafAbi = [
  { type: "uint32" },
  { type: "uint32" },
  { type: "bytes32" },
  { type: "bytes32" },
  { type: "bytes32" },
  { type: "bytes32" },
  { type: "bytes32" },
  { type: "bytes32" },
  { type: "address" },
  { type: "address" },
] as const;
const leafValues = (i: MicrobatchItem) =>
  [
    i.index,
    i.microbatch,
    i.inputActHash,
    i.outputActHash,
    i.upstreamGradHash,
    i.inputGradHash,
    i.gradRoot,
    i.weightsRoot,
    i.upstream,
    i.downstream,
  ] as const;

/** Independent reimplementation of the documented tree, from the text of PROTOCOL.md alone. */
function referenceRoot(leaves: Hex[]): Hex {
  const sorted = [...leaves].sort((a, b) => (hexToBigInt(a) < hexToBigInt(b) ? -1 : 1));
  const tree = new Array<Hex>(2 * sorted.length - 1);
  sorted.forEach((leaf, i) => {
    tree[tree.length - 1 - i] = leaf;
  });
  for (let i = tree.length - 1 - sorted.length; i >= 0; i--) {
    const [a, b] = [tree[2 * i + 1] as Hex, tree[2 * i + 2] as Hex];
    tree[i] = keccak256(hexToBigInt(a) < hexToBigInt(b) ? concat([a, b]) : concat([b, a]));
  }
  return tree[0] as Hex;
}

describe("chunk trees", () => {
  it("cuts vectors into CHUNK_SIZE runs with the documented byte layout", () => {
    const v = sine(2 * CHUNK_SIZE + 1808);
    const w = weightChunks(v);
    expect(w.map((c) => c.bytes.length)).toEqual([4 * CHUNK_SIZE, 4 * CHUNK_SIZE, 4 * 1808]);
    expect(new DataView(w[1]!.bytes.buffer).getFloat32(0, true)).toBe(v[CHUNK_SIZE]);
    const g = gradientChunks(v);
    expect(g.map((c) => c.bytes.length)).toEqual([4 + CHUNK_SIZE, 4 + CHUNK_SIZE, 4 + 1808]);
    const { scale, q } = quantizeInt8(v.subarray(2 * CHUNK_SIZE));
    expect(new DataView(g[2]!.bytes.buffer).getFloat32(0, true)).toBe(scale);
    expect(new Int8Array(g[2]!.bytes.buffer, 4)).toEqual(q);
    expect(g[2]!.hash).toBe(keccak256(g[2]!.bytes));
  });

  it("matches the fixed vectors (10000 values sin(i)*0.01)", () => {
    const v = sine(10_000);
    expect(weightsRoot(v)).toBe("0xb8c2760a078b6666097353589ec06100d56440f329d1c1454bde656a57aba69d");
    expect(gradRoot(v)).toBe("0x251ae9e4237776234c7a9fa583084812132448dee96396f94dce896134e17edb");
    expect(chunkLeafHash(0, keccak256("0x"))).toBe("0xd87e8d88723319551a3dedead50eaae952cdc5e4cfb3d85b55f70445dddac468");
  });

  it("equals an independent reimplementation of the documented tree for 1..9 chunks", () => {
    for (let chunks = 1; chunks <= 9; chunks++) {
      const tree = chunkTree(weightChunks(sine(chunks * CHUNK_SIZE - 3)));
      const leaves = tree.chunks.map((c) =>
        keccak256(keccak256(encodeAbiParameters([{ type: "uint32" }, { type: "bytes32" }], [c.index, c.hash]))),
      );
      expect(tree.chunks.map((c) => tree.leafHash(c.index))).toEqual(leaves);
      expect(tree.root).toBe(referenceRoot(leaves));
    }
  });

  it("proves every chunk and rejects a tampered chunk or proof", () => {
    const tree = chunkTree(gradientChunks(sine(5 * CHUNK_SIZE)));
    for (const c of tree.chunks) expect(verifyChunkProof(tree.root, c, tree.proof(c.index))).toBe(true);
    const proof = tree.proof(2);
    expect(verifyChunkProof(tree.root, { index: 3, hash: tree.chunks[2]!.hash }, proof)).toBe(false);
    expect(verifyChunkProof(tree.root, { index: 2, hash: h("other") }, proof)).toBe(false);
    expect(verifyChunkProof(tree.root, tree.chunks[2]!, [...proof.slice(1), proof[0]!])).toBe(false);
  });

  it("changes the gradient root when one element moves by more than half a quantization step", () => {
    const v = sine(CHUNK_SIZE + 10);
    const before = gradRoot(v);
    v[CHUNK_SIZE + 3] = (v[CHUNK_SIZE + 3] as number) + 0.001;
    expect(gradRoot(v)).not.toBe(before);
  });

  it("rejects an empty vector", () => {
    expect(() => weightsRoot(new Float32Array(0))).toThrow(MerkleInputError);
  });
});

describe("items tree", () => {
  it("matches the fixed vector and OpenZeppelin's StandardMerkleTree", () => {
    const tree = itemsTree(items);
    expect(tree.root).toBe("0xeabe286009d649cdb7ce196b76d9db9531468f9bbb8379008ef7de9e75c3905a");
    expect(itemLeafHash(items[1]!)).toBe("0x403ee950eacfc2e320ac35f0569106272294347ad220f2b3318cd5b096f9f63f");
    expect(tree.proof(1)).toEqual([
      "0x0269d2c5abd354763789bd8f1eeb52539e3ea66bf26594b9956b2a82cc714b02",
      "0xe7fc1aae0b432f7306426cec4665a0e93128739697061f07a37a48d55652c214",
    ]);
    const oz = StandardMerkleTree.of(
      items.map((i) => [...leafValues(i)]),
      ["uint32", "uint32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address", "address"],
    );
    expect(tree.root).toBe(oz.root);
    for (const i of items) expect(tree.proof(i.index)).toEqual(oz.getProof(i.index));
    expect(tree.root).toBe(referenceRoot(items.map(itemLeafHash)));
  });

  it("hashes a leaf as Solidity's keccak256(bytes.concat(keccak256(abi.encode(leaf)))), slot and microbatch and both neighbours included", () => {
    // Slot 1 of a replica that holds microbatches 2 and 5 of the round, between two real neighbours.
    const leaf: MicrobatchItem = {
      ...items[2]!,
      index: 1,
      microbatch: 5,
      upstream: getAddress("0x1111111111111111111111111111111111111111"),
      downstream: getAddress("0x2222222222222222222222222222222222222222"),
    };
    const expected = keccak256(keccak256(encodeAbiParameters(leafAbi, leafValues(leaf))));
    expect(itemLeafHash(leaf)).toBe(expected);
    // abi.encode of a static struct: ten 32-byte words, in the declared order.
    const encoded = encodeAbiParameters(leafAbi, leafValues(leaf));
    expect((encoded.length - 2) / 64).toBe(10);
    expect(BigInt(`0x${encoded.slice(2, 66)}`)).toBe(1n); // index (slot)
    expect(BigInt(`0x${encoded.slice(66, 130)}`)).toBe(5n); // microbatch
    expect(`0x${encoded.slice(2 + 8 * 64 + 24, 2 + 9 * 64)}`).toBe(leaf.upstream.toLowerCase());
    expect(`0x${encoded.slice(2 + 9 * 64 + 24)}`).toBe(leaf.downstream.toLowerCase());
    // Every field is bound: swapping slot and microbatch, or either neighbour, changes the leaf.
    expect(itemLeafHash({ ...leaf, index: 5, microbatch: 1 })).not.toBe(expected);
    expect(itemLeafHash({ ...leaf, upstream: leaf.downstream, downstream: leaf.upstream })).not.toBe(expected);
    expect(itemLeafHash({ ...leaf, downstream: zeroAddress })).not.toBe(expected);
    const tree = itemsTree([{ ...items[0]!, microbatch: 2 }, leaf]);
    expect(verifyItemProof(tree.root, leaf, tree.proof(1))).toBe(true);
    expect(verifyItemProof(tree.root, { ...leaf, microbatch: 1 }, tree.proof(1))).toBe(false);
  });

  it("looks proofs up by slot, not position", () => {
    const shuffled = [items[2]!, { ...items[0]!, index: 40 }, items[1]!];
    const tree = itemsTree(shuffled);
    expect(verifyItemProof(tree.root, shuffled[1]!, tree.proof(40))).toBe(true);
    expect(tree.leafHash(40)).toBe(itemLeafHash(shuffled[1]!));
    expect(verifyItemProof(tree.root, { ...shuffled[1]!, gradRoot: h("x") }, tree.proof(40))).toBe(false);
    expect(() => tree.proof(0)).toThrow(/no item with index 0/);
  });

  it("rejects duplicate indices and empty sets", () => {
    expect(() => itemsTree([items[0]!, items[0]!])).toThrow(/duplicate/);
    expect(() => itemsTree([])).toThrow(MerkleInputError);
  });
});

describe("assignSlots", () => {
  const held = (microbatch: number) => {
    const { index: _slot, ...rest } = items[microbatch % 3]!;
    return { ...rest, microbatch, inputActHash: h(`in mb ${microbatch}`) };
  };

  it("sorts a replica's microbatches ascending and gives slots 0..n-1 in that order, keeping every field", () => {
    const input = [held(9), held(2), held(5), held(7)];
    const slotted = assignSlots(input);
    expect(slotted.map((i) => [i.index, i.microbatch])).toEqual([
      [0, 2],
      [1, 5],
      [2, 7],
      [3, 9],
    ]);
    expect(slotted.map((i) => i.inputActHash)).toEqual([2, 5, 7, 9].map((m) => h(`in mb ${m}`)));
    expect(slotted[3]).toEqual({ ...input[0], index: 3 });
    // The input is left as it was.
    expect(input.map((i) => i.microbatch)).toEqual([9, 2, 5, 7]);
    // A worker holding every microbatch gets slot == microbatch.
    expect(assignSlots([held(2), held(0), held(1)]).every((i) => i.index === i.microbatch)).toBe(true);
    // Re-assigning overwrites stale slots.
    expect(
      assignSlots([
        { ...held(4), index: 7 },
        { ...held(3), index: 0 },
      ]).map((i) => [i.index, i.microbatch]),
    ).toEqual([
      [0, 3],
      [1, 4],
    ]);
    // Slots are what the tree proves by.
    const tree = itemsTree(slotted);
    expect(verifyItemProof(tree.root, slotted[2]!, tree.proof(2))).toBe(true);
    expect(assignSlots([])).toEqual([]);
  });

  it("refuses a microbatch listed twice, even with different contents", () => {
    expect(() => assignSlots([held(3), held(1), { ...held(3), gradRoot: h("other") }])).toThrow(MerkleInputError);
    expect(() => assignSlots([held(3), held(1), held(3)])).toThrow(/microbatch 3 listed twice/);
  });
});

describe("the tree layout without @openzeppelin/merkle-tree (sdk/protocol/standardTree.ts)", () => {
  it("builds OpenZeppelin's roots and proofs for 1 to 17 leaves", () => {
    for (let n = 1; n <= 17; n++) {
      const chunks = Array.from({ length: n }, (_, index) => ({ index, hash: h(`chunk ${index}`), bytes: new Uint8Array() }));
      const ours = chunkTree(chunks);
      const oz = StandardMerkleTree.of(
        chunks.map((c) => [c.index, c.hash]),
        ["uint32", "bytes32"],
      );
      expect(ours.root, `${n} leaves`).toBe(oz.root);
      for (const c of chunks) {
        expect(ours.proof(c.index)).toEqual(oz.getProof(c.index));
        expect(verifyChunkProof(ours.root, c, ours.proof(c.index))).toBe(true);
      }
    }
  });
});
