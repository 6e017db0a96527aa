/**
 * What one training run of the pipeline measured, from its stages' `round` events (pure; the
 * definitions bench/swarm.json states).
 */
import type { RoundTimings } from "../../../worker/pipeline/runner.ts";

/** The part of a stage's `round` event the summary reads. */
export type RoundSample = { losses: number[]; bytesSent: number; timings: RoundTimings };

export type StageSummary = {
  stage: number;
  wallMs: number;
  busyMs: number;
  computeMs: number;
  codecMs: number;
  idleMs: number;
  /** busyMs / wallMs: the round's time this stage was not blocked waiting for a neighbour's frame. */
  efficiency: number;
  /** computeMs / wallMs: forward, backward and optimizer step only (no codec, no sends). */
  computeEfficiency: number;
};

export type RunSummary = {
  /** Tokens trained per second of the pipeline: tokens of a round / the slowest stage's round wall time. */
  tokensPerSecond: number;
  secondsPerStep: number;
  /** Mean of the stages' efficiencies (see {@link StageSummary}). */
  pipelineEfficiency: number;
  pipelineComputeEfficiency: number;
  /** Application bytes all stages sent per optimizer step (frame length prefix + header + payload). */
  bytesSentPerStep: number;
  meanLossLastRound: number;
  stages: StageSummary[];
};

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * Summarizes measured rounds: `perStage[s]` are stage s's round samples (warm-up already left
 * out), `tokensPerRound` the tokens one round trains (steps x microbatches x B x T).
 *
 * @example
 * summarizeRun([s0Rounds, s1Rounds, s2Rounds], { tokensPerRound: 8 * 4 * 8 * 32, stepsPerRound: 8 })
 */
export function summarizeRun(
  perStage: readonly (readonly RoundSample[])[],
  { tokensPerRound, stepsPerRound }: { tokensPerRound: number; stepsPerRound: number },
): RunSummary {
  if (perStage.length === 0 || perStage.some((r) => r.length === 0)) throw new RangeError("every stage needs at least one measured round");
  const stages = perStage.map((rounds, stage): StageSummary => {
    const wallMs = mean(rounds.map((r) => r.timings.wallMs));
    const busyMs = mean(rounds.map((r) => r.timings.busyMs));
    const computeMs = mean(rounds.map((r) => r.timings.forwardMs + r.timings.backwardMs + r.timings.stepMs));
    return {
      stage,
      wallMs,
      busyMs,
      computeMs,
      codecMs: mean(rounds.map((r) => r.timings.codecMs)),
      idleMs: mean(rounds.map((r) => r.timings.idleMs)),
      efficiency: busyMs / wallMs,
      computeEfficiency: computeMs / wallMs,
    };
  });
  const roundMs = Math.max(...stages.map((s) => s.wallMs));
  const last = perStage[perStage.length - 1] as readonly RoundSample[];
  return {
    tokensPerSecond: tokensPerRound / (roundMs / 1000),
    secondsPerStep: roundMs / 1000 / stepsPerRound,
    pipelineEfficiency: mean(stages.map((s) => s.efficiency)),
    pipelineComputeEfficiency: mean(stages.map((s) => s.computeEfficiency)),
    bytesSentPerStep: perStage.reduce((n, rounds) => n + mean(rounds.map((r) => r.bytesSent)), 0) / stepsPerRound,
    meanLossLastRound: mean((last[last.length - 1] as RoundSample).losses),
    stages,
  };
}
