import type { Hex } from "viem";
import { modelTokenAbi } from "../../abi/modelToken.ts";
import { describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, mintRound } from "../../../test/sdk/fixture.ts";
import { committedPipeline, eventSpec, pastChallengeWindow, recordingClient, toChallengeWindow } from "../../../test/sdk/eventScenarios.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import { ledgerItem } from "../validator/ledgerItem.ts";
import { getAcceptedCommitments } from "./getAcceptedCommitments.ts";
import { getRewardMints } from "./getRewardMints.ts";
import { getRoundFinalizations } from "./getRoundFinalizations.ts";
import { getVoidedCommitments } from "./getVoidedCommitments.ts";

describe("commitment events: accepted, voided, finalized rounds", () => {
  it("getAcceptedCommitments lists a submitted batch from the deployment block on, and nothing after it", async () => {
    const p = await committedPipeline();
    const { s, commitments, submitted } = p;
    const receipt = await s.publicClient.getTransactionReceipt({ hash: submitted });
    const { client, fromBlocks } = recordingClient(s);
    const accepted = await getAcceptedCommitments(client, { deployments: s.deployments, modelId: 1n });
    // Scanned from the address book's deployment block, not from block 0.
    expect(s.deployments.deployedAtBlock).toBeGreaterThan(0);
    expect(fromBlocks).toEqual([BigInt(s.deployments.deployedAtBlock)]);
    expect(accepted).toEqual(
      commitments.map((c) => ({
        modelId: 1n,
        round: 0n,
        stage: c.stage,
        worker: c.worker,
        itemsRoot: c.itemsRoot,
        units: BigInt(c.itemCount) * (eventSpec.unitsPerMicrobatch[c.stage] as bigint),
        blockNumber: receipt.blockNumber,
        transactionHash: submitted,
        logIndex: expect.any(Number),
      })),
    );
    const query = { deployments: s.deployments, modelId: 1n };
    expect(await getAcceptedCommitments(client, { ...query, fromBlock: receipt.blockNumber + 1n })).toEqual([]);
    expect(await getAcceptedCommitments(client, { ...query, toBlock: receipt.blockNumber - 1n })).toEqual([]);
    expect((await getAcceptedCommitments(client, { ...query, fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber })).length).toBe(
      2,
    );
    // Filters: indexed (round, worker) and not (stage).
    expect((await getAcceptedCommitments(client, { ...query, stage: 1 })).map((c) => c.worker)).toEqual([accountAt(s, 2)]);
    expect((await getAcceptedCommitments(client, { ...query, worker: accountAt(s, 1) })).map((c) => c.stage)).toEqual([0]);
    expect(await getAcceptedCommitments(client, { ...query, round: 1n })).toEqual([]);
    expect(await getAcceptedCommitments(client, { ...query, modelId: 2n })).toEqual([]);
    // The decorator binds the address book.
    expect(await actionsOf(s, 9).getAcceptedCommitments({ modelId: 1n })).toEqual(accepted);
  });

  it("raises a fromBlock below the deployment block to it, and asks the node nothing for an empty range", async () => {
    const { s } = await committedPipeline();
    const { client, fromBlocks } = recordingClient(s);
    const all = await getAcceptedCommitments(client, { deployments: s.deployments, modelId: 1n, fromBlock: 0n });
    expect(all.length).toBe(2);
    expect(fromBlocks).toEqual([BigInt(s.deployments.deployedAtBlock)]);
    // A poll whose head has not moved (fromBlock = head + 1, toBlock = head).
    const head = await s.publicClient.getBlockNumber();
    expect(await getAcceptedCommitments(client, { deployments: s.deployments, modelId: 1n, fromBlock: head + 1n, toBlock: head })).toEqual(
      [],
    );
    expect(fromBlocks.length).toBe(1);
    // An address book claiming a later deployment hides what came before it.
    const later = { ...s.deployments, deployedAtBlock: Number(head) + 1 };
    expect(await getAcceptedCommitments(client, { deployments: later, modelId: 1n })).toEqual([]);
  });

  it("getVoidedCommitments lists a copy voided by proveUnlinked, with the neighbour that proved it", async () => {
    const p = await committedPipeline();
    const { s, commitments, trees } = p;
    // Wallet 3 commits a verbatim copy of stage 1's leaves: each names stage 0's worker, whose leaf names wallet 2.
    const copy = { ...commitments[1], worker: accountAt(s, 3) };
    await p.submit(copy);
    await toChallengeWindow(p);
    const query = { deployments: s.deployments, modelId: 1n };
    expect(await getVoidedCommitments(s.publicClient, query)).toEqual([]);
    const leaf = (commitment: Commitment, stage: 0 | 1) => ledgerItem({ commitment, tree: trees[stage], index: 2 });
    const proof = await actionsOf(s, 4).proveUnlinked({
      item: leaf(copy, 1),
      neighbour: leaf(commitments[0], 0),
      partner: leaf(commitments[1], 1),
    });
    const voided = await getVoidedCommitments(s.publicClient, query);
    expect(voided).toEqual([
      {
        modelId: 1n,
        round: 0n,
        stage: 1,
        worker: accountAt(s, 3),
        neighbour: accountAt(s, 1),
        removedUnits: proof.removedUnits,
        blockNumber: proof.receipt.blockNumber,
        transactionHash: proof.transactionHash,
        logIndex: expect.any(Number),
      },
    ]);
    expect(proof.removedUnits).toBe(4n * (eventSpec.unitsPerMicrobatch[1] as bigint));
    expect(await getVoidedCommitments(s.publicClient, { ...query, worker: accountAt(s, 2) })).toEqual([]);
    expect(await getVoidedCommitments(s.publicClient, { ...query, fromBlock: proof.receipt.blockNumber + 1n })).toEqual([]);
    // Still listed as accepted: it was, before it was voided.
    expect((await getAcceptedCommitments(s.publicClient, { ...query, worker: accountAt(s, 3) })).length).toBe(1);
  });

  it("getRoundFinalizations names the finalizing transaction and the round's totals", async () => {
    const s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: eventSpec });
    const query = { deployments: s.deployments, modelId: 1n };
    expect(await getRoundFinalizations(s.publicClient, query)).toEqual([]);
    await mintRound(s, { modelId: 1n, workers: [1, 2], payouts: [accountAt(s, 1), accountAt(s, 2)] });
    const [finalized, ...more] = await getRoundFinalizations(s.publicClient, { ...query, round: 0n });
    expect(more).toEqual([]);
    const round = await actionsOf(s, 0).getRound({ modelId: 1n, round: 0n });
    expect(finalized).toMatchObject({
      modelId: 1n,
      round: 0n,
      totalUnits: round.totalUnits,
      emissionTokens: eventSpec.emission.tokensPerRound,
    });
    const receipt = await s.publicClient.getTransactionReceipt({ hash: finalized?.transactionHash as Hex });
    expect([receipt.status, receipt.blockNumber]).toEqual(["success", finalized?.blockNumber]);
    expect(await getRoundFinalizations(s.publicClient, { ...query, round: 1n })).toEqual([]);
    expect(await getRoundFinalizations(s.publicClient, { ...query, fromBlock: (finalized?.blockNumber as bigint) + 1n })).toEqual([]);
  });

  it("getRewardMints lists each worker's minted reward: its payout, tokens, designer share and units", async () => {
    const s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: eventSpec });
    const query = { deployments: s.deployments, modelId: 1n };
    expect(await getRewardMints(s.publicClient, query)).toEqual([]);
    const payouts = [accountAt(s, 11), accountAt(s, 12)] as const;
    await mintRound(s, { modelId: 1n, workers: [1, 2], payouts: [payouts[0], payouts[1]] });
    const mints = await getRewardMints(s.publicClient, query);
    expect(mints.map((m) => [m.round, m.worker, m.payout])).toEqual([
      [0n, accountAt(s, 1), payouts[0]],
      [0n, accountAt(s, 2), payouts[1]],
    ]);
    // Every token a payout holds came from its mint; the units are the round's.
    const token = await actionsOf(s, 0).getModelToken({ modelId: 1n });
    for (const m of mints) {
      expect(
        await s.publicClient.readContract({ abi: modelTokenAbi, address: token.address, functionName: "balanceOf", args: [m.payout] }),
      ).toBe(m.workerTokens);
      expect(m.designerTokens).toBeGreaterThan(0n);
    }
    const round = await actionsOf(s, 0).getRound({ modelId: 1n, round: 0n });
    expect(mints.reduce((t, m) => t + m.units, 0n)).toBe(round.totalUnits);
    expect((await getRewardMints(s.publicClient, { ...query, worker: accountAt(s, 2) })).map((m) => m.payout)).toEqual([payouts[1]]);
    expect(await getRewardMints(s.publicClient, { ...query, round: 1n })).toEqual([]);
    expect(await actionsOf(s, 9).getRewardMints({ modelId: 1n, fromBlock: (mints[1]?.blockNumber as bigint) + 1n })).toEqual([]);
  });

  it("a round whose challenge window passed without finalization has no entry", async () => {
    const p = await committedPipeline();
    await pastChallengeWindow(p);
    expect(await getRoundFinalizations(p.s.publicClient, { deployments: p.s.deployments, modelId: 1n })).toEqual([]);
    await actionsOf(p.s, 9).finalizeRound({ modelId: 1n, round: 0n });
    expect((await getRoundFinalizations(p.s.publicClient, { deployments: p.s.deployments, modelId: 1n })).map((f) => f.totalUnits)).toEqual(
      [4n * (3n + 5n)],
    );
  });
});
