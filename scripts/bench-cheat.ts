/**
 * Adversarial bench (issue 6): real rounds (libp2p pipeline, in-process Hardhat chain, staked
 * validators re-executing sampled items) with honest miners and each cheating strategy in turn.
 * Writes bench/cheat.json and the calibrated tolerance beside the bench's model spec.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { canonicalSpecJson, specHash } from "../worker/model/index.ts";
import { calibrateTolerance } from "../worker/validator/calibrate.ts";
import { writeToleranceSidecar } from "../worker/validator/tolerance.ts";
import * as tf from "@tensorflow/tfjs";
import { closeBench, MINER_STAKE_WEI, runStrategy, setupBench, type StrategyOutcome, tinySpec } from "../dev/validator/scenario.ts";
import { HONEST, STRATEGIES } from "../dev/validator/strategies.ts";

const FRACTION = 0.1;
const MAX_ROUNDS = 5;
const json = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

mkdirSync("bench", { recursive: true });
const spec = tinySpec(1);
const specPath = "bench/cheat-spec.json";
writeFileSync(specPath, canonicalSpecJson(spec));
const calibration = await calibrateTolerance(spec, { backends: ["wasm", "cpu"], samples: 4 });
writeToleranceSidecar(specPath, calibration);
const { tolerance } = calibration;
console.log(`tolerance (spec ${specHash(spec)}): ${json(calibration.tolerance)}`);

const strategies: Record<string, unknown> = {};
for (const strategy of STRATEGIES) {
  const bench = await setupBench({ fraction: FRACTION, tolerance });
  const o = await runStrategy(bench, strategy, MAX_ROUNDS);
  await closeBench(bench);
  strategies[o.name] = {
    caught: o.caught,
    how: o.how,
    rejectedWith: o.rejectedWith,
    roundsUntilSlashed: o.how === "slashed" ? o.roundsUntilCaught : null,
    roundsUntilCaught: o.roundsUntilCaught,
    stakeLostWei: o.stakeLostWei,
    rewardEarnedTokens: o.cheaterRewardTokens,
    rewardEarnedBeforeCheatingTokens: o.cheaterHonestRewardTokens,
    honestMinersUnaffected: o.honest.every((h) => !h.slashed && h.stakeLostWei === 0n && h.rewardTokens === h.expectedTokens),
    falseChallenges: o.falseChallenges,
  };
  console.log(`${o.name}: caught=${o.caught} (${o.how}) rounds=${o.roundsUntilCaught}`);
}

// Honest control and validator cost at three requested sampling rates, 20 microbatches per stage and
// round. Validators never sample below the ledger's attestation floor, so each row also records the
// rate it really re-executed (items re-executed / items trained).
const cost: Record<string, unknown> = {};
let honestFalseChallenges = 0;
let honestSlashed = 0;
let honestRounds = 0;
for (const fraction of [0.05, 0.1, 0.2]) {
  const bench = await setupBench({ fraction, tolerance, microbatches: 20 });
  const o: StrategyOutcome = await runStrategy(bench, HONEST, 2);
  await closeBench(bench);
  honestFalseChallenges += o.falseChallenges;
  honestSlashed += o.honest.filter((h) => h.slashed).length + (o.stakeLostWei > 0n ? 1 : 0);
  honestRounds += o.rounds;
  const row = {
    requestedFraction: fraction,
    effectiveFraction: o.validatorItems / o.itemsTrained,
    itemsReexecuted: o.validatorItems,
    itemsTrained: o.itemsTrained,
    computeFractionByTime: o.validatorComputeMs / o.trainingComputeMs,
    computeFractionByFlops: o.validatorFlops / o.trainingFlops,
    validatorComputeMs: o.validatorComputeMs,
    trainingComputeMs: o.trainingComputeMs,
  };
  cost[`${Math.round(fraction * 100)}%`] = row;
  console.log(`sampling ${fraction} (really ${row.effectiveFraction.toFixed(3)}): ${json(row)}`);
}

const blocksPerStage = [...new Set(spec.stages.map(([start, end]) => end - start))].join("/");
const report = {
  generatedAt: new Date().toISOString(),
  setup: {
    model: `${spec.stages.length}-stage char transformer, dModel ${spec.dModel}, ${blocksPerStage} block(s) per stage, ${spec.microbatchSize}x${spec.contextLength} tokens per microbatch`,
    stakeWei: MINER_STAKE_WEI.toString(),
    samplingFraction: FRACTION,
    maxRounds: MAX_ROUNDS,
    backend: tf.getBackend(),
    wire: "int8",
  },
  tolerance: calibration,
  strategies,
  caughtAll: Object.values(strategies).every((s) => (s as { caught: boolean }).caught),
  honest: { falseChallenges: honestFalseChallenges, honestMinersSlashed: honestSlashed, rounds: honestRounds },
  validatorCost: cost,
};
// The serving section is bench-serving.ts's: kept as it is.
const previous = existsSync("bench/cheat.json") ? (JSON.parse(readFileSync("bench/cheat.json", "utf8")) as { serving?: unknown }) : {};
writeFileSync("bench/cheat.json", `${json({ ...report, serving: previous.serving })}\n`);
console.log("wrote bench/cheat.json");
process.exit(0);
