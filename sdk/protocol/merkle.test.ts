import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { concat, encodeAbiParameters, type Hex, hexToBigInt, keccak256, toHex } from "viem";
import { describe, expect, it } from "vitest";
import {
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
const items: MicrobatchItem[] = [0, 1, 2].map((index) => ({
  index,
  inputActHash: h(`in${index}`),
  outputActHash: h(`out${index}`),
  upstreamGradHash: h(`up${index}`),
  inputGradHash: h(`ig${index}`),
  gradRoot: h(`g${index}`),
  weightsRoot: h(`w${index}`),
}));

/** Independent reimplementation of the documented tree, from the text of PROTOCOL.md alone. */
function referenceRoot(leaves: Hex[]): Hex {
  const sorted = [...leaves].sort((a, b) => (hexToBigInt(a) < hexToBigInt(b) ? -1 : 1));
  const tree: Hex[] = new Array(2 * sorted.length - 1);
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
    expect(tree.root).toBe("0xfeb5082f46e50e9beee39bce27f09f011b145cae89bc15baeff71fdad2b7ed8f");
    expect(itemLeafHash(items[1]!)).toBe("0xf7c2124f8bead7a7678fc5a8b632bf104b5579bded30176e5681b171752c3817");
    expect(tree.proof(1)).toEqual([
      "0x5da48610aa7c8dca383d908e056f3978e20fc56d1fd739df71c857544102d8bb",
      "0xfd1e35deaed9ca5506f425fee40adcd0bb2cb4a712e0788ed684c6c0afc916c6",
    ]);
    const oz = StandardMerkleTree.of(
      items.map((i) => [i.index, i.inputActHash, i.outputActHash, i.upstreamGradHash, i.inputGradHash, i.gradRoot, i.weightsRoot]),
      ["uint32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"],
    );
    expect(tree.root).toBe(oz.root);
    expect(tree.root).toBe(referenceRoot(items.map(itemLeafHash)));
  });

  it("looks proofs up by microbatch index, not position", () => {
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
