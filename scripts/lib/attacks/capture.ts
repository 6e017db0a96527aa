/**
 * Committee capture: the ledger's exact draw rule replayed off-chain (LedgerDisputes._drawSeats):
 * seat attempt `a` of level `l` of dispute `id` hits
 * `uint256(keccak256(abi.encode(bytes32 blockHash, uint256 id, uint256 l, uint256 a))) % totalWeight`
 * over the cumulative stakes (StakeSortition.draw); a party (here the challenger, an honest
 * validator) is skipped, at most 3 attempts a seat; seats are drawn with replacement.
 */
import { randomBytes } from "node:crypto";
import { createKeccak } from "hash-wasm";
import { seededRandom } from "../seededRandom.ts";

export const LEVEL_SEATS = [5, 19, 61] as const;
const DRAW_ATTEMPTS_PER_SEAT = 3;

export interface Population {
  weights: number[];
  attacker: boolean[];
  challenger: number;
  total: number;
}

/**
 * `q` of the weight split among `sybils` equal attacker entries, the rest among `honest` entries of
 * random sizes; total weight ~1e12 so `r % total` stays exact in doubles (Horner, < 2^45 * 256).
 */
export function population(q: number, sybils = 50, honest = 150, seed = 11): Population {
  const TOTAL = 1e12;
  const rand = seededRandom(seed);
  const honestRaw = Array.from({ length: honest }, () => 0.2 + rand());
  const honestSum = honestRaw.reduce((s, x) => s + x, 0);
  const weights: number[] = [];
  const attacker: boolean[] = [];
  for (let i = 0; i < sybils; ++i) {
    weights.push(Math.round((TOTAL * q) / sybils));
    attacker.push(true);
  }
  for (const x of honestRaw) {
    weights.push(Math.max(1, Math.round((TOTAL * (1 - q) * x) / honestSum)));
    attacker.push(false);
  }
  // Interleave deterministically so the attacker entries are not one contiguous block.
  const order = weights.map((_, i) => i).sort((a, b) => ((a * 2654435761) % 1000003) - ((b * 2654435761) % 1000003));
  const w = order.map((i) => weights[i]!);
  const att = order.map((i) => attacker[i]!);
  const challenger = att.findIndex((a) => !a);
  return { weights: w, attacker: att, challenger, total: w.reduce((s, x) => s + x, 0) };
}

export interface LevelSimulation {
  seats: number;
  disputes: number;
  attackerMajorities: number;
  frequency: number;
  meanFilledSeats: number;
  meanAttackerSeats: number;
}

/** Simulates `disputes` draws of one level and counts attacker majorities of the filled seats (all seats vote). */
export async function simulateLevel(pop: Population, level: number, disputes: number): Promise<LevelSimulation> {
  const hasher = await createKeccak(256);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of pop.weights) cumulative.push((acc += w));
  const target = LEVEL_SEATS[level]!;
  const buf = new Uint8Array(128);
  buf[95] = level;
  let majorities = 0;
  let filledTotal = 0;
  let attackerTotal = 0;
  for (let d = 0; d < disputes; ++d) {
    buf.set(randomBytes(32), 0);
    const id = d + 1;
    for (let i = 0; i < 8; ++i) buf[63 - i] = Math.floor(id / 2 ** (8 * i)) & 0xff;
    let filled = 0;
    let attackerSeats = 0;
    for (let attempt = 0; attempt < target * DRAW_ATTEMPTS_PER_SEAT && filled < target; ++attempt) {
      buf[127] = attempt & 0xff;
      buf[126] = (attempt >> 8) & 0xff;
      hasher.init();
      hasher.update(buf);
      const h = hasher.digest("binary");
      let r = 0;
      for (let i = 0; i < 32; ++i) r = (r * 256 + h[i]!) % pop.total;
      // StakeSortition.draw: the entry whose cumulative range [prefix(i-1), prefix(i)) holds r
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! > r) hi = mid;
        else lo = mid + 1;
      }
      if (lo === pop.challenger) continue;
      ++filled;
      if (pop.attacker[lo]) ++attackerSeats;
    }
    filledTotal += filled;
    attackerTotal += attackerSeats;
    if (2 * attackerSeats > filled) ++majorities;
  }
  return {
    seats: target,
    disputes,
    attackerMajorities: majorities,
    frequency: majorities / disputes,
    meanFilledSeats: filledTotal / disputes,
    meanAttackerSeats: attackerTotal / disputes,
  };
}

/** P[Bin(n, q) > n / 2], exact in double precision (terms down to ~1e-300). */
export function binomialMajorityTail(n: number, q: number): number {
  let sum = 0;
  for (let k = Math.floor(n / 2) + 1; k <= n; ++k) {
    let logC = 0;
    for (let i = 0; i < k; ++i) logC += Math.log(n - i) - Math.log(i + 1);
    sum += Math.exp(logC + k * Math.log(q) + (n - k) * Math.log(1 - q));
  }
  return sum;
}

/** Smallest odd seat count whose majority tail at `q` is below `target`. */
export function seatsForTarget(q: number, target: number): number {
  for (let n = 1; n < 1001; n += 2) if (binomialMajorityTail(n, q) < target) return n;
  return Number.NaN;
}
