import { concat, keccak256, numberToHex, pad } from "viem";
import { describe, expect, it } from "vitest";
import { microbatchSeed } from "./seed.ts";

const HEAD = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";

describe("microbatchSeed", () => {
  it("matches the fixed vector and the four-word abi.encode layout", () => {
    const words = [numberToHex(1n, { size: 32 }), numberToHex(2n, { size: 32 }), pad(HEAD, { size: 32 }), numberToHex(3n, { size: 32 })];
    expect(microbatchSeed(1n, 2n, HEAD, 3)).toBe(keccak256(concat(words)));
    expect(microbatchSeed(1n, 2n, HEAD, 3)).toBe("0x453c6d7fc611fd4de0efe6076f74227cc23e71f2c32167f8ee1db5e5794fc214");
  });

  it("differs across model, round, head and index", () => {
    const seeds = new Set([
      microbatchSeed(1n, 0n, HEAD, 0),
      microbatchSeed(2n, 0n, HEAD, 0),
      microbatchSeed(1n, 1n, HEAD, 0),
      microbatchSeed(1n, 0n, OTHER, 0),
      microbatchSeed(1n, 0n, HEAD, 1),
    ]);
    expect(seeds.size).toBe(5);
  });

  it("seedsDifferPerHead_forEveryRoundAndIndex", () => {
    for (let round = 0n; round < 4n; round++)
      for (let index = 0; index < 8; index++)
        expect(microbatchSeed(1n, round, HEAD, index)).not.toBe(microbatchSeed(1n, round, OTHER, index));
  });
});
