import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readContract } from "viem/actions";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import {
  ComputeLedgerItemAlreadyDisputedError,
  ComputeLedgerNotSampledError,
  ComputeLedgerNotStageValidatorError,
  ComputeLedgerNothingToMintError,
} from "../../errors/contractErrors.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import { itemsTree, type MicrobatchItem } from "../../protocol/merkle.ts";
import { ledgerItem } from "./ledgerItem.ts";
import { attestationSample, attestDraws, sampledIndex } from "./sample.ts";

const h = (s: string): Hex => keccak256(toHex(s));
// 4 microbatches per round: each validator's single attestable draw hits one of 4 committed leaves.
const spec = testSpec({ microbatchesPerRound: 4 });

/** Stage `stage`'s leaves of `round` in the pipeline `workers` (stage 0, stage 1): every microbatch, each leaf naming the other stage. */
function items(stage: number, round: number, workers: readonly Address[]): MicrobatchItem[] {
  return [0, 1, 2, 3].map((index) => ({
    index,
    microbatch: index,
    inputActHash: h(`in ${stage} ${round} ${index}`),
    outputActHash: h(`out ${stage} ${round} ${index}`),
    upstreamGradHash: stage === 1 ? zeroHash : h(`up ${round} ${index}`),
    inputGradHash: stage === 0 ? zeroHash : h(`up ${round} ${index}`),
    gradRoot: h(`g ${stage} ${round} ${index}`),
    weightsRoot: h(`w ${stage} ${round}`),
    upstream: stage === 0 ? zeroAddress : (workers[0] as Address),
    downstream: stage === 0 ? (workers[1] as Address) : zeroAddress,
  }));
}

describe("validator actions: attest sampled items, mint the validators' share, prove weights breaks", () => {
  let s: Shardholder;
  let genesis: bigint;
  const keys = [privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey())];
  const workers: Address[] = [];
  const commitments: Commitment[] = [];
  const round1: Commitment[] = [];
  /** The ledger's `ATTEST_SAMPLE_BPS`, read from the chain like a validator does. */
  let rates: { sampleBps: number; maxDraws: number };

  beforeAll(async () => {
    s = await deployShardholder();
    const designer = actionsOf(s, 0);
    const parameters = await designer.getLedgerParameters();
    rates = { sampleBps: parameters.attestSampleBps, maxDraws: parameters.maxAttestDraws };
    await designer.registerModel({ spec });
    genesis = (await designer.getModel({ modelId: 1n })).genesisTime;
    for (const [i, w] of [1, 2].entries()) {
      await actionsOf(s, w).stake({
        payout: accountAt(s, w),
        signingKey: (keys[i] as (typeof keys)[number]).address,
        valueWei: parseEther("2"),
      });
      workers.push(accountAt(s, w));
    }
    // Validators hold one stage: 3 and 4 validate stage 0, 5 and 6 stage 1.
    for (const v of [3, 4, 5, 6]) {
      await actionsOf(s, v).stake({ payout: accountAt(s, v + 10), signingKey: accountAt(s, v), valueWei: parseEther("1") });
      await actionsOf(s, v).setValidator({ modelId: 1n, stage: v < 5 ? 0 : 1, validator: true });
    }
    const signed = [];
    for (const stage of [0, 1]) {
      const c: Commitment = {
        modelId: 1n,
        round: 0n,
        stage,
        worker: workers[stage] as Address,
        itemsRoot: itemsTree(items(stage, 0, workers)).root,
        itemCount: 4,
        weightsRootBefore: spec.initialWeightsRoots[stage] as Hex,
        weightsRootAfter: h(`after ${stage} 0`),
      };
      commitments.push(c);
      signed.push(await designer.signRoundCommitment({ commitment: c, signer: keys[stage] }));
    }
    await designer.submitCommitments({ signed });
  });

  it("seals the round seed after the commit window; the SDK's sample equals the ledger's draws", async () => {
    await s.networkHelpers.time.increaseTo(genesis + 3600n);
    const { seed, sealedNow } = await actionsOf(s, 3).sealRoundSeed({ modelId: 1n, round: 0n });
    expect(sealedNow).toBe(true);
    expect((await actionsOf(s, 4).sealRoundSeed({ modelId: 1n, round: 0n })).seed).toBe(seed);
    expect(rates).toEqual({ sampleBps: 1000, maxDraws: 4 });
    expect(attestDraws(4, rates)).toBe(1);
    expect(attestDraws(24, rates)).toBe(3);
    expect(attestDraws(64, rates)).toBe(4);
    const ledger = s.deployments.contracts.computeLedger;
    for (const v of [3, 4]) {
      for (const draw of [0, 1, 5]) {
        const onChain = await readContract(s.publicClient, {
          abi: computeLedgerAbi,
          address: ledger,
          functionName: "sampledIndex",
          args: [1n, 0n, accountAt(s, v), workers[0] as Address, 0, draw],
        });
        expect(sampledIndex({ seed, validator: accountAt(s, v), worker: workers[0] as Address, stage: 0, draw, itemCount: 4 })).toBe(
          onChain,
        );
      }
    }
    const sample = attestationSample({
      seed,
      validator: accountAt(s, 3),
      worker: workers[0] as Address,
      stage: 0,
      itemCount: 4,
      count: attestDraws(4, rates),
    });
    expect(sample.length).toBe(1);
    expect(sample[0]?.draw).toBe(0);
    // Round 1 (its commit window is open now): worker 0 continues its weights, worker 1 does not.
    const relayer = actionsOf(s, 0);
    round1.push(
      {
        ...(commitments[0] as Commitment),
        round: 1n,
        itemsRoot: itemsTree(items(0, 1, workers)).root,
        weightsRootBefore: h("after 0 0"),
        weightsRootAfter: h("after 0 1"),
      },
      {
        ...(commitments[1] as Commitment),
        round: 1n,
        itemsRoot: itemsTree(items(1, 1, workers)).root,
        weightsRootBefore: h("some other start"),
        weightsRootAfter: h("after 1 1"),
      },
    );
    await relayer.submitCommitments({
      signed: await Promise.all(round1.map((c, i) => relayer.signRoundCommitment({ commitment: c, signer: keys[i] }))),
    });
  });

  it("attests each validator's sampled leaves in one batch, rejects unsampled ones, and pays pro rata after finalization", async () => {
    const { seed } = await actionsOf(s, 3).getValidatorRound({ modelId: 1n, round: 0n, validator: accountAt(s, 3) });
    const attestationsOf = (v: number) =>
      commitments.map((c) => {
        const [hit] = attestationSample({
          seed,
          validator: accountAt(s, v),
          worker: c.worker,
          stage: c.stage,
          itemCount: 4,
          count: attestDraws(4, rates),
        });
        return {
          item: ledgerItem({ commitment: c, tree: itemsTree(items(c.stage, 0, workers)), index: hit?.index as number }),
          draw: hit?.draw as number,
        };
      });
    const three = attestationsOf(3);
    const wrong = {
      ...three[0],
      item: ledgerItem({
        commitment: commitments[0] as Commitment,
        tree: itemsTree(items(0, 0, workers)),
        index: ((three[0]?.item.leaf.index as number) + 1) % 4,
      }),
      draw: 0,
    };
    await expect(actionsOf(s, 3).attestItems({ attestations: [wrong] })).rejects.toBeInstanceOf(ComputeLedgerNotSampledError);
    // A stage-0 validator's batch with a stage-1 item is refused whole.
    await expect(actionsOf(s, 3).attestItems({ attestations: three })).rejects.toBeInstanceOf(ComputeLedgerNotStageValidatorError);
    const attested = await actionsOf(s, 3).attestItems({ attestations: three.slice(0, 1) });
    expect([attested.attested, attested.units]).toEqual([1, 3n]); // 3 units a stage-0 item
    await actionsOf(s, 5).attestItems({ attestations: attestationsOf(5).slice(1) });
    expect((await actionsOf(s, 0).getValidatorRound({ modelId: 1n, round: 0n, validator: accountAt(s, 5) })).units).toBe(5n); // 5 units a stage-1 item
    await actionsOf(s, 4).attestItems({ attestations: attestationsOf(4).slice(0, 1) });
    expect((await actionsOf(s, 0).getValidatorRound({ modelId: 1n, round: 0n, validator: accountAt(s, 4) })).units).toBe(3n);

    await s.networkHelpers.time.increaseTo(genesis + 7200n);
    await actionsOf(s, 0).finalizeRound({ modelId: 1n, round: 0n });
    const round = await actionsOf(s, 0).getRound({ modelId: 1n, round: 0n });
    expect(round.attestedUnits).toBe(11n);
    expect(round.validatorTokens).toBe((spec.emission.tokensPerRound * 1000n) / 10_000n);
    const three$ = await actionsOf(s, 9).mintValidatorReward({ modelId: 1n, round: 0n, validator: accountAt(s, 3) });
    expect([three$.tokens, three$.payout, three$.units]).toEqual([(round.validatorTokens * 3n) / 11n, accountAt(s, 13), 3n]);
    await expect(actionsOf(s, 9).mintValidatorReward({ modelId: 1n, round: 0n, validator: accountAt(s, 3) })).rejects.toBeInstanceOf(
      ComputeLedgerNothingToMintError,
    );
    const worker = await actionsOf(s, 9).mintReward({ modelId: 1n, round: 0n, worker: workers[0] as Address });
    expect(worker.workerTokens + worker.designerTokens).toBe(((spec.emission.tokensPerRound - round.validatorTokens) * 12n) / 32n);
  });

  it("slashes a worker whose round-1 start differs from its round-0 end, from the two stored commitments", async () => {
    const c = round1[1] as Commitment;
    const relayer = actionsOf(s, 0);
    const { slashedWei, rewardWei } = await actionsOf(s, 5).proveWeightsBreak({ previous: commitments[1] as Commitment, current: c });
    expect([slashedWei, rewardWei]).toEqual([parseEther("1"), parseEther("0.5")]);
    expect((await relayer.getStaker({ account: workers[1] as Address })).jailed).toBe(true);
    expect((await relayer.getCommitment({ modelId: 1n, round: 1n, stage: 1, worker: workers[1] as Address })).slashed).toBe(true);
  });

  it("a second challenge of a leaf under dispute fails in simulation with a typed error, before any bond moves", async () => {
    const c = round1[0] as Commitment;
    const item = ledgerItem({ commitment: c, tree: itemsTree(items(0, 1, workers)), index: 1 });
    const { disputeId } = await actionsOf(s, 3).challengeItem({ item });
    const before = await s.publicClient.getBalance({ address: accountAt(s, 4) });
    const second = actionsOf(s, 4).challengeItem({ item });
    await expect(second).rejects.toBeInstanceOf(ComputeLedgerItemAlreadyDisputedError);
    expect(((await second.catch((e: unknown) => e)) as ComputeLedgerItemAlreadyDisputedError).args).toEqual([disputeId]);
    expect(await s.publicClient.getBalance({ address: accountAt(s, 4) })).toBe(before);
  });
});
