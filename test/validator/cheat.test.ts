import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { TOLERANCE_FLOOR } from "../../worker/validator/tolerance.ts";
import { closeBench, runStrategy, setupBench, type Bench } from "./scenario.ts";
import { STRATEGIES } from "./strategies.ts";

let bench: Bench | undefined;
// The first chain of the process pays for Hardhat's start and the corpus tokenization (~30 s on 2 busy cores).
beforeAll(async () => {
  await closeBench(await setupBench({ fraction: 0.25, tolerance: TOLERANCE_FLOOR }));
}, 180_000);
afterEach(async () => {
  if (bench) await closeBench(bench);
  bench = undefined;
});

describe("cheating miners are caught and slashed; honest miners keep stake and rewards", () => {
  for (const strategy of STRATEGIES) {
    it(`cheat_${strategy.name}_caught_honestUnaffected`, async () => {
      bench = await setupBench({ fraction: 0.25, tolerance: TOLERANCE_FLOOR });
      const o = await runStrategy(bench, strategy, 3);
      console.log(JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
      expect(o.caught).toBe(true);
      expect(o.falseChallenges).toBe(0);
      if (o.how === "slashed") expect(o.stakeLostWei).toBeGreaterThan(0n);
      expect(o.cheaterRewardTokens).toBe(0n);
      for (const h of o.honest) {
        expect(h.slashed).toBe(false);
        expect(h.stakeLostWei).toBe(0n);
        expect(h.rewardTokens).toBe(h.expectedTokens);
        expect(h.rewardTokens).toBeGreaterThan(0n);
      }
    }, 60_000);
  }
});
