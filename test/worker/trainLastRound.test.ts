// A stage killed in the pipeline's last round, on the real thing (two `shardholder train`
// processes, libp2p on loopback, an in-process chain over HTTP). The survivor must not read the
// dead neighbour's closed connection as "finished": it waits (end markers, finishPipeline), the
// supervisor (this test) restarts the dead stage with the same flags, the round is rerun in
// lockstep where needed, and every commitment of every round lands once.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type Address, parseAbiItem } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { JOURNAL_FILE } from "../../worker/journal/index.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { driveRounds, type KillChain, setupKillChain, type StageProcess, stageArgs, startStage } from "./trainKillSetup.ts";

const UNTIL = 1n; // rounds 0..1: round 1 is the last

const chains: KillChain[] = [];
afterAll(async () => {
  for (const c of chains) await c.close();
  await Promise.all(chains.map((c) => rm(c.dir, { recursive: true, force: true })));
});

/** Resolves once `dir`'s journal holds a record `match` accepts (the file is polled every 3 ms, as the kill tests do). */
async function journaled(dir: string, match: (r: Record<string, unknown>) => boolean): Promise<void> {
  for (;;) {
    const text = await readFile(path.join(dir, JOURNAL_FILE), "utf8").catch(() => "");
    const lines = text.split("\n").slice(0, -1);
    if (lines.some((l) => match(JSON.parse(l.slice(0, l.lastIndexOf("\t"))) as Record<string, unknown>))) return;
    await new Promise((r) => setTimeout(r, 3));
  }
}

/**
 * Runs pipeline 0 to the end; `victim` is SIGKILLed once its journal holds a record `when`
 * accepts, then restarted with the same flags (the supervisor's job). Returns every incarnation's logs.
 */
async function runWithKill(c: KillChain, victim: number, when: (r: Record<string, unknown>) => boolean) {
  const ports = [await fixedLoopbackPort(), await fixedLoopbackPort()];
  const dirs = [0, 1].map((stage) => path.join(c.dir, `journal-s${stage}-${victim}`));
  const args = [0, 1].map((stage) => stageArgs(c, { pipeline: 0, stage, journalDir: dirs[stage] as string, ports, until: UNTIL }));
  const procs: StageProcess[][] = [[startStage(args[0] as string[])], [startStage(args[1] as string[])]];
  const driver = driveRounds(c, [c.workers[0] as Address[]], UNTIL);
  try {
    await journaled(dirs[victim] as string, when);
    const first = procs[victim]?.[0] as StageProcess;
    first.child.kill("SIGKILL");
    await first.exit;
    const restarted = startStage(args[victim] as string[]);
    procs[victim]?.push(restarted);
    const exits = await Promise.all([procs[0]?.at(-1)?.exit, procs[1]?.at(-1)?.exit]);
    return { procs, exits };
  } finally {
    await driver.stop();
  }
}

async function acceptedKeys(c: KillChain): Promise<string[]> {
  const logs = await c.s.publicClient.getLogs({
    address: c.s.deployments.contracts.computeLedger,
    event: parseAbiItem(
      "event CommitmentAccepted(uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, bytes32 itemsRoot, uint64 units)",
    ),
    args: { modelId: 1n },
    fromBlock: 0n,
  });
  return logs
    .filter((l) => (c.workers[0] as Address[]).includes(l.args.worker as Address))
    .map((l) => `${l.args.round}:${l.args.stage}`)
    .sort();
}

describe("shardholder train: a stage killed in the last round rejoins", () => {
  it("test_lastRound_downstreamKilledAfterUpstreamFinished_survivorWaitsAndBothCommitOnce", { timeout: 300_000 }, async () => {
    const c = await setupKillChain();
    chains.push(c);
    // Stage 1 has finished the last round's compute and is building its commitment: stage 0 has
    // (or is about to have) finished the round, and stage 1 is killed before it reports done.
    // Stage 0 used to take the closed stream for "finished" and leave; the restart then waited
    // for an upstream that was gone (exit 13).
    const { procs, exits } = await runWithKill(
      c,
      1,
      (r) => r.type === "commitment" && String((r.commitment as { round?: unknown }).round) === `${UNTIL}n`,
    );
    expect(exits.map((e) => e?.code)).toEqual([0, 0]);
    expect(await acceptedKeys(c)).toEqual(["0:0", "0:1", "1:0", "1:1"]);
    const survivorLogs = procs[0]?.flatMap((p) => p.logs) ?? [];
    // The survivor did not leave on the closed stream: it reconnected to the restarted stage.
    expect(survivorLogs.some((l) => l.msg === "neighbour stage lost; reconnecting")).toBe(true);
  });
});
