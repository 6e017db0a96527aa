import { describe, expect, it } from "vitest";
import { gradRoot, weightsRoot } from "../../sdk/protocol/merkle.ts";
import { fastGradRoot, fastWeightsRoot } from "./roots.ts";

describe("roots hashed by the wasm keccak", () => {
  it("equal the SDK's weights and gradient roots for vectors of 1 to 3 chunks and odd lengths", () => {
    for (const length of [1, 7, 4095, 4096, 4097, 10_000, 12_289]) {
      const values = Float32Array.from({ length }, (_, i) => Math.fround(Math.sin(i * 0.37 + length) * 0.02));
      expect(fastWeightsRoot(values), `weights ${length}`).toBe(weightsRoot(values));
      expect(fastGradRoot(values), `gradient ${length}`).toBe(gradRoot(values));
    }
  });

  it("matches the protocol's fixed vectors (10000 values sin(i)*0.01)", () => {
    const values = Float32Array.from({ length: 10_000 }, (_, i) => Math.fround(Math.sin(i) * 0.01));
    expect(fastWeightsRoot(values)).toBe("0xb8c2760a078b6666097353589ec06100d56440f329d1c1454bde656a57aba69d");
    expect(fastGradRoot(values)).toBe("0x251ae9e4237776234c7a9fa583084812132448dee96396f94dce896134e17edb");
  });
});
