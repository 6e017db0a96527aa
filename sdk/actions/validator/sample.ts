import { type Address, encodeAbiParameters, type Hex, hexToBigInt, keccak256, parseAbiParameters } from "viem";

/**
 * Draws per commitment a validator may attest:
 * `min(maxDraws, max(1, ceil(microbatchesPerRound * sampleBps / 1e4)))`, where `sampleBps` and
 * `maxDraws` are the ledger's `ATTEST_SAMPLE_BPS` and `MAX_ATTEST_DRAWS`
 * (`getLedgerParameters(...).attestSampleBps` / `.maxAttestDraws`; read, not copied, so a ledger
 * with other values is followed).
 *
 * @example
 * import { attestDraws, getLedgerParameters } from "@shardholder/sdk"
 * const { attestSampleBps, maxAttestDraws } = await getLedgerParameters(client, { deployments })
 * attestDraws(16, { sampleBps: attestSampleBps, maxDraws: maxAttestDraws }) // 2 at the ledger's 10%
 */
export function attestDraws(microbatchesPerRound: number, { sampleBps, maxDraws }: { sampleBps: number; maxDraws: number }): number {
  return Math.min(maxDraws, Math.max(1, Math.ceil((microbatchesPerRound * sampleBps) / 10_000)));
}

export type SampledIndexParameters = {
  seed: Hex;
  validator: Address;
  worker: Address;
  stage: number;
  draw: number;
  /** The commitment's `itemCount` (on-chain: its units divided by the stage's units per microbatch). */
  itemCount: number;
};

/**
 * The microbatch index draw `draw` of `validator` hits in (stage, worker)'s commitment:
 * `keccak256(abi.encode(bytes32 seed, address validator, address worker, uint16 stage, uint32 draw)) % itemCount`
 * (docs/PROTOCOL.md "Attestation sample"; the ledger's `sampledIndex`). A commitment of
 * `itemCount` items must hold exactly the indices `[0, itemCount)`.
 */
export function sampledIndex(p: SampledIndexParameters): number {
  const word = keccak256(
    encodeAbiParameters(parseAbiParameters("bytes32, address, address, uint16, uint32"), [p.seed, p.validator, p.worker, p.stage, p.draw]),
  );
  return Number(hexToBigInt(word) % BigInt(p.itemCount));
}

/** One sampled item: the draw number the ledger checks and the microbatch index it hit. */
export type SampledDraw = { draw: number; index: number };

/**
 * A validator's sample of one commitment: draws `0..count-1`, each index once (first draw wins),
 * in draw order. Every sampled index must be a leaf of the commitment; one that is not served is
 * what `challengeAvailability` is for. Draws past `attestDraws` may be re-executed for extra
 * assurance but the ledger only pays for the attestable ones.
 */
export function attestationSample(p: Omit<SampledIndexParameters, "draw"> & { count: number }): SampledDraw[] {
  const seen = new Set<number>();
  const out: SampledDraw[] = [];
  for (let draw = 0; draw < p.count; draw++) {
    const index = sampledIndex({ ...p, draw });
    if (seen.has(index)) continue;
    seen.add(index);
    out.push({ draw, index });
  }
  return out;
}
