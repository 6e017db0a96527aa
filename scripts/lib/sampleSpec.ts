import { type Address, type Hex, keccak256, parseEther, toHex } from "viem";
import type { ModelSpec } from "../../sdk/actions/models/registerModel.ts";
import type { Commitment } from "../../sdk/protocol/commitment.ts";

const h = (s: string): Hex => keccak256(toHex(s));

/**
 * The one sample registry spec the SDK tests, the gas bench and the validator scenarios register
 * (two stages, 1000 tokens per round decaying 1%, 2% protocol / 30% operator fees, 10% of each
 * round's emission to the designer and 10% to attesting validators, hour-long windows, 1 ETH
 * stakes); every field can be overridden.
 *
 * @example
 * const spec = sampleModelSpec({ name: "Bench Model", symbol: "BENCH" })
 */
export function sampleModelSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    name: "Tiny Char Transformer",
    symbol: "TCT",
    specHash: h("spec"),
    initialWeightsRoots: [h("w0"), h("w1")],
    unitsPerMicrobatch: [3n, 5n],
    microbatchesPerRound: 64,
    emission: { tokensPerRound: parseEther("1000"), decayBps: 100, capTokens: parseEther("1000000") },
    protocolFeeBps: 200,
    operatorFeeBps: 3000,
    designerEmissionBps: 1000,
    validatorEmissionBps: 1000,
    minRequestFeeWei: parseEther("0.001"),
    timing: { commitWindowSec: 3600, challengeWindowSec: 3600, voteWindowSec: 1800 },
    minWorkerStakeWei: parseEther("1"),
    minValidatorStakeWei: parseEther("1"),
    metadataURI: "ipfs://tiny",
    ...overrides,
  };
}

/**
 * A round commitment with stand-in roots (hashes of labels, no training behind them) for `stage`
 * of `round`: what the gas bench, the economy test and the SDK fixture sign and submit.
 * `weightsRootBefore` must be the registered initial root in round 0.
 *
 * @example
 * const commitment = sampleCommitment({ modelId, round: 0n, stage: 1, worker, itemCount: 16, weightsRootBefore: spec.initialWeightsRoots[1] })
 */
export function sampleCommitment(p: {
  modelId: bigint;
  round: bigint;
  stage: number;
  worker: Address;
  itemCount: number;
  weightsRootBefore: Hex;
}): Commitment {
  return {
    ...p,
    itemsRoot: h(`items ${p.round} ${p.stage}`),
    weightsRootAfter: h(`after ${p.round} ${p.stage}`),
  };
}
