import { type Hex, keccak256 } from "viem";
import { fastGradRoot, fastWeightsRoot } from "../backend/roots.ts";
import { type Commitment, itemsTree, type MicrobatchItem } from "../../sdk/protocol/index.ts";
import { BaseError } from "../../sdk/errors/base.ts";

/**
 * What a content key names, and so how the bytes are checked against it:
 * - `tensor`: the exact bytes of a link payload, `keccak256(bytes) == key` (activation payloads:
 *   activation then targets; gradients; the last stage's loss);
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
    if (kind === "weights") return bytes.length > 0 && fastWeightsRoot(float32FromBytes(bytes)) === key;
    if (kind === "gradient") return bytes.length > 0 && fastGradRoot(float32FromBytes(bytes)) === key;
    const m = decodeManifest(bytes);
    return m.commitment.itemsRoot === key && m.items.length === m.commitment.itemCount && itemsTree(m.items).root === key;
  } catch {
    return false;
  }
}

/**
 * Rounds of content a miner keeps besides the newest: validators audit a round after its commit
 * window, within its challenge window, so the current round and the previous `RING_SIZE` cover
 * every round that can still be challenged in the demo timing; configurable per store.
 */
export const RING_SIZE = 8;

/**
 * Where a {@link ContentStore} keeps its bytes, one namespace per round. Names are
 * `<kind>-<key>`: content addressed by its hash, so writing the same bytes twice is harmless.
 */
export type ContentBackend = {
  write(round: bigint, name: string, bytes: Uint8Array): void;
  read(round: bigint, name: string): Uint8Array | undefined;
  dropRound(round: bigint): void;
  /** Every (round, name) held, for rebuilding the index after a restart. */
  list(): Array<[bigint, string]>;
};

/** Bytes in memory (tests, harnesses, processes that need not survive a restart). */
export function memoryContentBackend(): ContentBackend {
  const rounds = new Map<bigint, Map<string, Uint8Array>>();
  return {
    write: (round, name, bytes) => {
      const r = rounds.get(round) ?? new Map<string, Uint8Array>();
      r.set(name, bytes);
      rounds.set(round, r);
    },
    read: (round, name) => rounds.get(round)?.get(name),
    dropRound: (round) => void rounds.delete(round),
    list: () => [...rounds.entries()].flatMap(([round, r]) => [...r.keys()].map((name): [bigint, string] => [round, name])),
  };
}

const nameOf = (kind: ContentKind, key: Hex): string => `${kind}-${key.toLowerCase()}`;
const parseName = (name: string): { kind: ContentKind; key: Hex } | undefined => {
  const m = /^(tensor|weights|gradient|items)-(0x[0-9a-f]{64})$/.exec(name);
  return m ? { kind: m[1] as ContentKind, key: m[2] as Hex } : undefined;
};

/**
 * A miner's content-addressed store of everything it committed to in a round: weights at round
 * start, the tensors it received and sent, its per-microbatch parameter gradients and the items
 * manifest. Entries are checked on insertion, so the store never serves bytes that fail the key.
 *
 * Bounded: every entry belongs to a round (a frame's round, a manifest's commitment round, or
 * the round last passed to {@link ContentStore.enterRound}); entering round `r` evicts every
 * round below `r - keepRounds`, so a long run holds at most `keepRounds + 1` rounds of content.
 *
 * @example
 * const store = new ContentStore({ backend: directoryContentBackend(path.join(journalDir, "content")) })
 * store.enterRound(5n)
 * store.putWeights(weights)
 */
export class ContentStore {
  readonly #backend: ContentBackend;
  /** Which rounds hold each `<kind>-<key>` (the index; the bytes live in the backend). */
  readonly #rounds = new Map<string, Set<bigint>>();
  readonly #names = new Map<bigint, Set<string>>();
  readonly keepRounds: number;
  #current = 0n;
  /** Keys this miner refuses to serve (a withholding strategy sets it; honest miners leave it empty). */
  readonly withheld = new Set<Hex>();

  constructor(options: { backend?: ContentBackend | undefined; keepRounds?: number | undefined } = {}) {
    this.#backend = options.backend ?? memoryContentBackend();
    this.keepRounds = options.keepRounds ?? RING_SIZE;
    for (const [round, name] of this.#backend.list()) if (parseName(name)) this.#index(round, name);
    const newest = [...this.#names.keys()].reduce((a, b) => (b > a ? b : a), 0n);
    this.enterRound(newest);
  }

  /** The round untagged puts belong to. */
  get currentRound(): bigint {
    return this.#current;
  }

  /**
   * Makes `round` the current round (when it is newer) and evicts rounds older than
   * `round - keepRounds`: what no validator can challenge any more.
   */
  enterRound(round: bigint): void {
    if (round > this.#current) this.#current = round;
    const oldest = this.#current - BigInt(this.keepRounds);
    for (const r of [...this.#names.keys()]) if (r < oldest) this.#drop(r);
  }

  /** Stores `bytes` under `key` for `round` (default: the current one); throws {@link ContentMismatchError} when they do not match. */
  put(kind: ContentKind, key: Hex, bytes: Uint8Array, round?: bigint): void {
    if (!contentMatches(kind, key, bytes)) throw new ContentMismatchError({ kind, key });
    this.#put(kind, key, bytes, round);
  }

  /** Canonical tensor bytes, keyed by their keccak. */
  putTensor(bytes: Uint8Array, round?: bigint): Hex {
    const key = keccak256(bytes);
    this.#put("tensor", key, bytes, round);
    return key;
  }

  /** Stores weights by their root; `root`, when the caller already hashed `values`, is not hashed again. */
  putWeights(values: Float32Array, round?: bigint, root?: Hex): Hex {
    const key = root ?? fastWeightsRoot(values);
    this.#put("weights", key, float32Bytes(values), round);
    return key;
  }

  putGradient(values: Float32Array, round?: bigint): Hex {
    const key = fastGradRoot(values);
    this.#put("gradient", key, float32Bytes(values), round);
    return key;
  }

  /** The signed manifest, kept with its commitment's round. */
  putManifest(manifest: ItemsManifest): Hex {
    const key = manifest.commitment.itemsRoot;
    this.put("items", key, encodeManifest(manifest), manifest.commitment.round);
    return key;
  }

  /** The bytes of (`kind`, `key`), or undefined when absent, evicted or withheld. */
  get(kind: ContentKind, key: Hex): Uint8Array | undefined {
    if (this.withheld.has(key)) return undefined;
    const name = nameOf(kind, key);
    const rounds = this.#rounds.get(name);
    if (!rounds) return undefined;
    // Newest first: an items manifest is keyed by its itemsRoot alone, so a later round that
    // commits the same items (a replay) stores other bytes (its own commitment) under the same key.
    for (const round of [...rounds].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))) {
      const bytes = this.#backend.read(round, name);
      if (bytes) return bytes;
    }
    return undefined;
  }

  /** Distinct entries held. */
  get size(): number {
    return this.#rounds.size;
  }

  /** Rounds held, oldest first. */
  get rounds(): bigint[] {
    return [...this.#names.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  #put(kind: ContentKind, key: Hex, bytes: Uint8Array, round = this.#current): void {
    // Content of a round already evicted (a late rerun) would only be evicted again.
    if (round < this.#current - BigInt(this.keepRounds)) return;
    const name = nameOf(kind, key);
    if (this.#rounds.get(name)?.has(round)) return;
    this.#backend.write(round, name, bytes);
    this.#index(round, name);
    if (round > this.#current) this.enterRound(round);
  }

  #index(round: bigint, name: string): void {
    const rounds = this.#rounds.get(name) ?? new Set<bigint>();
    rounds.add(round);
    this.#rounds.set(name, rounds);
    const names = this.#names.get(round) ?? new Set<string>();
    names.add(name);
    this.#names.set(round, names);
  }

  #drop(round: bigint): void {
    for (const name of this.#names.get(round) ?? []) {
      const rounds = this.#rounds.get(name);
      rounds?.delete(round);
      if (rounds && rounds.size === 0) this.#rounds.delete(name);
    }
    this.#names.delete(round);
    this.#backend.dropRound(round);
  }
}
