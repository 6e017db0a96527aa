import { parseEther, zeroAddress } from "viem";
import { describe, expect, it } from "vitest";
import {
  committedPipeline,
  type CommittedPipeline,
  drawnCommittee,
  eventSpec,
  recordingClient,
  toChallengeWindow,
} from "../../../test/sdk/eventScenarios.ts";
import { accountAt, actionsOf } from "../../../test/sdk/fixture.ts";
import { DisputeNotFoundError } from "../../errors/events.ts";
import { DisputeKind, DisputeStatus } from "../../protocol/disputeStatus.ts";
import { ledgerItem } from "../validator/ledgerItem.ts";
import { getAvailabilityChallenges } from "./getAvailabilityChallenges.ts";
import { challengedItems, getDisputedItem } from "./getDisputedItem.ts";
import { getDisputes } from "./getDisputes.ts";
import { getSlashes } from "./getSlashes.ts";

/** Validator 4 challenges leaf 2 of stage 0's round-0 commitment (worker 1). */
async function challengeStage0(p: CommittedPipeline) {
  await toChallengeWindow(p);
  const item = ledgerItem({ commitment: p.commitments[0], tree: p.trees[0], index: 2 });
  return { item, ...(await actionsOf(p.s, 4).challengeItem({ item })) };
}

/** Draws the dispute's committee, every member votes `fraud`, the appeal window passes, it is resolved. */
async function voteAndResolve(p: CommittedPipeline, disputeId: bigint, fraud: boolean) {
  const { members, seats } = await drawnCommittee(p, disputeId);
  for (const m of members) {
    const wallet = [4, 5, 6, 7].find((v) => accountAt(p.s, v) === m);
    if (wallet === undefined) throw new Error(`${m} is not a validator of the scenario`);
    await actionsOf(p.s, wallet).vote({ disputeId, fraud });
  }
  await p.s.networkHelpers.time.increase(eventSpec.timing.voteWindowSec);
  return { seats, resolved: await actionsOf(p.s, 9).resolveDispute({ disputeId }) };
}

describe("dispute events: disputes, disputed items, slashes, availability demands", () => {
  it("getDisputes follows an item dispute from open to fraud; getSlashes lists its one slash", async () => {
    const p = await committedPipeline();
    const { s } = p;
    const opened = await challengeStage0(p);
    const query = { deployments: s.deployments, modelId: 1n };
    const { client, fromBlocks } = recordingClient(s);
    const [open, ...others] = await getDisputes(client, query);
    expect(others).toEqual([]);
    expect(open).toEqual({
      disputeId: opened.disputeId,
      modelId: 1n,
      round: 0n,
      kind: DisputeKind.Item,
      accused: accountAt(s, 1),
      counterparty: zeroAddress,
      challenger: accountAt(s, 4),
      bondWei: opened.bondWei,
      drawBlock: opened.drawBlock,
      status: DisputeStatus.Open,
      resolution: undefined,
      blockNumber: opened.receipt.blockNumber,
      transactionHash: opened.transactionHash,
      logIndex: expect.any(Number),
    });
    // Openings from the deployment block; resolutions from the first opening on.
    expect(fromBlocks).toEqual([BigInt(s.deployments.deployedAtBlock), opened.receipt.blockNumber]);
    expect(await getSlashes(client, query)).toEqual([]);

    const { seats, resolved } = await voteAndResolve(p, opened.disputeId, true);
    const [fraud] = await getDisputes(client, query);
    expect(fraud?.status).toBe(DisputeStatus.Fraud);
    expect(fraud?.resolution).toEqual({
      status: DisputeStatus.Fraud,
      fraudSeats: seats,
      honestSeats: 0,
      blockNumber: resolved.receipt.blockNumber,
      transactionHash: resolved.transactionHash,
      logIndex: expect.any(Number),
    });
    expect((await actionsOf(s, 0).getDispute({ disputeId: opened.disputeId })).status).toBe(DisputeStatus.Fraud);
    // As of a block before the resolution, the dispute was still open.
    const before = await getDisputes(client, { ...query, toBlock: resolved.receipt.blockNumber - 1n });
    expect(before.map((d) => [d.status, d.resolution])).toEqual([[DisputeStatus.Open, undefined]]);
    expect(await getDisputes(client, { ...query, fromBlock: opened.receipt.blockNumber + 1n })).toEqual([]);
    expect(await getDisputes(client, { ...query, round: 1n })).toEqual([]);
    expect((await getDisputes(client, { ...query, disputeId: opened.disputeId })).length).toBe(1);

    const { slashBps, winnerShareBps } = await actionsOf(s, 0).getLedgerParameters();
    const slashedWei = (parseEther("2") * BigInt(slashBps)) / 10_000n;
    const slashes = await getSlashes(client, query);
    expect(slashes).toEqual([
      {
        modelId: 1n,
        round: 0n,
        worker: accountAt(s, 1),
        slashedWei,
        rewardWei: (slashedWei * BigInt(winnerShareBps)) / 10_000n,
        burnedWei: expect.any(BigInt),
        unitsRemoved: 4n * (eventSpec.unitsPerMicrobatch[0] as bigint),
        blockNumber: resolved.receipt.blockNumber,
        transactionHash: resolved.transactionHash,
        logIndex: expect.any(Number),
      },
    ]);
    expect(await getSlashes(client, { ...query, worker: accountAt(s, 2) })).toEqual([]);
    expect(await getSlashes(client, { ...query, fromBlock: resolved.receipt.blockNumber + 1n })).toEqual([]);
  });

  it("getDisputedItem returns the challenged leaf exactly as submitted; an unknown dispute is DisputeNotFoundError", async () => {
    const p = await committedPipeline();
    const opened = await challengeStage0(p);
    const disputed = await actionsOf(p.s, 9).getDisputedItem({ disputeId: opened.disputeId });
    expect(disputed).toEqual({
      disputeId: opened.disputeId,
      kind: DisputeKind.Item,
      item: opened.item,
      downstream: undefined,
      transactionHash: opened.transactionHash,
    });
    await expect(
      getDisputedItem(p.s.publicClient, { deployments: p.s.deployments, disputeId: opened.disputeId + 1n }),
    ).rejects.toBeInstanceOf(DisputeNotFoundError);
    // Scanning from after the opening does not find it.
    const after = getDisputedItem(p.s.publicClient, {
      deployments: p.s.deployments,
      disputeId: opened.disputeId,
      fromBlock: opened.receipt.blockNumber + 1n,
    });
    await expect(after).rejects.toBeInstanceOf(DisputeNotFoundError);
    // Calldata of another ledger call holds no item.
    const tx = await p.s.publicClient.getTransaction({ hash: p.submitted });
    expect(challengedItems(tx.input)).toBeUndefined();
  });

  it("getDisputedItem returns both leaves of a chain break, and getDisputes names the counterparty", async () => {
    const p = await committedPipeline({ breakAt: 1 });
    await toChallengeWindow(p);
    const upstream = ledgerItem({ commitment: p.commitments[0], tree: p.trees[0], index: 1 });
    const downstream = ledgerItem({ commitment: p.commitments[1], tree: p.trees[1], index: 1 });
    const opened = await actionsOf(p.s, 5).challengeChainBreak({ upstream, downstream });
    const disputed = await getDisputedItem(p.s.publicClient, { deployments: p.s.deployments, disputeId: opened.disputeId });
    expect(disputed).toEqual({
      disputeId: opened.disputeId,
      kind: DisputeKind.ChainBreak,
      item: upstream,
      downstream,
      transactionHash: opened.transactionHash,
    });
    const [d] = await getDisputes(p.s.publicClient, { deployments: p.s.deployments, modelId: 1n });
    expect([d?.kind, d?.accused, d?.counterparty, d?.challenger]).toEqual([
      DisputeKind.ChainBreak,
      accountAt(p.s, 1),
      accountAt(p.s, 2),
      accountAt(p.s, 5),
    ]);
  });

  it("getAvailabilityChallenges follows demands to an answer and to a slash, which getSlashes lists once", async () => {
    const p = await committedPipeline();
    const { s } = p;
    await toChallengeWindow(p);
    const toWorker1 = await actionsOf(s, 4).challengeAvailability({ modelId: 1n, round: 0n, stage: 0, worker: accountAt(s, 1), index: 0 });
    const toWorker2 = await actionsOf(s, 5).challengeAvailability({ modelId: 1n, round: 0n, stage: 1, worker: accountAt(s, 2), index: 3 });
    const query = { deployments: s.deployments, modelId: 1n };
    const { client, fromBlocks } = recordingClient(s);
    const open = await getAvailabilityChallenges(client, query);
    expect(fromBlocks[0]).toBe(BigInt(s.deployments.deployedAtBlock));
    expect(open).toEqual([
      {
        challengeId: toWorker1.challengeId,
        modelId: 1n,
        round: 0n,
        stage: 0,
        index: 0,
        worker: accountAt(s, 1),
        challenger: accountAt(s, 4),
        bondWei: toWorker1.bondWei,
        deadline: BigInt(toWorker1.deadline),
        status: "open",
        revealed: undefined,
        closed: undefined,
        blockNumber: toWorker1.receipt.blockNumber,
        transactionHash: toWorker1.transactionHash,
        logIndex: expect.any(Number),
      },
      expect.objectContaining({ challengeId: toWorker2.challengeId, worker: accountAt(s, 2), stage: 1, index: 3, status: "open" }),
    ]);

    const item = ledgerItem({ commitment: p.commitments[0], tree: p.trees[0], index: 0 });
    const answer = await actionsOf(s, 1).revealItem({ challengeId: toWorker1.challengeId, item });
    await s.networkHelpers.time.increaseTo(toWorker2.deadline + 1);
    const slash = await actionsOf(s, 9).slashUnavailable({ challengeId: toWorker2.challengeId });

    const [answered, slashed] = await getAvailabilityChallenges(client, query);
    expect([answered?.status, answered?.revealed, answered?.closed?.transactionHash]).toEqual([
      "answered",
      { itemsRoot: item.itemsRoot, leaf: item.leaf },
      answer.transactionHash,
    ]);
    expect([slashed?.status, slashed?.revealed, slashed?.closed?.transactionHash]).toEqual(["slashed", undefined, slash.transactionHash]);
    // Outcomes as of a block before the answer; filters by worker (not indexed) and round.
    expect((await getAvailabilityChallenges(client, { ...query, toBlock: answer.receipt.blockNumber - 1n })).map((c) => c.status)).toEqual([
      "open",
      "open",
    ]);
    expect((await getAvailabilityChallenges(client, { ...query, worker: accountAt(s, 2) })).map((c) => c.challengeId)).toEqual([
      toWorker2.challengeId,
    ]);
    expect(await getAvailabilityChallenges(client, { ...query, round: 1n })).toEqual([]);
    expect(await getAvailabilityChallenges(client, { ...query, fromBlock: toWorker2.receipt.blockNumber + 1n })).toEqual([]);
    // The unanswered demand slashed worker 2 once; the answered one slashed nobody.
    expect((await getSlashes(client, query)).map((x) => [x.worker, x.transactionHash])).toEqual([[accountAt(s, 2), slash.transactionHash]]);
  });
});
