import { type Address, encodeAbiParameters, type Hex, hexToBigInt, keccak256, parseAbiParameters } from "viem";

/**
 * The validator's sampling seed for one round: `keccak256(abi.encode(blockHash, validator,
 * modelId, round))` where `blockHash` is of a block mined after the round's commit window closed,
 * so a miner cannot know at commit time which of its items will be re-executed, and each
 * validator samples differently.
 */
export function samplingSeed({
  blockHash,
  validator,
  modelId,
  round,
}: {
  blockHash: Hex;
  validator: Address;
  modelId: bigint;
  round: bigint;
}): Hex {
  return keccak256(encodeAbiParameters(parseAbiParameters("bytes32, address, uint64, uint64"), [blockHash, validator, modelId, round]));
}

/** Items sampled from `count`: `max(1, ceil(fraction * count))`, at least one whenever there is any. */
export function sampleSize(fraction: number, count: number): number {
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`sampling fraction must be in (0, 1], got ${fraction}`);
  return count === 0 ? 0 : Math.min(count, Math.max(1, Math.ceil(fraction * count - 1e-9)));
}

/**
 * Picks `sampleSize(fraction, indices.length)` of `indices` with a seeded Fisher-Yates shuffle
 * (the seed mixed with `salt`, e.g. the commitment's itemsRoot), in ascending order.
 */
export function sampleIndices(seed: Hex, salt: Hex, indices: readonly number[], fraction: number): number[] {
  const pool = [...indices];
  const k = sampleSize(fraction, pool.length);
  let state = keccak256(encodeAbiParameters(parseAbiParameters("bytes32, bytes32"), [seed, salt]));
  for (let i = 0; i < k; i++) {
    state = keccak256(state);
    const j = i + Number(hexToBigInt(state) % BigInt(pool.length - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}
