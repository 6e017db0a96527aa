// The devnet's own child processes, found by parent pid. A child that was spawned but not yet
// handed to the devnet (a serving stage still starting up when Ctrl-C arrives) is not in its list,
// and would outlive the devnet; this finds it so it can be stopped by its pid.
import { readdirSync, readFileSync } from "node:fs";

/** Parent pid of `pid` from `/proc/<pid>/stat`, or undefined (gone, or no procfs). */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** Pids whose parent is `parent` (default: this process); empty where procfs does not exist. */
export function childPids(parent = process.pid): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => parentPid(pid) === parent);
}

/** Whether `pid` is still a running process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * SIGTERMs every remaining child of this process, SIGKILLs those still alive after `graceMs`,
 * and resolves once none is left (or the grace ran out twice). Returns the pids it signalled.
 */
export async function stopStrayChildren(graceMs = 3_000): Promise<number[]> {
  const pids = childPids();
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isAlive)) signal(pid, "SIGKILL");
  return pids;
}
