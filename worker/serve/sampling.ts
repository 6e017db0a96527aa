import type { Hex } from "viem";
import { NO_SAMPLING, requestSamplingSeed, samplingHash } from "../../sdk/protocol/serving.ts";
import type { SamplingParameters } from "../model/generate.ts";

export { NO_SAMPLING };

/** How the last stage draws tokens: temperature (0 = greedy) and top-k. The seed is the request's. */
export type SamplingTerms = Pick<SamplingParameters, "temperature" | "topK">;

/**
 * The draw of request `requestId`: sampling parameters seeded with `requestSamplingSeed(requestId, inputHash)`
 * (undefined = greedy, at temperature 0 or without terms) and the `sampling` hash the last stage commits
 * (greedy commits temperature 0 and top-k 0).
 *
 * @example
 * const { parameters, hash } = requestSampling({ temperature: 0.8, topK: 8 }, 7n, inputHash)
 */
export function requestSampling(
  terms: SamplingTerms | undefined,
  requestId: bigint,
  inputHash: Hex,
): { parameters: SamplingParameters | undefined; hash: Hex } {
  const seed = requestSamplingSeed(requestId, inputHash);
  if (!terms || terms.temperature === 0) return { parameters: undefined, hash: samplingHash({ seed, temperature: 0, topK: 0 }) };
  return { parameters: { ...terms, seed }, hash: samplingHash({ seed, temperature: terms.temperature, topK: terms.topK }) };
}

/** Sampling terms of `serve`'s flags: undefined (greedy) at temperature 0, else temperature and top-k. */
export function servingSampling({ temperature, topK }: { temperature: number; topK: number }): SamplingTerms | undefined {
  if (temperature === 0) return undefined;
  return { temperature, topK };
}
