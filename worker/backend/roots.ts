import type { Hex } from "viem";
import { gradRoot, weightsRoot } from "../../sdk/protocol/merkle.ts";
import { fastKeccak256 } from "./keccak.ts";

/*
 * The SDK's roots (docs/PROTOCOL.md "Chunk trees") with the chunks hashed by the WebAssembly
 * keccak: a stage hashes its weights once per optimizer step and a gradient per microbatch, which
 * viem's JavaScript keccak made a sizeable share of a step. Same function, same roots
 * (roots.test.ts checks them against the SDK's).
 */

/** `weightsRoot(values)`, chunks hashed by {@link fastKeccak256}. */
export const fastWeightsRoot = (values: Float32Array): Hex => weightsRoot(values, fastKeccak256);

/** `gradRoot(values)`, chunks hashed by {@link fastKeccak256}. */
export const fastGradRoot = (values: Float32Array): Hex => gradRoot(values, fastKeccak256);
