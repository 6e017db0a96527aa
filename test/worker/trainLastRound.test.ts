// A stage killed in the pipeline's last round, on the real thing (two `shardholder train`
// processes, libp2p on loopback, an in-process chain over HTTP). The survivor must not read the
// dead neighbour's closed connection as "finished": it waits (end markers, finishPipeline), the
// supervisor (this test) restarts the dead stage with the same flags, the round is rerun in
// lockstep where needed, and every commitment of every round lands once.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type Address, parseAbiItem } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { JOURNAL_FILE } from "../../worker/journal/index.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { type KillChain, bin, root, setupKillChain, stageArgs } from "./trainKillSetup.ts";

const UNTIL = 1n; // rounds 0..1: round 1 is the last

type Proc = { child: ChildProcess; logs: Array<Record<string, unknown>>; stderr: string; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SHARDHOLDER_KEY: "" }, stdio: ["ignore", "pipe", "pipe"] });
  const proc: Proc = { child, logs: [], stderr: "", exit: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))) };
  let buffer = "";
  child.stdout?.on("data", (d: Buffer) => {
    buffer += d.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith("{")) proc.logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr?.on("data", (d: Buffer) => (proc.stderr += d.toString("utf8")));
  return proc;
}

/** Advances the chain to round r+1 once both stages' round-r commitments are stored. */
function driveRounds(c: KillChain, workers: Address[]): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    const model = await getModel(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n });
    while (running) {
      const round = await getCurrentRound(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n });
      if (round <= UNTIL) {
        const found = await Promise.all(workers.map((worker, stage) => getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round, stage, worker })));
        if (found.every((f) => f.found)) await c.s.networkHelpers.time.increaseTo(model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop: async () => void ((running = false), await loop) };
}

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
  const procs: Proc[][] = [[start(args[0] as string[])], [start(args[1] as string[])]];
  const driver = driveRounds(c, c.workers[0] as Address[]);
  try {
    await journaled(dirs[victim] as string, when);
    const first = procs[victim]?.[0] as Proc;
    first.child.kill("SIGKILL");
    await first.exit;
    const restarted = start(args[victim] as string[]);
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
    event: parseAbiItem("event CommitmentAccepted(uint64 indexed modelId, uint64 indexed round, address indexed worker, uint16 stage, bytes32 itemsRoot, uint64 units)"),
    args: { modelId: 1n },
    fromBlock: 0n,
  });
  return logs.filter((l) => (c.workers[0] as Address[]).includes(l.args.worker as Address)).map((l) => `${l.args.round}:${l.args.stage}`).sort();
}

describe("shardholder train: a stage killed in the last round rejoins", () => {
  it("test_lastRound_downstreamKilledAfterUpstreamFinished_survivorWaitsAndBothCommitOnce", { timeout: 300_000 }, async () => {
    const c = await setupKillChain();
    chains.push(c);
    // Stage 1 has finished the last round's compute and is building its commitment: stage 0 has
    // (or is about to have) finished the round, and stage 1 is killed before it reports done.
    // Stage 0 used to take the closed stream for "finished" and leave; the restart then waited
    // for an upstream that was gone (exit 13).
    const { procs, exits } = await runWithKill(c, 1, (r) => r.type === "commitment" && String((r.commitment as { round?: unknown }).round) === `${UNTIL}n`);
    expect(exits.map((e) => e?.code)).toEqual([0, 0]);
    expect(await acceptedKeys(c)).toEqual(["0:0", "0:1", "1:0", "1:1"]);
    const survivorLogs = procs[0]?.flatMap((p) => p.logs) ?? [];
    // The survivor did not leave on the closed stream: it reconnected to the restarted stage.
    expect(survivorLogs.some((l) => l.msg === "neighbour stage lost; reconnecting")).toBe(true);
  });
});
