import { type Address, encodeAbiParameters, type Hex, hexToBigInt, keccak256, parseAbiParameters } from "viem";

/** `ATTEST_SAMPLE_BPS` of the ledger: draws per commitment are 10% of the round's microbatches, at least one. */
export const ATTEST_SAMPLE_BPS = 1000;

/** Draws per commitment a validator may attest: `max(1, ceil(microbatchesPerRound * ATTEST_SAMPLE_BPS / 1e4))`. */
export function attestDraws(microbatchesPerRound: number, sampleBps = ATTEST_SAMPLE_BPS): number {
  return Math.max(1, Math.ceil((microbatchesPerRound * sampleBps) / 10_000));
}

export type SampledIndexParameters = { seed: Hex; validator: Address; worker: Address; stage: number; draw: number; microbatchesPerRound: number };

/**
 * The microbatch index draw `draw` of `validator` hits in (stage, worker)'s commitment:
 * `keccak256(abi.encode(bytes32 seed, address validator, address worker, uint16 stage, uint32 draw)) % microbatchesPerRound`
 * (docs/PROTOCOL.md "Attestation sample"; the ledger's `sampledIndex`).
 */
export function sampledIndex(p: SampledIndexParameters): number {
  const word = keccak256(encodeAbiParameters(parseAbiParameters("bytes32, address, address, uint16, uint32"), [p.seed, p.validator, p.worker, p.stage, p.draw]));
  return Number(hexToBigInt(word) % BigInt(p.microbatchesPerRound));
}

/** One sampled item: the draw number the ledger checks and the microbatch index it hit. */
export type SampledDraw = { draw: number; index: number };

/**
 * A validator's sample of one commitment: draws `0..count-1` (default: the attestable ones), each
 * index once (first draw wins), restricted to the indices the commitment holds, in draw order.
 * Draws past `attestDraws` may be re-executed for extra assurance but the ledger only pays for the
 * attestable ones.
 */
export function attestationSample(p: Omit<SampledIndexParameters, "draw"> & { committed: readonly number[]; count?: number | undefined }): SampledDraw[] {
  const count = p.count ?? attestDraws(p.microbatchesPerRound);
  const committed = new Set(p.committed);
  const seen = new Set<number>();
  const out: SampledDraw[] = [];
  for (let draw = 0; draw < count; draw++) {
    const index = sampledIndex({ ...p, draw });
    if (seen.has(index) || !committed.has(index)) continue;
    seen.add(index);
    out.push({ draw, index });
  }
  return out;
}
