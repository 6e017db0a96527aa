import { describe, expect, it } from "vitest";
import { gpipeSchedule, idealEfficiency, oneFOneBSchedule, type ScheduleName, type ScheduleOp, stageSchedule } from "./schedule.ts";

const fmt = (ops: ScheduleOp[]): string => ops.map((o) => `${o.op === "forward" ? "F" : "B"}${o.microbatch}`).join(" ");

/**
 * Simulates S stages running their schedules with unit-cost ops: F(s,m) needs F(s-1,m) done,
 * B(s,m) needs B(s+1,m) and F(s,m) done. Returns the makespan, or throws on deadlock.
 */
function simulate(name: ScheduleName, S: number, M: number): { makespan: number; peakInFlight: number[] } {
  const schedules = Array.from({ length: S }, (_, s) => stageSchedule(name, s, S, M));
  const done = new Map<string, number>();
  const cursor = new Array<number>(S).fill(0);
  const free = new Array<number>(S).fill(0);
  const inFlight = new Array<number>(S).fill(0);
  const peakInFlight = new Array<number>(S).fill(0);
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (let s = 0; s < S; s++) {
      const op = schedules[s]?.[cursor[s] as number];
      if (!op) continue;
      const deps =
        op.op === "forward"
          ? s === 0
            ? []
            : [`F${s - 1}:${op.microbatch}`]
          : [`F${s}:${op.microbatch}`, ...(s === S - 1 ? [] : [`B${s + 1}:${op.microbatch}`])];
      if (!deps.every((d) => done.has(d))) continue;
      const start = Math.max(free[s] as number, ...deps.map((d) => done.get(d) as number));
      const end = start + 1;
      done.set(`${op.op === "forward" ? "F" : "B"}${s}:${op.microbatch}`, end);
      free[s] = end;
      inFlight[s] = (inFlight[s] as number) + (op.op === "forward" ? 1 : -1);
      peakInFlight[s] = Math.max(peakInFlight[s] as number, inFlight[s] as number);
      cursor[s] = (cursor[s] as number) + 1;
      progressed = true;
    }
  }
  cursor.forEach((c, s) => {
    if (c !== schedules[s]?.length) throw new Error(`deadlock at stage ${s}`);
  });
  return { makespan: Math.max(...free), peakInFlight };
}

describe("microbatch schedules", () => {
  it("gpipe_runsAllForwardsThenBackwardsInReverse", () => {
    expect(fmt(gpipeSchedule(1, 3, 3))).toBe("F0 F1 F2 B2 B1 B0");
  });

  it("oneFOneB_warmsUpByDistanceToTheLastStage", () => {
    expect(fmt(oneFOneBSchedule(0, 3, 4))).toBe("F0 F1 F2 B0 F3 B1 B2 B3");
    expect(fmt(oneFOneBSchedule(1, 3, 4))).toBe("F0 F1 B0 F2 B1 F3 B2 B3");
    expect(fmt(oneFOneBSchedule(2, 3, 4))).toBe("F0 B0 F1 B1 F2 B2 F3 B3");
    expect(fmt(oneFOneBSchedule(0, 4, 2))).toBe("F0 F1 B0 B1");
  });

  it("everySchedule_runsEachMicrobatchOnceEachWay_backwardAfterForward", () => {
    for (const name of ["gpipe", "1f1b"] as const)
      for (let S = 1; S <= 5; S++)
        for (let M = 1; M <= 7; M++)
          for (let s = 0; s < S; s++) {
            const ops = stageSchedule(name, s, S, M);
            expect(ops).toHaveLength(2 * M);
            for (let m = 0; m < M; m++) {
              const f = ops.findIndex((o) => o.op === "forward" && o.microbatch === m);
              const b = ops.findIndex((o) => o.op === "backward" && o.microbatch === m);
              expect(f).toBeGreaterThanOrEqual(0);
              expect(b).toBeGreaterThan(f);
            }
          }
  });

  it("bothSchedules_areDeadlockFree_andReachTheIdealBubble", () => {
    for (const name of ["gpipe", "1f1b"] as const)
      for (let S = 1; S <= 5; S++)
        for (let M = 1; M <= 8; M++) {
          const { makespan } = simulate(name, S, M);
          // Each stage is busy 2M units; ideal efficiency M/(M+S-1) means makespan 2(M+S-1).
          expect(makespan, `${name} S=${S} M=${M}`).toBe(2 * (M + S - 1));
          expect((2 * M) / makespan).toBeCloseTo(idealEfficiency(S, M), 12);
        }
  });

  it("oneFOneB_boundsActivationsInFlight_gpipeDoesNot", () => {
    const S = 4;
    const M = 8;
    expect(simulate("1f1b", S, M).peakInFlight).toEqual([4, 3, 2, 1]);
    expect(simulate("gpipe", S, M).peakInFlight).toEqual([8, 8, 8, 8]);
  });

  it("rejectsBadArguments", () => {
    expect(() => gpipeSchedule(3, 3, 1)).toThrow(RangeError);
    expect(() => oneFOneBSchedule(0, 0, 1)).toThrow(RangeError);
    expect(() => oneFOneBSchedule(0, 2, 0)).toThrow(RangeError);
  });
});
