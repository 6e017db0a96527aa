import { type Hex, hexToBytes } from "viem";

/** A deterministic pseudo-random stream (xoshiro128**), identical on every platform. */
export interface Random {
  nextUint32(): number;
  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * xoshiro128** seeded with the first 16 bytes of `seed` (four big-endian uint32 words). A 32-byte
 * keccak digest is the intended seed, so the all-zero state (which would stall) cannot occur in
 * practice; it is still rejected.
 */
export function randomFromSeed(seed: Hex): Random {
  const bytes = hexToBytes(seed);
  if (bytes.length < 16) throw new Error(`seed needs at least 16 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = [view.getUint32(0), view.getUint32(4), view.getUint32(8), view.getUint32(12)] as [number, number, number, number];
  if (s.every((w) => w === 0)) throw new Error("seed state is all zero");
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };
  const nextFloat = (): number => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;
  return {
    nextUint32,
    nextFloat,
    nextInt(n) {
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`nextInt needs a positive integer, got ${n}`);
      return Math.floor(nextFloat() * n);
    },
  };
}
