import { readContract } from "viem/actions";
import { describe, expect, it } from "vitest";
import { committedPipeline, pastChallengeWindow, recordingClient, toChallengeWindow } from "../../../test/sdk/eventScenarios.ts";
import { accountAt, actionsOf, deployShardholder } from "../../../test/sdk/fixture.ts";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import { getLedgerParameters } from "../ledger/getLedgerParameters.ts";
import { getAttestations } from "./getAttestations.ts";
import { getValidatorRewardMints } from "./getValidatorRewardMints.ts";
import { ledgerItem } from "./ledgerItem.ts";
import { attestationSample, attestDraws } from "./sample.ts";

describe("validator events and the ledger's parameters", () => {
  it("getLedgerParameters reads every constant the ledger exposes, as the ledger answers it", async () => {
    const s = await deployShardholder();
    const params = await actionsOf(s, 0).getLedgerParameters();
    const constantOf = {
      attestSampleBps: "ATTEST_SAMPLE_BPS",
      maxAttestDraws: "MAX_ATTEST_DRAWS",
      maxAttestBatch: "MAX_ATTEST_BATCH",
      ringSize: "RING_SIZE",
      disputeWindows: "DISPUTE_WINDOWS",
      maxAppeals: "MAX_APPEALS",
      slashBps: "SLASH_BPS",
      winnerShareBps: "WINNER_SHARE_BPS",
      voterShareBps: "VOTER_SHARE_BPS",
      votePenaltyBps: "VOTE_PENALTY_BPS",
      dismissFeeBps: "DISMISS_FEE_BPS",
      availabilityBondBps: "AVAILABILITY_BOND_BPS",
      unbondingDelaySec: "UNBONDING_DELAY_SEC",
    } as const;
    expect(Object.keys(params).sort()).toEqual(Object.keys(constantOf).sort());
    for (const [field, functionName] of Object.entries(constantOf)) {
      const onChain = await readContract(s.publicClient, {
        abi: computeLedgerAbi,
        address: s.deployments.contracts.computeLedger,
        functionName,
      });
      expect(BigInt(params[field as keyof typeof constantOf]), field).toBe(onChain);
    }
    // The rate validators are paid for: 10% of a round's microbatches, at most MAX_ATTEST_DRAWS.
    const rates = { sampleBps: params.attestSampleBps, maxDraws: params.maxAttestDraws };
    expect(attestDraws(4, rates)).toBe(1);
    expect(attestDraws(32, rates)).toBe(4);
    expect(attestDraws(640, rates)).toBe(params.maxAttestDraws);
  });

  it("getAttestations and getValidatorRewardMints list a validator's on-chain attestations and its minted reward", async () => {
    const p = await committedPipeline();
    const { s, commitments, trees } = p;
    const validator = actionsOf(s, 4);
    const { attestSampleBps, maxAttestDraws } = await getLedgerParameters(s.publicClient, { deployments: s.deployments });
    await toChallengeWindow(p);
    const { seed } = await validator.sealRoundSeed({ modelId: 1n, round: 0n });
    // Validators hold one stage: wallet 4 validates stage 0 (test/sdk/eventScenarios.ts).
    const attestations = commitments.slice(0, 1).map((c, stage) => {
      const [hit] = attestationSample({
        seed,
        validator: accountAt(s, 4),
        worker: c.worker,
        stage,
        itemCount: 4,
        count: attestDraws(4, { sampleBps: attestSampleBps, maxDraws: maxAttestDraws }),
      });
      if (!hit) throw new Error("no draw");
      return { item: ledgerItem({ commitment: c, tree: trees[stage as 0 | 1], index: hit.index }), draw: hit.draw };
    });
    const attested = await validator.attestItems({ attestations });
    const query = { deployments: s.deployments, modelId: 1n };
    const { client, fromBlocks } = recordingClient(s);
    const listed = await getAttestations(client, query);
    expect(fromBlocks).toEqual([BigInt(s.deployments.deployedAtBlock)]);
    expect(listed).toEqual(
      attestations.map(({ item }) => ({
        modelId: 1n,
        round: 0n,
        validator: accountAt(s, 4),
        worker: item.worker,
        stage: item.stage,
        microbatch: item.leaf.microbatch,
        units: item.stage === 0 ? 3n : 5n,
        blockNumber: attested.receipt.blockNumber,
        transactionHash: attested.transactionHash,
        logIndex: expect.any(Number),
      })),
    );
    expect(listed.reduce((t, a) => t + a.units, 0n)).toBe(attested.units);
    expect(await getAttestations(client, { ...query, validator: accountAt(s, 5) })).toEqual([]);
    expect(await getAttestations(client, { ...query, round: 1n })).toEqual([]);
    expect(await getAttestations(client, { ...query, fromBlock: attested.receipt.blockNumber + 1n })).toEqual([]);

    expect(await getValidatorRewardMints(client, query)).toEqual([]);
    await pastChallengeWindow(p);
    await actionsOf(s, 9).finalizeRound({ modelId: 1n, round: 0n });
    const minted = await actionsOf(s, 9).mintValidatorReward({ modelId: 1n, round: 0n, validator: accountAt(s, 4) });
    const mints = await getValidatorRewardMints(client, { ...query, validator: accountAt(s, 4) });
    expect(mints).toEqual([
      {
        modelId: 1n,
        round: 0n,
        validator: accountAt(s, 4),
        payout: accountAt(s, 4),
        tokens: minted.tokens,
        units: attested.units,
        blockNumber: minted.receipt.blockNumber,
        transactionHash: minted.transactionHash,
        logIndex: expect.any(Number),
      },
    ]);
    expect(minted.tokens).toBeGreaterThan(0n);
    expect(await getValidatorRewardMints(client, { ...query, validator: accountAt(s, 5) })).toEqual([]);
    expect(await getValidatorRewardMints(client, { ...query, fromBlock: minted.receipt.blockNumber + 1n })).toEqual([]);
  });
});
