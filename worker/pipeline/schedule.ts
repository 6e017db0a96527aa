/** One step of a stage's microbatch schedule. */
export type ScheduleOp = { op: "forward" | "backward"; microbatch: number };

/** Supported schedules: GPipe (all forwards, then all backwards) and 1F1B (PipeDream-Flush). */
export type ScheduleName = "gpipe" | "1f1b";

function checkArgs(stageIndex: number, stageCount: number, microbatches: number): void {
  if (!Number.isInteger(stageCount) || stageCount < 1) throw new RangeError(`stageCount ${stageCount} must be a positive integer`);
  if (!Number.isInteger(stageIndex) || stageIndex < 0 || stageIndex >= stageCount)
    throw new RangeError(`stageIndex ${stageIndex} must be in [0, ${stageCount})`);
  if (!Number.isInteger(microbatches) || microbatches < 1) throw new RangeError(`microbatches ${microbatches} must be a positive integer`);
}

/**
 * GPipe: forwards of microbatches 0..M-1, then backwards in reverse order (M-1..0), the same on
 * every stage. Holds M activations per stage at the peak.
 *
 * @example
 * gpipeSchedule(0, 2, 2) // F0 F1 B1 B0
 */
export function gpipeSchedule(stageIndex: number, stageCount: number, microbatches: number): ScheduleOp[] {
  checkArgs(stageIndex, stageCount, microbatches);
  const ops: ScheduleOp[] = [];
  for (let m = 0; m < microbatches; m++) ops.push({ op: "forward", microbatch: m });
  for (let m = microbatches - 1; m >= 0; m--) ops.push({ op: "backward", microbatch: m });
  return ops;
}

/**
 * 1F1B (PipeDream-Flush): stage s runs `min(S-s-1, M)` warm-up forwards, then alternates one
 * forward and one backward, then drains the remaining backwards. Same bubble as GPipe, but at
 * most S-s microbatches in flight on stage s instead of M.
 *
 * @example
 * oneFOneBSchedule(0, 2, 3) // F0 F1 B0 F2 B1 B2
 */
export function oneFOneBSchedule(stageIndex: number, stageCount: number, microbatches: number): ScheduleOp[] {
  checkArgs(stageIndex, stageCount, microbatches);
  const warmup = Math.min(stageCount - stageIndex - 1, microbatches);
  const ops: ScheduleOp[] = [];
  let nextForward = 0;
  let nextBackward = 0;
  for (; nextForward < warmup; nextForward++) ops.push({ op: "forward", microbatch: nextForward });
  while (nextForward < microbatches) {
    ops.push({ op: "forward", microbatch: nextForward++ });
    ops.push({ op: "backward", microbatch: nextBackward++ });
  }
  while (nextBackward < microbatches) ops.push({ op: "backward", microbatch: nextBackward++ });
  return ops;
}

/** The op sequence of `name` for one stage. */
export function stageSchedule(name: ScheduleName, stageIndex: number, stageCount: number, microbatches: number): ScheduleOp[] {
  return name === "gpipe" ? gpipeSchedule(stageIndex, stageCount, microbatches) : oneFOneBSchedule(stageIndex, stageCount, microbatches);
}

/** Ideal pipeline efficiency of a flushed schedule: busy fraction M/(M+S-1) when stages cost the same. */
export function idealEfficiency(stageCount: number, microbatches: number): number {
  return microbatches / (microbatches + stageCount - 1);
}
