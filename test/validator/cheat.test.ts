import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { calibrateTolerance } from "../../worker/validator/calibrate.ts";
import type { Tolerance } from "../../worker/validator/tolerance.ts";
import { type Bench, closeBench, runStrategy, setupBench, tinySpec } from "../../dev/validator/scenario.ts";
import { HONEST, STRATEGIES } from "../../dev/validator/strategies.ts";

let bench: Bench | undefined;
let tolerance: Tolerance;
// Calibrates the tolerance (cpu vs wasm, reruns) and pays for Hardhat's start and the corpus
// tokenization once (~30 s on 2 busy cores).
beforeAll(async () => {
  tolerance = (await calibrateTolerance(tinySpec(1), { backends: ["wasm", "cpu"] })).tolerance;
  await closeBench(await setupBench({ fraction: 0.25, tolerance }));
}, 180_000);
afterEach(async () => {
  if (bench) await closeBench(bench);
  bench = undefined;
});

const FRACTION = 0.25;

describe("cheating miners are caught and slashed; honest miners keep stake and rewards", () => {
  it("honest_twoRounds_noChallenge_fullRewards", async () => {
    bench = await setupBench({ fraction: FRACTION, tolerance });
    const o = await runStrategy(bench, HONEST, 2);
    expect(o.caught).toBe(false);
    expect(o.falseChallenges).toBe(0);
    const auditLog = bench.auditors.flatMap((v) => v.log);
    expect(auditLog.filter((e) => e.type === "attest").length).toBe(4); // 2 rounds x 2 commitments (one per stage's auditor) x 1 sampled item
    expect(auditLog.some((e) => e.type === "challenge" || e.type === "availability" || e.type === "weightsBreak")).toBe(false);
    // 4 microbatches per round: one attestable draw per commitment, all verified and recorded on-chain
    expect(o.attestedOnChain).toBe(4);
    expect(o.validatorRewardTokens).toBeGreaterThan(0n);
    expect(o.stakeLostWei).toBe(0n);
    expect(o.cheaterHonestRewardTokens).toBeGreaterThan(0n);
    for (const h of o.honest) expect([h.slashed, h.rewardTokens === h.expectedTokens]).toEqual([false, true]);
  }, 60_000);

  for (const strategy of STRATEGIES) {
    it(`cheat_${strategy.name}_caught_honestUnaffected`, async () => {
      bench = await setupBench({ fraction: FRACTION, tolerance });
      const o = await runStrategy(bench, strategy, 3);
      console.log(JSON.stringify(o, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
      expect(o.caught).toBe(true);
      expect(o.falseChallenges).toBe(0);
      if (o.how === "slashed")
        expect(o.stakeLostWei).toBe(10n ** 18n); // SLASH_BPS = 50% of the 2 ETH stake
      else expect(o.stakeLostWei).toBe(0n);
      expect(o.cheaterRewardTokens).toBe(0n);
      for (const h of o.honest) {
        expect(h.slashed).toBe(false);
        expect(h.stakeLostWei).toBe(0n);
        expect(h.rewardTokens).toBe(h.expectedTokens);
        expect(h.rewardTokens).toBeGreaterThan(0n);
      }
    }, 60_000);
  }

  it("copyPipeline_isChallengedBecauseItsStage0DataIsAnotherHeads", async () => {
    bench = await setupBench({ fraction: FRACTION, tolerance });
    const o = await runStrategy(bench, STRATEGIES.find((s) => s.name === "copyPipeline") as (typeof STRATEGIES)[number], 1);
    expect([o.caught, o.how]).toEqual([true, "slashed"]);
    const challenges = bench.auditors.flatMap((v) => v.log).filter((e) => e.type === "challenge");
    expect(challenges).toHaveLength(1);
    expect(challenges[0]).toMatchObject({ stage: 0, reason: expect.stringMatching(/not the microbatch assigned/) });
  }, 60_000);

  it("forgedSignature_and_otherRound_and_otherModel_areRejectedOnSubmission", async () => {
    bench = await setupBench({ fraction: FRACTION, tolerance });
    const byName = (n: string) => STRATEGIES.find((s) => s.name === n) as (typeof STRATEGIES)[number];
    expect((await runStrategy(bench, byName("forgedSignature"), 1)).rejectedWith).toBe("ComputeLedgerInvalidSignatureError");
    await closeBench(bench);
    bench = await setupBench({ fraction: FRACTION, tolerance });
    expect((await runStrategy(bench, byName("otherRoundCommitment"), 1)).rejectedWith).toBe("ComputeLedgerOutsideCommitWindowError");
    await closeBench(bench);
    bench = await setupBench({ fraction: FRACTION, tolerance });
    expect((await runStrategy(bench, byName("otherModelRejected"), 1)).rejectedWith).toBe("ComputeLedgerWrongWeightsRootError");
  }, 60_000);
});
