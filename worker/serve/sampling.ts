import { encodeAbiParameters, type Hex, keccak256 } from "viem";
import type { SamplingParameters } from "../model/generate.ts";

/**
 * The default sampling seed of a model's serving pipeline: the devnet's
 * (`keccak256(abi.encode("shardholder devnet sampling", uint64 modelId))`, scripts/lib/devnet/run.ts),
 * so `shardholder serve` and the devnet draw the same text from the same weights and requests.
 */
export function defaultSamplingSeed(modelId: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint64" }], ["shardholder devnet sampling", modelId]));
}

/** Sampling of `serve`'s flags: undefined (greedy) at temperature 0, else temperature, top-k and seed. */
export function servingSampling({
  temperature,
  topK,
  seed,
  modelId,
}: {
  temperature: number;
  topK: number;
  seed?: Hex | undefined;
  modelId: bigint;
}): SamplingParameters | undefined {
  if (temperature === 0) return undefined;
  return { temperature, topK, seed: seed ?? defaultSamplingSeed(modelId) };
}
