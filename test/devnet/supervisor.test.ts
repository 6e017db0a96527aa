// The devnet's supervisor on real child processes: a killed process comes back with the same
// command (its OS-picked port pinned, so neighbours' addresses stay valid), a clean exit is not
// restarted, a crash loop is given up on, and stop() ends the restarts.
import { describe, expect, it } from "vitest";
import { pinListenPort } from "../../scripts/lib/devnet/miners.ts";
import { type RestartRecord, SupervisedProcess } from "../../scripts/lib/devnet/supervisor.ts";
import type { ChildEvent } from "../../worker/serve/launch.ts";

const CHILD = "test/devnet/supervisedChild.ts";
const listening = (e: ChildEvent) => e.msg === "listening";

describe("SupervisedProcess", () => {
  it("test_crash_restartsWithSameCommandOnThePortFirstBound", async () => {
    const restarts: RestartRecord[] = [];
    let first: ChildEvent | undefined;
    const proc = new SupervisedProcess({
      name: "child",
      script: CHILD,
      args: () => pinListenPort(["--listen", "/ip4/127.0.0.1/tcp/0"], first),
      onEvent: (e) => void (first ??= listening(e) ? e : undefined),
      onRestart: (r) => restarts.push(r),
    });
    try {
      const before = await proc.waitUntil("first listening", listening, 30_000);
      proc.crash();
      const after = await proc.waitUntil("second listening", (e) => listening(e) && e.pid !== before.pid, 30_000);
      expect(after.addrs).toEqual(before.addrs);
      expect(restarts).toHaveLength(1);
      expect(restarts[0]?.pid).toBe(before.pid);
      expect(proc.pids).toEqual([before.pid, after.pid]);
    } finally {
      await proc.stop();
    }
    // Stopped for good: the exit resolves and no incarnation follows.
    expect(await proc.exit).toBe(0);
    expect(proc.running).toBe(false);
    expect(restarts).toHaveLength(1);
  });

  it("test_cleanExit_isNotRestarted", async () => {
    const proc = new SupervisedProcess({ name: "done", script: CHILD, args: () => ["--exit", "0"] });
    expect(await proc.exit).toBe(0);
    expect(proc.restarts).toEqual([]);
  });

  it("test_crashLoop_givesUpAndFailsWaiters", async () => {
    const proc = new SupervisedProcess({ name: "loop", script: CHILD, args: () => ["--exit", "15"], maxRestarts: 2 });
    await expect(proc.waitUntil("never", () => false, 60_000)).rejects.toThrow(/exited 2 times/);
    expect(await proc.exit).toBe(15);
    expect(proc.restarts.map((r) => r.code)).toEqual([15, 15]);
  });
});
