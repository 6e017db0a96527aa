import { type Hex, keccak256 } from "viem";
import { type Commitment, gradRoot, itemsTree, type MicrobatchItem, weightsRoot } from "../../sdk/protocol/index.ts";
import { BaseError } from "../../sdk/errors/base.ts";

/**
 * What a content key names, and so how the bytes are checked against it:
 * - `tensor`: canonical tensor bytes, `keccak256(bytes) == key` (activations, gradients, loss);
 * - `weights`: float32 LE parameters, `weightsRoot(values) == key`;
 * - `gradient`: float32 LE parameter gradient, `gradRoot(values) == key`;
 * - `items`: UTF-8 JSON manifest `{ commitment, items }` with `itemsTree(items).root == key == commitment.itemsRoot`.
 */
export const contentKinds = { tensor: 1, weights: 2, gradient: 3, items: 4 } as const;
export type ContentKind = keyof typeof contentKinds;

/** A miner's published round: the signed commitment and every leaf behind its `itemsRoot`. */
export type ItemsManifest = { commitment: Commitment; signature: Hex; items: MicrobatchItem[] };

/** Bytes that do not hash to the key they were requested by. */
export class ContentMismatchError extends BaseError {
  constructor({ kind, key }: { kind: ContentKind; key: Hex }) {
    super(`The ${kind} content served for ${key} does not match that key.`, { name: "ContentMismatchError" });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** float32 LE bytes of `values` (a copy, independent of the source buffer). */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** Parses float32 LE bytes; throws on a length that is not a multiple of 4. */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new RangeError(`${bytes.length} bytes are not float32 values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

const bigintJson = (_: string, v: unknown): unknown => (typeof v === "bigint" ? `${v}n` : v);
const bigintRevive = (_: string, v: unknown): unknown => (typeof v === "string" && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);

/** Canonical bytes of an items manifest (JSON, bigints as `"<digits>n"`). */
export function encodeManifest(manifest: ItemsManifest): Uint8Array {
  return encoder.encode(JSON.stringify(manifest, bigintJson));
}

/** Parses an items manifest (no checks: see {@link contentMatches}). */
export function decodeManifest(bytes: Uint8Array): ItemsManifest {
  return JSON.parse(decoder.decode(bytes), bigintRevive) as ItemsManifest;
}

/**
 * True when `bytes` are the content named by (`kind`, `key`): the only acceptance rule of the
 * fetch protocol, so a miner cannot serve anything but what it committed to.
 */
export function contentMatches(kind: ContentKind, key: Hex, bytes: Uint8Array): boolean {
  try {
    if (kind === "tensor") return keccak256(bytes) === key;
    if (kind === "weights") return bytes.length > 0 && weightsRoot(float32FromBytes(bytes)) === key;
    if (kind === "gradient") return bytes.length > 0 && gradRoot(float32FromBytes(bytes)) === key;
    const m = decodeManifest(bytes);
    return m.commitment.itemsRoot === key && m.items.length === m.commitment.itemCount && itemsTree(m.items).root === key;
  } catch {
    return false;
  }
}

/**
 * A miner's content-addressed store of everything it committed to in a round: weights at round
 * start, the tensors it received and sent, its per-microbatch parameter gradients and the items
 * manifest. Entries are checked on insertion, so the store never serves bytes that fail the key.
 */
export class ContentStore {
  readonly #entries = new Map<string, { kind: ContentKind; bytes: Uint8Array }>();
  /** Keys this miner refuses to serve (a withholding strategy sets it; honest miners leave it empty). */
  readonly withheld = new Set<Hex>();

  /** Stores `bytes` under `key`; throws {@link ContentMismatchError} when they do not match. */
  put(kind: ContentKind, key: Hex, bytes: Uint8Array): void {
    if (!contentMatches(kind, key, bytes)) throw new ContentMismatchError({ kind, key });
    this.#entries.set(`${kind}:${key}`, { kind, bytes });
  }

  /** Canonical tensor bytes, keyed by their keccak. */
  putTensor(bytes: Uint8Array): Hex {
    const key = keccak256(bytes);
    this.#entries.set(`tensor:${key}`, { kind: "tensor", bytes });
    return key;
  }

  putWeights(values: Float32Array): Hex {
    const key = weightsRoot(values);
    this.#entries.set(`weights:${key}`, { kind: "weights", bytes: float32Bytes(values) });
    return key;
  }

  putGradient(values: Float32Array): Hex {
    const key = gradRoot(values);
    this.#entries.set(`gradient:${key}`, { kind: "gradient", bytes: float32Bytes(values) });
    return key;
  }

  putManifest(manifest: ItemsManifest): Hex {
    const key = manifest.commitment.itemsRoot;
    this.put("items", key, encodeManifest(manifest));
    return key;
  }

  /** The bytes of (`kind`, `key`), or undefined when absent or withheld. */
  get(kind: ContentKind, key: Hex): Uint8Array | undefined {
    if (this.withheld.has(key)) return undefined;
    return this.#entries.get(`${kind}:${key}`)?.bytes;
  }

  get size(): number {
    return this.#entries.size;
  }
}
