import { writeFile } from "node:fs/promises";
import { keccak256, parseEther, toHex } from "viem";
import type { ModelSpec as RegistryModelSpec } from "../../../sdk/actions/models/registerModel.ts";
import { canonicalSpecJson, defaultModelSpec, type ModelSpec, specHash } from "../../../worker/model/spec.ts";
import { stageTrainingFlops } from "../../../worker/model/layout.ts";
import { generateText, type SamplingParameters } from "../../../worker/model/generate.ts";
import { createStage, initialWeightsRoots } from "../../../worker/model/stage.ts";

/** Optimizer steps in each round of the demo model. */
export const DEMO_STEPS_PER_ROUND = 48;

/**
 * The demo model: the worker's default char transformer, small enough that a step of 1,024 tokens
 * takes ~0.13 s on one core, and a round of many steps. Learning rate from a sweep of single-process
 * runs (same data, eval on the held-out split): after 400 steps 5e-3 reached 2.29 nats held-out,
 * 1e-2 2.45, 2e-2 2.65, 3e-2 2.64 (dModel 128 at 5e-3: 2.56 after 250 steps, at 2.8x the time a step).
 */
export function demoModelSpec(stageCount: number, { stepsPerRound = DEMO_STEPS_PER_ROUND }: { stepsPerRound?: number } = {}): ModelSpec {
  return defaultModelSpec({
    stageCount,
    layers: Math.max(3, stageCount),
    dModel: 64,
    microbatchSize: 8,
    contextLength: 32,
    learningRate: 5e-3,
    stepsPerRound,
  });
}

/** Compute units of one microbatch of each stage: its training MFLOPs (derived from the spec, never self-reported). */
export function unitsPerMicrobatch(spec: ModelSpec): bigint[] {
  return spec.stages.map((_, s) => BigInt(Math.max(1, Math.round(stageTrainingFlops(spec, s) / 1e6))));
}

/** Round timing: the devnet moves the clock, so windows only need to outlast a round's real time. */
export const DEMO_TIMING = { commitWindowSec: 3600, challengeWindowSec: 120, voteWindowSec: 60 } as const;

/**
 * Name and symbol of the demo model's token: with a `runId` (the devnet's run directory name) each
 * run's token is told apart from the last one's in a wallet or an explorer: the name carries the
 * run id, the symbol 4 hex digits of its hash (`SHBC-3F9A`).
 */
export function demoTokenNames(runId?: string): { name: string; symbol: string } {
  if (runId === undefined) return { name: "Shardholder Brown Char", symbol: "SHBC" };
  return { name: `Shardholder Brown Char (devnet run ${runId})`, symbol: `SHBC-${keccak256(toHex(runId)).slice(2, 6).toUpperCase()}` };
}

/** Registry terms of the demo model (tfjs must have a backend: the initial roots build the stages). */
export function demoRegistryTerms(
  spec: ModelSpec,
  { runId, metadataURI }: { runId?: string | undefined; metadataURI?: string | undefined } = {},
): RegistryModelSpec {
  return {
    ...demoTokenNames(runId),
    specHash: specHash(spec),
    initialWeightsRoots: initialWeightsRoots(spec),
    unitsPerMicrobatch: unitsPerMicrobatch(spec),
    microbatchesPerRound: spec.microbatchesPerStep * spec.stepsPerRound,
    emission: { tokensPerRound: parseEther("1000"), decayBps: 100, capTokens: parseEther("1000000") },
    protocolFeeBps: 200,
    operatorFeeBps: 3000,
    designerEmissionBps: 1000,
    // Set aside each round for the validators that attested its items (paid only if some did).
    validatorEmissionBps: 500,
    minRequestFeeWei: parseEther("0.001"),
    timing: DEMO_TIMING,
    minWorkerStakeWei: parseEther("1"),
    minValidatorStakeWei: parseEther("1"),
    metadataURI: metadataURI ?? "shardholder://demo/brown-char",
  };
}

/** Writes the canonical spec JSON (what the stage processes load and hash). */
export async function writeSpecFile(spec: ModelSpec, file: string): Promise<void> {
  await writeFile(file, canonicalSpecJson(spec));
}

/**
 * What the model says before any training, decoded like the serving pipeline decodes (same
 * sampling, request 0): the baseline the summary sets the trained completions against. Built from
 * the spec's public initial weights in this process, then freed; no trained shard is ever here.
 */
export function untrainedCompletion(
  spec: ModelSpec,
  prompt: string,
  maxNewTokens: number,
  sampling: SamplingParameters | undefined,
): string {
  const stages = spec.stages.map((_, s) => createStage(spec, s));
  try {
    return generateText(spec, stages, prompt, maxNewTokens, sampling ? { sampling, request: 0n } : undefined);
  } finally {
    for (const stage of stages) stage.dispose();
  }
}
