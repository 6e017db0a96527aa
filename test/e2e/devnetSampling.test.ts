// The devnet serves inferences with seeded top-k / temperature sampling (worker/model/generate.ts):
// reproducible per (seed, request, position), greedy at top-1, and drawing each kept token with
// its softmax probability.
import * as tf from "@tensorflow/tfjs";
import { keccak256, toHex } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../worker/backend/select.ts";
import { greedyNextToken, nextToken, sampleFromLogits, samplingUniform, validateSampling } from "../../worker/model/generate.ts";
import { letterShare } from "../../scripts/lib/devnet/summary.ts";
import { devnetSampling } from "../../scripts/lib/devnet/run.ts";

const seed = keccak256(toHex("devnet sampling test"));

/** Logits `[1, 2, V]` whose last position holds `row` (the first position is noise that must be ignored). */
const logitsOf = (row: number[]): tf.Tensor => tf.tensor3d([[row.map((_, i) => (i === 0 ? 100 : 0)), row]]);

describe("seeded sampling of served tokens", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "cpu" });
  });

  it("test_sample_sameSeedRequestPosition_sameToken_otherPositionsVary", () => {
    const logits = logitsOf(Array.from({ length: 20 }, (_, i) => Math.sin(i)));
    const sampling = { temperature: 1, topK: 20, seed };
    const draws = Array.from({ length: 64 }, (_, p) => nextToken(logits, sampling, 7n, p));
    expect(Array.from({ length: 64 }, (_, p) => nextToken(logits, sampling, 7n, p))).toEqual(draws);
    expect(new Set(draws).size).toBeGreaterThan(5);
    // Another request (or another seed) draws another sequence.
    expect(Array.from({ length: 64 }, (_, p) => nextToken(logits, sampling, 8n, p))).not.toEqual(draws);
    expect(Array.from({ length: 64 }, (_, p) => nextToken(logits, { ...sampling, seed: keccak256(toHex("other")) }, 7n, p))).not.toEqual(
      draws,
    );
    logits.dispose();
  });

  it("test_sample_topOne_isGreedy_andNoSamplingIsGreedy", () => {
    for (let t = 0; t < 10; t++) {
      const row = Array.from({ length: 30 }, (_, i) => Math.cos(i * (t + 1)) * 3);
      const logits = logitsOf(row);
      const greedy = greedyNextToken(logits);
      expect(greedy).toBe(row.indexOf(Math.max(...row)));
      for (let p = 0; p < 5; p++) {
        expect(nextToken(logits, { temperature: 2, topK: 1, seed }, 1n, p)).toBe(greedy);
        expect(nextToken(logits, undefined, 1n, p)).toBe(greedy);
      }
      logits.dispose();
    }
  });

  it("test_sample_frequencies_matchSoftmaxOfTopK", () => {
    // Probabilities 0.5, 0.3, 0.2 on ids 3, 1, 4; every other id is outside the top 3.
    const row = Array.from({ length: 8 }, () => Math.log(0.01));
    row[3] = Math.log(0.5);
    row[1] = Math.log(0.3);
    row[4] = Math.log(0.2);
    const logits = logitsOf(row);
    const n = 3000;
    const counts = new Map<number, number>();
    for (let p = 0; p < n; p++) {
      const id = sampleFromLogits(logits, { temperature: 1, topK: 3 }, samplingUniform(seed, 0n, p));
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([1, 3, 4]);
    expect((counts.get(3) ?? 0) / n).toBeCloseTo(0.5, 1);
    expect((counts.get(1) ?? 0) / n).toBeCloseTo(0.3, 1);
    expect((counts.get(4) ?? 0) / n).toBeCloseTo(0.2, 1);
    // A low temperature concentrates on the most likely id.
    const cold = Array.from({ length: 200 }, (_, p) =>
      sampleFromLogits(logits, { temperature: 0.05, topK: 3 }, samplingUniform(seed, 1n, p)),
    );
    expect(cold.filter((id) => id === 3).length).toBeGreaterThan(195);
    logits.dispose();
  });

  it("test_sample_uniform_inUnitInterval_andRoughlyUniform", () => {
    const us = Array.from({ length: 2000 }, (_, p) => samplingUniform(seed, 5n, p));
    for (const u of us) expect(u >= 0 && u < 1).toBe(true);
    const mean = us.reduce((a, u) => a + u, 0) / us.length;
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
  });

  it("test_validateSampling_rejectsBadParameters", () => {
    expect(() => validateSampling({ temperature: 0, topK: 8, seed })).toThrow(RangeError);
    expect(() => validateSampling({ temperature: Number.NaN, topK: 8, seed })).toThrow(RangeError);
    expect(() => validateSampling({ temperature: 1, topK: 0, seed })).toThrow(RangeError);
    expect(() => validateSampling({ temperature: 1, topK: 1.5, seed })).toThrow(RangeError);
    expect(() => validateSampling({ temperature: 1, topK: 8, seed: "0x1234" })).toThrow(RangeError);
    expect(() => validateSampling({ temperature: 0.8, topK: 8, seed })).not.toThrow();
  });

  it("test_devnetSampling_greedyAtZero_seedFixedByModel", () => {
    expect(devnetSampling({ temperature: 0, topK: 8 }, 1n)).toBeUndefined();
    const a = devnetSampling({ temperature: 0.8, topK: 8 }, 1n);
    expect(a).toMatchObject({ temperature: 0.8, topK: 8 });
    expect(devnetSampling({ temperature: 0.8, topK: 8 }, 1n)?.seed).toBe(a?.seed);
    expect(devnetSampling({ temperature: 0.8, topK: 8 }, 2n)?.seed).not.toBe(a?.seed);
    if (a) expect(() => validateSampling(a)).not.toThrow();
  });

  it("test_letterShare_countsLowercaseLettersAndSpaces", () => {
    expect(letterShare("ab c")).toBe(1);
    expect(letterShare("a}~#")).toBe(0.25);
    expect(letterShare("aBC ")).toBe(0.5);
    expect(letterShare("")).toBeNaN();
  });
});
