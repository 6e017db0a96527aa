// One deterministic PRNG for the dev tools and tests (mulberry32): the same seed gives the same
// sequence in every process, so toy weights, dropped datagrams and random test sequences reproduce.

/**
 * A mulberry32 generator of floats in [0, 1) from a 32-bit seed.
 *
 * @example
 * const random = seededRandom(7); random() // the same first value on every run
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
