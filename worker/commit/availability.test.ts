import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { shardholderActions } from "../../sdk/decorator.ts";
import {
  ComputeLedgerLeafIndexOutOfRangeError,
  ComputeLedgerNotStageValidatorError,
  ComputeLedgerResponseWindowOpenError,
} from "../../sdk/errors/contractErrors.ts";
import { type Commitment, itemsTree, type MicrobatchItem, signCommitment } from "../../sdk/protocol/index.ts";
import { ContentStore } from "../p2p/content.ts";
import { answerAvailabilityChallenges } from "./availability.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec();

/** `n` leaves at slots 0..n-1 holding microbatches `microbatchOf(slot)`, each naming the given neighbours. */
function items(
  n: number,
  tag: string,
  links: { upstream: Address; downstream: Address },
  microbatchOf = (slot: number) => slot,
): MicrobatchItem[] {
  return Array.from({ length: n }, (_, index) => ({
    index,
    microbatch: microbatchOf(index),
    inputActHash: h(`in ${tag} ${index}`),
    outputActHash: h(`out ${tag} ${index}`),
    upstreamGradHash: h(`up ${tag} ${index}`),
    inputGradHash: `0x${"00".repeat(32)}`,
    gradRoot: h(`g ${tag} ${index}`),
    weightsRoot: h(`w ${tag}`),
    ...links,
  }));
}

describe("data availability: a signed itemCount must have leaves behind it", () => {
  let s: Shardholder;
  const client = (i: number) =>
    (s.wallets[i] as NonNullable<Shardholder["wallets"][number]>).extend(shardholderActions({ deployments: s.deployments }));
  const honestKey = privateKeyToAccount(generatePrivateKey());
  const cheatKey = privateKeyToAccount(generatePrivateKey());
  let honest: Address;
  let cheater: Address;
  const honestStore = new ContentStore();
  let genesis: bigint;

  beforeAll(async () => {
    s = await deployShardholder();
    honest = accountAt(s, 1);
    cheater = accountAt(s, 2);
    await client(0).registerModel({ spec });
    genesis = (await client(0).getModel({ modelId: 1n })).genesisTime;
    await client(1).stake({ payout: honest, signingKey: honestKey.address, valueWei: parseEther("2") });
    await client(2).stake({ payout: cheater, signingKey: cheatKey.address, valueWei: parseEther("2") });
    await client(3).stake({ payout: accountAt(s, 3), signingKey: accountAt(s, 3), valueWei: parseEther("1") });
    await client(3).setValidator({ modelId: 1n, stage: 0, validator: true });
    // Validators hold one stage: 4 demands the stage-1 cheater's leaves.
    await client(4).stake({ payout: accountAt(s, 4), signingKey: accountAt(s, 4), valueWei: parseEther("1") });
    await client(4).setValidator({ modelId: 1n, stage: 1, validator: true });

    const chainId = s.deployments.chainId;
    const ledger = s.deployments.contracts.computeLedger;
    // The honest miner commits 4 leaves and serves them; the cheater signs itemCount 4 over a one-leaf tree.
    // The honest miner holds microbatches 1, 4, 7 and 10 of the round (a replica's subset): demands name slots.
    const full = items(4, "honest", { upstream: zeroAddress, downstream: cheater }, (slot) => 3 * slot + 1);
    const honestCommitment: Commitment = {
      modelId: 1n,
      round: 0n,
      stage: 0,
      worker: honest,
      itemsRoot: itemsTree(full).root,
      itemCount: 4,
      weightsRootBefore: spec.initialWeightsRoots[0] as Hex,
      weightsRootAfter: h("after"),
    };
    const one = items(1, "cheat", { upstream: honest, downstream: zeroAddress });
    const cheatCommitment: Commitment = {
      ...honestCommitment,
      worker: cheater,
      stage: 1,
      itemsRoot: itemsTree(one).root,
      weightsRootBefore: spec.initialWeightsRoots[1] as Hex,
    };
    const signedHonest = await signCommitment(honestKey, { ledger, chainId, commitment: honestCommitment });
    honestStore.putManifest({ commitment: honestCommitment, signature: signedHonest, items: full });
    await client(0).submitCommitments({
      signed: [
        { commitment: honestCommitment, signature: signedHonest },
        { commitment: cheatCommitment, signature: await signCommitment(cheatKey, { ledger, chainId, commitment: cheatCommitment }) },
      ],
    });
    await s.networkHelpers.time.increaseTo(genesis + BigInt(spec.timing.commitWindowSec));
  });

  it("honestMiner_answersDemandedLeaf_keepsStake_andEarnsTheBond", async () => {
    const { challengeId, bondWei } = await client(3).challengeAvailability({ modelId: 1n, round: 0n, stage: 0, worker: honest, index: 3 });
    const answered = await answerAvailabilityChallenges(
      {
        wallet: s.wallets[1] as never,
        publicClient: s.publicClient,
        deployments: s.deployments,
        modelId: 1n,
        worker: honest,
        store: honestStore,
      },
      new Set(),
    );
    expect(answered).toEqual({ answered: [challengeId], unanswerable: [] });
    // Slot 3 was demanded and revealed: the replica's microbatch 10, with the neighbours it names.
    const [demand] = await client(0).getAvailabilityChallenges({ modelId: 1n, challengeId });
    expect(demand?.status).toBe("answered");
    expect(demand?.revealed?.leaf).toMatchObject({ index: 3, microbatch: 10, upstream: zeroAddress, downstream: cheater });
    expect((await client(0).getPayments({ account: honest })) >= bondWei).toBe(true);
    await s.networkHelpers.time.increase(spec.timing.voteWindowSec + 1);
    await expect(client(3).slashUnavailable({ challengeId })).rejects.toThrow(/AvailabilityNotOpen/);
    expect((await client(0).getStaker({ account: honest })).stakeWei).toBe(parseEther("2"));
  });

  it("overclaimer_cannotAnswerMissingLeaf_isSlashedAfterTheDeadlineOnly", async () => {
    await expect(client(3).challengeAvailability({ modelId: 1n, round: 0n, stage: 1, worker: cheater, index: 2 })).rejects.toBeInstanceOf(
      ComputeLedgerNotStageValidatorError,
    );
    await expect(client(4).challengeAvailability({ modelId: 1n, round: 0n, stage: 1, worker: cheater, index: 4 })).rejects.toBeInstanceOf(
      ComputeLedgerLeafIndexOutOfRangeError,
    );
    const { challengeId } = await client(4).challengeAvailability({ modelId: 1n, round: 0n, stage: 1, worker: cheater, index: 2 });
    // The cheater holds no manifest with leaf 2 (its tree has one leaf): nothing to answer with.
    const answered = await answerAvailabilityChallenges(
      {
        wallet: s.wallets[2] as never,
        publicClient: s.publicClient,
        deployments: s.deployments,
        modelId: 1n,
        worker: cheater,
        store: new ContentStore(),
      },
      new Set(),
    );
    expect(answered).toEqual({ answered: [], unanswerable: [challengeId] });
    await expect(client(3).slashUnavailable({ challengeId })).rejects.toBeInstanceOf(ComputeLedgerResponseWindowOpenError);
    await s.networkHelpers.time.increase(spec.timing.voteWindowSec + 1);
    await client(4).slashUnavailable({ challengeId });
    const st = await client(0).getStaker({ account: cheater });
    expect([st.jailed, st.stakeWei]).toEqual([true, parseEther("1")]);
    expect((await client(0).getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: cheater })).slashed).toBe(true);
  });
});
