import { type Address, encodeAbiParameters, type Hex, keccak256, parseAbiParameters } from "viem";
import { BaseError } from "../errors/base.ts";
import { processProof, standardTree } from "./standardTree.ts";
import { quantizeInt8 } from "./tensorBytes.ts";

/** Elements per chunk of a weight or gradient vector (the last chunk may be shorter). */
export const CHUNK_SIZE = 4096;

/** Float32Array's own byte order is the canonical one (LE) on this machine: chunks copy bytes as they are. */
const LITTLE_ENDIAN = /*#__PURE__*/ new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** ABI types of a chunk-tree leaf: `(uint32 chunkIndex, bytes32 keccak256(chunkBytes))`. */
export const chunkLeafTypes = ["uint32", "bytes32"] as const;

/** ABI types of a microbatch-item leaf, in the order of {@link MicrobatchItem}'s fields. */
export const itemLeafTypes = ["uint32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"] as const;

/**
 * keccak256 of bytes. Every function that hashes chunks takes one (default: viem's `keccak256`), so
 * a worker hashing megabytes a step can pass a faster implementation of the same function.
 */
export type Keccak256Bytes = (bytes: Uint8Array) => Hex;

/** One chunk of a flattened parameter (or gradient) vector, with the bytes that were hashed. */
export type Chunk = { index: number; bytes: Uint8Array; hash: Hex };

/** A Merkle tree over chunks; `proof(i)` proves chunk `i` against `root` (OZ `MerkleProof`). */
export type ChunkTree = {
  root: Hex;
  chunks: Chunk[];
  leafHash(index: number): Hex;
  proof(index: number): Hex[];
};

/** One microbatch's commitment leaf (docs/PROTOCOL.md, "Microbatch items"). */
export type MicrobatchItem = {
  /** The leaf's slot in `[0, itemCount)`; slots ascend with `microbatch` ({@link assignSlots}). */
  index: number;
  /** The round's microbatch it trained (`floor(microbatch / microbatchesPerStep)` is its step). */
  microbatch: number;
  inputActHash: Hex;
  outputActHash: Hex;
  upstreamGradHash: Hex;
  inputGradHash: Hex;
  gradRoot: Hex;
  /**
   * Weights root of the stage's parameters the microbatch ran on: those at the start of its
   * optimizer step (step `microbatch / microbatchesPerStep` of the round; step 0 starts from the
   * commitment's `weightsRootBefore`).
   */
  weightsRoot: Hex;
  /** The stage-(s-1) worker it received the activations from (zero at stage 0). */
  upstream: Address;
  /** The stage-(s+1) worker it sent them to (zero at the last stage). */
  downstream: Address;
};

/** A Merkle tree over microbatch items; `proof(index)` takes the item's slot `index`. */
export type ItemsTree = {
  root: Hex;
  items: readonly MicrobatchItem[];
  leafHash(index: number): Hex;
  proof(index: number): Hex[];
};

/** Thrown for inputs a tree cannot be built from (empty vectors, duplicate item indices). */
export class MerkleInputError extends BaseError {
  constructor(reason: string) {
    super(`Cannot build the Merkle tree: ${reason}.`, { name: "MerkleInputError" });
  }
}

const chunkLeafAbi = /*#__PURE__*/ parseAbiParameters("uint32, bytes32");
const itemLeafAbi = /*#__PURE__*/ parseAbiParameters(
  "uint32, uint32, bytes32, bytes32, bytes32, bytes32, bytes32, bytes32, address, address",
);

type ItemLeaf = [number, number, Hex, Hex, Hex, Hex, Hex, Hex, Address, Address];

function chunkRanges(length: number): Array<[number, number]> {
  if (length === 0) throw new MerkleInputError("the vector is empty");
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < length; start += CHUNK_SIZE) ranges.push([start, Math.min(start + CHUNK_SIZE, length)]);
  return ranges;
}

/**
 * Weight chunks: the float32 LE bytes of each run of {@link CHUNK_SIZE} values.
 *
 * @example
 * const chunks = weightChunks(stageParams) // chunks[i].bytes.length === 4 * 4096 except the last
 */
export function weightChunks(values: Float32Array, hash: Keccak256Bytes = keccak256): Chunk[] {
  return chunkRanges(values.length).map(([start, end], index) => {
    const slice = values.slice(start, end);
    let bytes: Uint8Array;
    if (LITTLE_ENDIAN) bytes = new Uint8Array(slice.buffer);
    else {
      bytes = new Uint8Array(slice.length * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < slice.length; i++) view.setFloat32(4 * i, slice[i] as number, true);
    }
    return { index, bytes, hash: hash(bytes) };
  });
}

/**
 * Gradient chunks: each run of {@link CHUNK_SIZE} values quantized on its own (int8, one scale),
 * serialized as `f32 LE scale` followed by the int8 values.
 *
 * @example
 * const chunks = gradientChunks(stageGrads) // chunks[i].bytes.length === 4 + 4096 except the last
 */
export function gradientChunks(values: Float32Array, hash: Keccak256Bytes = keccak256): Chunk[] {
  return chunkRanges(values.length).map(([start, end], index) => {
    const { scale, q } = quantizeInt8(values.subarray(start, end));
    const bytes = new Uint8Array(4 + q.length);
    new DataView(bytes.buffer).setFloat32(0, scale, true);
    bytes.set(new Uint8Array(q.buffer, q.byteOffset, q.byteLength), 4);
    return { index, bytes, hash: hash(bytes) };
  });
}

/**
 * Leaf of chunk `index`: `keccak256(keccak256(abi.encode(uint32 index, bytes32 chunkHash)))`.
 *
 * @example
 * const leaf = chunkLeafHash(0, chunks[0].hash)
 */
export function chunkLeafHash(index: number, chunkHash: Hex): Hex {
  return keccak256(keccak256(encodeAbiParameters(chunkLeafAbi, [index, chunkHash])));
}

/** Builds the chunk tree (leaves sorted by hash, as OZ `StandardMerkleTree` does). */
export function chunkTree(chunks: Chunk[]): ChunkTree {
  if (chunks.length === 0) throw new MerkleInputError("no chunks");
  chunks.forEach((c, i) => {
    if (c.index !== i) throw new MerkleInputError(`chunk at position ${i} has index ${c.index}`);
  });
  const tree = standardTree(chunks.map((c) => chunkLeafHash(c.index, c.hash)));
  return {
    root: tree.root,
    chunks,
    leafHash: (index) => chunkLeafHash(index, chunkAt(chunks, index).hash),
    proof: (index) => {
      chunkAt(chunks, index);
      return tree.proof(index);
    },
  };
}

function chunkAt(chunks: Chunk[], index: number): Chunk {
  const chunk = chunks[index];
  if (!chunk) throw new MerkleInputError(`no chunk ${index} (tree has ${chunks.length})`);
  return chunk;
}

/**
 * Root of the weights chunk tree of a stage's flattened parameters.
 *
 * @example
 * const root = weightsRoot(new Float32Array(10_000)) // 3 chunks
 */
export function weightsRoot(values: Float32Array, hash: Keccak256Bytes = keccak256): Hex {
  return chunkTree(weightChunks(values, hash)).root;
}

/**
 * Root of the quantized gradient chunk tree of one microbatch (the item's `gradRoot`).
 *
 * @example
 * const root = gradRoot(stageGrads)
 */
export function gradRoot(values: Float32Array, hash: Keccak256Bytes = keccak256): Hex {
  return chunkTree(gradientChunks(values, hash)).root;
}

/** Checks a chunk proof against a root with the same rule as OZ `MerkleProof.verify`. */
export function verifyChunkProof(root: Hex, chunk: { index: number; hash: Hex }, proof: Hex[]): boolean {
  return processProof(chunkLeafHash(chunk.index, chunk.hash), proof) === root.toLowerCase();
}

function itemValues(item: MicrobatchItem): ItemLeaf {
  return [
    item.index,
    item.microbatch,
    item.inputActHash,
    item.outputActHash,
    item.upstreamGradHash,
    item.inputGradHash,
    item.gradRoot,
    item.weightsRoot,
    item.upstream,
    item.downstream,
  ];
}

/**
 * Leaf of a microbatch item:
 * `keccak256(keccak256(abi.encode(uint32 index, uint32 microbatch, bytes32 inputActHash,
 * bytes32 outputActHash, bytes32 upstreamGradHash, bytes32 inputGradHash, bytes32 gradRoot,
 * bytes32 weightsRoot, address upstream, address downstream)))`.
 *
 * @example
 * const leaf = itemLeafHash({ index: 0, microbatch: 0, inputActHash, outputActHash, upstreamGradHash, inputGradHash, gradRoot, weightsRoot, upstream, downstream })
 */
export function itemLeafHash(item: MicrobatchItem): Hex {
  return keccak256(keccak256(encodeAbiParameters(itemLeafAbi, itemValues(item))));
}

/**
 * The items of a commitment in protocol order: sorted by microbatch, each given its slot
 * (`index` = position). Throws {@link MerkleInputError} for a microbatch listed twice.
 *
 * @example
 * const items = assignSlots(records.map((r) => ({ ...r, index: 0 })))
 */
export function assignSlots<T extends Omit<MicrobatchItem, "index">>(items: readonly T[]): (T & { index: number })[] {
  const sorted = [...items].sort((a, b) => a.microbatch - b.microbatch);
  for (let i = 1; i < sorted.length; i++)
    if ((sorted[i] as T).microbatch === (sorted[i - 1] as T).microbatch)
      throw new MerkleInputError(`microbatch ${(sorted[i] as T).microbatch} listed twice`);
  return sorted.map((item, index) => ({ ...item, index }));
}

/**
 * Builds the items tree of one stage's round commitment. Item slots (`index`) must be unique;
 * `proof(index)` looks the item up by its slot, not by its position in `items`.
 *
 * @example
 * const tree = itemsTree(items)
 * const proof = tree.proof(items[3].index)
 */
export function itemsTree(items: readonly MicrobatchItem[]): ItemsTree {
  if (items.length === 0) throw new MerkleInputError("no items");
  const positions = new Map<number, number>();
  items.forEach((item, position) => {
    if (!Number.isInteger(item.index) || item.index < 0 || item.index > 0xffffffff)
      throw new MerkleInputError(`item index ${item.index} is not a uint32`);
    if (positions.has(item.index)) throw new MerkleInputError(`duplicate item index ${item.index}`);
    positions.set(item.index, position);
  });
  const tree = standardTree(items.map(itemLeafHash));
  const positionOf = (index: number): number => {
    const position = positions.get(index);
    if (position === undefined) throw new MerkleInputError(`no item with index ${index}`);
    return position;
  };
  return {
    root: tree.root,
    items,
    leafHash: (index) => itemLeafHash(items[positionOf(index)] as MicrobatchItem),
    proof: (index) => tree.proof(positionOf(index)),
  };
}

/** Checks an item proof against an `itemsRoot` with the same rule as OZ `MerkleProof.verify`. */
export function verifyItemProof(root: Hex, item: MicrobatchItem, proof: Hex[]): boolean {
  return processProof(itemLeafHash(item), proof) === root.toLowerCase();
}
