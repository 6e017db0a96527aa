import { type Address, encodeAbiParameters, type Hex, keccak256 } from "viem";

/**
 * Seed of microbatch `index` of round `round` of model `modelId` in the pipeline headed by `head`
 * (the staking address of the pipeline's stage-0 worker, the `worker` of its commitments):
 * `keccak256(abi.encode(uint64 modelId, uint64 round, address head, uint32 index))` (four 32-byte
 * words). Every pipeline trains its own sample, so a verbatim copy of another pipeline's
 * commitment is not the copier's assigned work.
 *
 * @example
 * const seed = microbatchSeed(1n, 0n, "0x00000000000000000000000000000000000000aa", 0)
 */
export function microbatchSeed(modelId: bigint, round: bigint, head: Address, index: number): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "uint64" }, { type: "uint64" }, { type: "address" }, { type: "uint32" }], [modelId, round, head, index]),
  );
}
