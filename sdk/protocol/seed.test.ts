import { concat, keccak256, numberToHex } from "viem";
import { describe, expect, it } from "vitest";
import { microbatchSeed } from "./seed.ts";

describe("microbatchSeed", () => {
  it("matches the fixed vector and the three-word abi.encode layout", () => {
    expect(microbatchSeed(1n, 2n, 3)).toBe("0x6e0c627900b24bd432fe7b1f713f1b0744091a646a9fe4a65a18dfed21f2949c");
    const words = [1n, 2n, 3n].map((v) => numberToHex(v, { size: 32 }));
    expect(microbatchSeed(1n, 2n, 3)).toBe(keccak256(concat(words)));
  });

  it("differs across model, round and index", () => {
    const seeds = new Set([microbatchSeed(1n, 0n, 0), microbatchSeed(2n, 0n, 0), microbatchSeed(1n, 1n, 0), microbatchSeed(1n, 0n, 1)]);
    expect(seeds.size).toBe(4);
  });
});
