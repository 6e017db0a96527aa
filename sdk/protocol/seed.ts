import { encodeAbiParameters, type Hex, keccak256 } from "viem";

/**
 * Seed of microbatch `index` of round `round` of model `modelId`:
 * `keccak256(abi.encode(uint64 modelId, uint64 round, uint32 index))` (three 32-byte words).
 * Every stage of the same `(round, index)` draws the same sample from it.
 *
 * @example
 * const seed = microbatchSeed(1n, 0n, 0)
 */
export function microbatchSeed(modelId: bigint, round: bigint, index: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint64" }, { type: "uint64" }, { type: "uint32" }],
      [modelId, round, index],
    ),
  );
}
