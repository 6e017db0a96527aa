// The network view's refreshes scan only the blocks after the last one they read, and still show
// exactly what a full scan from the deployment shows: through a dispute opened in one refresh and
// resolved in a later one, and across a chain that went back to an earlier state (a reorg's
// stand-in: the last block read no longer has its hash).
import { createClient } from "viem";
import { hardhat } from "viem/chains";
import { describe, expect, it } from "vitest";
import { loadActivity, loadModels, type ModelSummary } from "../../app/src/data/network.ts";
import { DisputeStatus } from "../../sdk/protocol/disputeStatus.ts";
import { ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import {
  committedPipeline,
  type CommittedPipeline,
  drawnCommittee,
  eventSpec,
  pastChallengeWindow,
  recordingTransport,
  toChallengeWindow,
} from "../sdk/eventScenarios.ts";
import { accountAt, actionsOf, type Shardholder } from "../sdk/fixture.ts";
import type { ReadClient } from "../../app/src/readClient.ts";

/** A client like the page's (bare, with its chain) on the test chain, recording each `eth_getLogs`'s `fromBlock`. */
function recordingReadClient(s: Shardholder): { client: ReadClient; fromBlocks: bigint[] } {
  const { transport, fromBlocks } = recordingTransport(s);
  return { client: createClient({ chain: hardhat, transport }), fromBlocks };
}

/** Validator 4 challenges leaf 2 of stage 0's round-0 commitment; the committee votes fraud; it is resolved. */
async function challenge(p: CommittedPipeline): Promise<bigint> {
  await toChallengeWindow(p);
  const item = ledgerItem({ commitment: p.commitments[0], tree: p.trees[0], index: 2 });
  return (await actionsOf(p.s, 4).challengeItem({ item })).disputeId;
}

async function voteFraudAndResolve(p: CommittedPipeline, disputeId: bigint): Promise<void> {
  const { members } = await drawnCommittee(p, disputeId);
  for (const m of members) {
    const wallet = [4, 5, 6, 7].find((v) => accountAt(p.s, v) === m);
    if (wallet === undefined) throw new Error(`${m} is not a validator of the scenario`);
    await actionsOf(p.s, wallet).vote({ disputeId, fraud: true });
  }
  await p.s.networkHelpers.time.increase(eventSpec.timing.voteWindowSec);
  await actionsOf(p.s, 9).resolveDispute({ disputeId });
}

describe("network view: incremental event scans", () => {
  it("each refresh reads only new blocks and equals a full scan, through a dispute's opening and resolution and a chain gone back", async () => {
    const p = await committedPipeline();
    const { s } = p;
    const { client, fromBlocks } = recordingReadClient(s);
    const [model] = (await loadModels(client, s.deployments)) as [ModelSummary];
    const full = async () => (await loadActivity(client, s.deployments, model)).activity;
    const deployedAt = BigInt(s.deployments.deployedAtBlock);

    // First refresh: everything from the deployment block.
    const first = await loadActivity(client, s.deployments, model);
    expect(fromBlocks.length).toBeGreaterThan(0);
    expect(fromBlocks.every((b) => b === deployedAt)).toBe(true);
    expect(first.activity.miners.map((m) => m.worker)).toEqual([accountAt(s, 1), accountAt(s, 2)]);
    const snapshot = await s.networkHelpers.takeSnapshot();

    // No new block: nothing is asked of the node's logs, the numbers stay.
    fromBlocks.length = 0;
    const idle = await loadActivity(client, s.deployments, model, first.events);
    expect(fromBlocks).toEqual([]);
    expect(idle.activity).toEqual(first.activity);

    // A dispute opens: only the blocks after the first refresh are read.
    const disputeId = await challenge(p);
    fromBlocks.length = 0;
    const opened = await loadActivity(client, s.deployments, model, first.events);
    expect(fromBlocks.length).toBeGreaterThan(0);
    expect(fromBlocks.every((b) => b > first.events.through.number)).toBe(true);
    expect(opened.activity.disputes.map((d) => [d.disputeId, d.status])).toEqual([[disputeId, DisputeStatus.Open]]);
    expect(opened.activity).toEqual(await full());

    // It is resolved (fraud: the worker slashed) and the round finalized later: the open dispute is
    // read again from its own block, everything else from the block after the last refresh.
    await voteFraudAndResolve(p, disputeId);
    await pastChallengeWindow(p);
    await actionsOf(s, 9).finalizeRound({ modelId: 1n, round: 0n });
    const openedAt = opened.activity.disputes[0]?.blockNumber as bigint;
    fromBlocks.length = 0;
    const resolved = await loadActivity(client, s.deployments, model, opened.events);
    expect(fromBlocks.length).toBeGreaterThan(0);
    expect(fromBlocks.every((b) => b > opened.events.through.number || b === openedAt)).toBe(true);
    expect(fromBlocks.filter((b) => b === openedAt).length).toBeGreaterThan(0);
    expect(resolved.activity.disputes.map((d) => [d.disputeId, d.status])).toEqual([[disputeId, DisputeStatus.Fraud]]);
    expect(resolved.activity.finalRounds).toEqual([0n]);
    expect(resolved.activity.miners.reduce((t, m) => t + m.slashes, 0)).toBe(1);
    expect(resolved.activity).toEqual(await full());

    // The chain goes back to before the dispute and grows past the last block read: that block has
    // another hash now, so the refresh reads everything again and shows no dispute.
    await snapshot.restore();
    const head = await s.publicClient.getBlockNumber();
    await s.networkHelpers.mine(Number(resolved.events.through.number - head) + 2);
    fromBlocks.length = 0;
    const reorged = await loadActivity(client, s.deployments, model, resolved.events);
    expect(fromBlocks.every((b) => b === deployedAt)).toBe(true);
    expect(reorged.activity.disputes).toEqual([]);
    expect(reorged.activity).toEqual(await full());
  }, 240_000);
});
