// Resident memory of the network's processes, sampled from /proc while the chaos bench runs: the
// peak and the last value per role and time window are what bench/chaos.json reports.
import { readFileSync } from "node:fs";

/** RSS of `pid` in MB from `/proc/<pid>/status` (VmRSS), or undefined when it is gone. */
export function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** One sample: wall time (ms since the sampler started) and RSS per role. */
export type RssSample = { t: number; mb: Record<string, number> };

/** Peak and last RSS (MB) of each role over a window of samples. */
export type RssWindow = Record<string, { peakMb: number; finalMb: number }>;

/**
 * Samples the RSS of every role every `everyMs` (the current pid of each role: a restarted
 * process is followed to its new pid). `stop()` ends the timer.
 */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    everyMs = 1_000,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  /** Takes one sample now and returns it. */
  sample(): RssSample {
    const mb: Record<string, number> = {};
    for (const [role, pid] of Object.entries(this.pids())) {
      const v = rssMb(pid);
      if (v !== undefined) mb[role] = v;
    }
    const s = { t: Date.now() - this.started, mb };
    this.samples.push(s);
    return s;
  }

  /** The sampler's clock now (ms), for window bounds. */
  now(): number {
    return Date.now() - this.started;
  }

  /** Peak and last value per role of samples taken in `[from, to]` (sampler clock). */
  window(from: number, to: number): RssWindow {
    const out: RssWindow = {};
    for (const s of this.samples.filter((x) => x.t >= from && x.t <= to))
      for (const [role, mb] of Object.entries(s.mb)) {
        const w = (out[role] ??= { peakMb: mb, finalMb: mb });
        w.peakMb = Math.max(w.peakMb, mb);
        w.finalMb = mb;
      }
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
