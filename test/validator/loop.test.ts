import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf } from "../sdk/fixture.ts";
import { DisputeStatus } from "../../sdk/protocol/disputeStatus.ts";
import { createStage, specHash } from "../../worker/model/index.ts";
import { commitMined, createMiner, type MinedRound, MinerPipeline, type StageMiner } from "../../dev/cheat/miner.ts";
import { randomGradients } from "../../dev/cheat/strategies.ts";
import { runValidatorLoop } from "../../worker/validator/run.ts";
import { TOLERANCE_FLOOR } from "../../worker/validator/tolerance.ts";
import type { Validator } from "../../worker/validator/validator.ts";
import { type Bench, closeBench, setupBench } from "../../dev/validator/scenario.ts";

let bench: Bench | undefined;
const miners: StageMiner[] = [];
afterAll(async () => {
  for (const m of miners) {
    m.stage.dispose();
    await m.node.stop();
  }
  if (bench) await closeBench(bench);
});

describe("runValidatorLoop", () => {
  it("auditsAfterCommitWindow_committeeLoopsVote_disputeResolved_cheaterSlashed", async () => {
    bench = await setupBench({ fraction: 0.25, tolerance: TOLERANCE_FLOOR });
    const { s, spec } = bench;
    for (const [stage, wallet] of [
      [0, 6],
      [1, 7],
    ] as const) {
      const signer = privateKeyToAccount(generatePrivateKey());
      const st = stage === 1 ? randomGradients(createStage(spec, 1), spec) : createStage(spec, 0);
      const m = await createMiner({ worker: accountAt(s, wallet), signer, stage: st });
      await actionsOf(s, wallet).stake({ payout: accountAt(s, wallet), signingKey: signer.address, valueWei: parseEther("2") });
      bench.peers.set(m.worker, m.address);
      miners.push(m);
    }
    const pipeline = await MinerPipeline.connect(miners, specHash(spec));
    const mined = await pipeline.run({ round: 0n, microbatches: 4, data: bench.data });
    const ledger = s.deployments.contracts.computeLedger;
    const signed = await Promise.all(
      miners.map((m, i) => commitMined(m, mined[i] as MinedRound, { modelId: 1n, round: 0n, ledger, chainId: s.deployments.chainId })),
    );
    await actionsOf(s, 0).submitCommitments({ signed });

    // Validators hold one stage: stage 1's auditor challenges the stage-1 cheater, stage 0's auditor
    // attests the honest stage-0 items (and so earns the round's validator reward).
    const [stage0Auditor, stage1Auditor, ...members] = bench.validators as [Validator, Validator, ...Validator[]];
    const stop = new AbortController();
    // Committee members only watch disputes (their next audit, round 1, is an hour of chain time away).
    const committee = members.map((v) => runValidatorLoop({ validator: v, fromRound: 1n, pollMs: 20, signal: stop.signal }));
    const audits: bigint[] = [];
    const rewards: bigint[] = [];
    const auditing = Promise.all([
      runValidatorLoop({
        validator: stage1Auditor,
        fromRound: 0n,
        untilRound: 0n,
        pollMs: 20,
        onAudit: (_, a) => audits.push(...a.disputes),
      }),
      runValidatorLoop({
        validator: stage0Auditor,
        fromRound: 0n,
        untilRound: 0n,
        pollMs: 20,
        onAudit: (_, a) => audits.push(...a.disputes),
        onReward: (_, tokens) => rewards.push(tokens),
      }),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(audits).toEqual([]); // the commit window is still open: nothing sampled yet
    await s.networkHelpers.time.increaseTo(bench.genesis + 3600n);
    // The auditor stays past its last round until its reward is minted: once the dispute is
    // resolved, let the challenge window pass so the round can be finalized.
    // Once the committee has voted, move the clock past the appeal window (nobody appeals a unanimous verdict).
    for (;;) {
      const d = audits.length === 0 ? undefined : await actionsOf(s, 0).getDispute({ disputeId: audits[0] as bigint });
      if (d?.status === DisputeStatus.Fraud) break;
      if (d && d.appealDeadline !== 0 && (await s.publicClient.getBlock()).timestamp < BigInt(d.appealDeadline))
        await s.networkHelpers.time.increaseTo(d.appealDeadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rewards).toEqual([]);
    const { timing } = await actionsOf(s, 0).getModel({ modelId: 1n });
    await s.networkHelpers.time.increaseTo(bench.genesis + 3600n + BigInt(timing.challengeWindowSec) + 1n);
    await auditing;
    expect(rewards.length).toBe(1);
    expect(rewards[0]).toBeGreaterThan(0n);
    stop.abort();
    await Promise.all(committee);
    expect(audits.length).toBe(1);
    const d = await actionsOf(s, 0).getDispute({ disputeId: audits[0] as bigint });
    expect([d.status, d.accused]).toEqual([2, miners[1]?.worker]);
    expect((await actionsOf(s, 0).getStaker({ account: miners[1]?.worker as `0x${string}` })).jailed).toBe(true);
    expect((await actionsOf(s, 0).getStaker({ account: miners[0]?.worker as `0x${string}` })).jailed).toBe(false);
    // Every drawn member (5 stake-weighted seats; stage 1's only other validator holds them all) voted fraud once.
    const panel = await actionsOf(s, 0).getPanel({ disputeId: audits[0] as bigint, level: 0 });
    expect(panel.reduce((n, seat) => n + seat.seats, 0)).toBe(5);
    expect(panel.every((seat) => seat.vote === 1)).toBe(true);
    expect(members.flatMap((v) => v.log).filter((e) => e.type === "vote" && e.fraud).length).toBe(panel.length);
  }, 120_000);
});
