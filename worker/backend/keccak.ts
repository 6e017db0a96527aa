import { createKeccak } from "hash-wasm";
import { bytesToHex, type Hex } from "viem";

/*
 * The wire hashes every tensor a stage sends and receives. viem's JavaScript keccak made that a
 * tenth of a training step; hash-wasm's WebAssembly keccak is ~24x faster (bench/kernels.json). One hasher is instantiated when the module loads, so hashing stays synchronous.
 * The SDK's `tensorHash` stays the reference: keccak.test.ts checks equality on many inputs.
 */
const hasher = await createKeccak(256);

/**
 * keccak256 of `bytes` (original Keccak padding, as Ethereum and docs/PROTOCOL.md use it), equal to
 * viem's `keccak256(bytes)`.
 *
 * @example
 * fastKeccak256(new Uint8Array()) // 0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
 */
export function fastKeccak256(bytes: Uint8Array): Hex {
  return bytesToHex(hasher.init().update(bytes).digest("binary"));
}
