// The chaos bench's fault schedule: what each fault does to the running network, and when. Each
// fault starts when its round opens (optionally after a seeded random delay, so kills land at
// arbitrary moments of a round: mid-compute, mid-submission, mid-audit of the previous round)
// and reports what it did; what the network made of it is measured by the bench afterwards.
import { copyFile, readFile, rm, stat, truncate } from "node:fs/promises";
import path from "node:path";
import { JOURNAL_FILE } from "../../../worker/journal/index.ts";
import type { SupervisedProcess, RestartRecord } from "../devnet/supervisor.ts";
import type { HostileAttempt } from "./hostile.ts";
import type { RpcProxy } from "./rpcProxy.ts";

/** What a fault needs of the network. */
export type FaultContext = {
  proxy: RpcProxy;
  miners: SupervisedProcess[];
  validator: SupervisedProcess;
  journalDirs: string[];
  random: () => number;
  /** Resolves with the next restart of `name` the supervisor makes. */
  nextRestart: (name: string) => Promise<RestartRecord>;
  /** Sends the hostile peer's streams to stage `stage`. */
  attack: (stage: number) => Promise<HostileAttempt[]>;
  log: (message: string, fields?: Record<string, unknown>) => void;
  /** The round the current fault acts in (set by the bench before each fault runs). */
  round: bigint;
};

/** What a fault did, as it did it. */
export type FaultAction = { delayMs: number; detail: Record<string, unknown> };

export type Fault = {
  name: string;
  /** chain, kill, hostile, journal */
  kind: string;
  /** Which role it hits ("all" for the chain). */
  target: string;
  /** When the fault acts: as its round opens, or once the chain is past the round's commit window (the audit). */
  when: "round" | "audit";
  run: (ctx: FaultContext) => Promise<FaultAction>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A delay within the first `maxMs` of the round (seeded): a kill then lands at an arbitrary point of it. */
const randomDelay = (ctx: FaultContext, maxMs: number): number => Math.round(ctx.random() * maxMs);

function freeze(seconds: number): Fault {
  return {
    name: `chain freeze ${seconds} s`,
    kind: "chain",
    target: "all",
    when: "round",
    run: async (ctx) => {
      const delayMs = randomDelay(ctx, 2_000);
      await sleep(delayMs);
      ctx.proxy.freeze();
      await sleep(seconds * 1000);
      ctx.proxy.thaw();
      return { delayMs, detail: { heldRequests: "every JSON-RPC request held, then answered late" } };
    },
  };
}

const refuse: Fault = {
  name: "RPC refuses connections 10 s",
  kind: "chain",
  target: "all",
  when: "round",
  run: async (ctx) => {
    const delayMs = randomDelay(ctx, 2_000);
    await sleep(delayMs);
    await ctx.proxy.refuse();
    await sleep(10_000);
    await ctx.proxy.accept();
    return { delayMs, detail: {} };
  },
};

const lostSend: Fault = {
  name: "answer of a send lost after forwarding",
  kind: "chain",
  target: "all",
  when: "round",
  run: async (ctx) => {
    const before = ctx.proxy.seen.get("eth_sendRawTransaction") ?? 0;
    ctx.proxy.loseNextSendAnswer();
    return { delayMs: 0, detail: { sendsBefore: before } };
  },
};

/** The round a journal record belongs to (its `round`, or the round in its commitment key), if any. */
function roundOfRecord(r: { round?: unknown; key?: unknown; keys?: unknown }): bigint | undefined {
  if (typeof r.round === "string") return BigInt(r.round.replace(/n$/, ""));
  const key = typeof r.key === "string" ? r.key : Array.isArray(r.keys) && typeof r.keys[0] === "string" ? r.keys[0] : undefined;
  return key === undefined ? undefined : BigInt(key.split(":")[1] ?? "0");
}

/**
 * Records of rounds `round` and later in a stage's journal now. Counted by round, not by line:
 * the journal is compacted as each round starts (worker/journal/compact.ts), so its line count
 * does not grow.
 */
async function journalRecords(dir: string, round: bigint): Promise<number> {
  const text = await readFile(path.join(dir, JOURNAL_FILE), "utf8").catch(() => "");
  let n = 0;
  for (const line of text.split("\n").slice(0, -1)) {
    const r = roundOfRecord(JSON.parse(line.slice(0, line.lastIndexOf("\t"))) as { round?: unknown; key?: unknown; keys?: unknown });
    if (r !== undefined && r >= round) n++;
  }
  return n;
}

/**
 * Waits until stage `stage` journaled `1..maxRecords` (seeded) records of the fault's round: a
 * kill then lands between two of its records, anywhere in the round (between microbatches,
 * between the end checkpoint and the commitment, after the submit intent, ...). Polls the file
 * every 5 ms; gives up waiting after 20 s.
 */
async function afterRecords(ctx: FaultContext, stage: number, maxRecords: number): Promise<number> {
  const dir = ctx.journalDirs[stage] as string;
  const wanted = 1 + Math.floor(ctx.random() * maxRecords);
  const base = await journalRecords(dir, ctx.round);
  const started = Date.now();
  // A stage already past its last record of the round (waiting for its neighbours) writes none:
  // after 20 s the kill happens anyway, wherever the stage is.
  while ((await journalRecords(dir, ctx.round)) < base + wanted && Date.now() - started < 20_000) await sleep(5);
  return Date.now() - started;
}

/** SIGKILL of stage `stage` after a seeded number of its journal records (an arbitrary moment of the round). */
function killStage(stage: number, label = `kill -9 stage ${stage}`, maxRecords = 12): Fault {
  return {
    name: label,
    kind: "kill",
    target: `miner ${stage}`,
    when: "round",
    run: async (ctx) => {
      const delayMs = await afterRecords(ctx, stage, maxRecords);
      const proc = ctx.miners[stage] as SupervisedProcess;
      const pid = proc.pid;
      const restarted = ctx.nextRestart(proc.name);
      proc.crash();
      await restarted;
      return { delayMs, detail: { killedPid: pid, lastEvent: proc.events.at(-1)?.msg } };
    },
  };
}

/** SIGKILL of the validator while it audits (the chain just moved past the round's commit window). */
const killValidatorMidAudit: Fault = {
  name: "kill -9 validator mid-audit",
  kind: "kill",
  target: "validator",
  when: "audit",
  run: async (ctx) => {
    const delayMs = 200 + randomDelay(ctx, 1_500);
    await sleep(delayMs);
    const pid = ctx.validator.pid;
    const restarted = ctx.nextRestart(ctx.validator.name);
    ctx.validator.crash();
    await restarted;
    return { delayMs, detail: { killedPid: pid, lastEvent: ctx.validator.events.at(-1)?.msg } };
  },
};

/**
 * The hostile peer against stage `stage` while it waits for an upstream link (its upstream was
 * just killed, so it is back in the accept loop and reads hellos): garbage, an oversized frame,
 * a deflate bomb and a hello impersonating the upstream worker. It must refuse each stream and
 * take its real upstream back when that restarts, in the same process.
 */
function hostile(stage: number): Fault {
  return {
    name: `hostile peer against stage ${stage}`,
    kind: "hostile",
    target: `miner ${stage}`,
    when: "round",
    run: async (ctx) => {
      const delayMs = await afterRecords(ctx, stage - 1, 8);
      const target = ctx.miners[stage] as SupervisedProcess;
      const upstream = ctx.miners[stage - 1] as SupervisedProcess;
      const pid = target.pid;
      const refusedBefore = target.events.filter((e) => e.msg === "refused a pipe link").length;
      const lostBefore = target.events.filter((e) => e.msg === "neighbour stage lost; reconnecting").length;
      const restarted = ctx.nextRestart(upstream.name);
      upstream.crash();
      // Once the target noticed the loss, it listens for a new upstream: attack then.
      await target.waitUntil(
        "lost upstream",
        (e) => e.msg === "neighbour stage lost; reconnecting" && target.events.filter((x) => x.msg === e.msg).length > lostBefore,
        120_000,
      );
      const attempts = await ctx.attack(stage);
      await restarted;
      return {
        delayMs,
        detail: {
          attempts,
          targetPid: pid,
          targetPidAfter: target.pid,
          refusedLinks: target.events.filter((e) => e.msg === "refused a pipe link").length - refusedBefore,
        },
      };
    },
  };
}

/** Kills stage `stage`, then cuts the tail of its journal (a torn write spanning records) before the restart. */
function truncateJournal(stage: number): Fault {
  return {
    name: `journal truncated (stage ${stage})`,
    kind: "journal",
    target: `miner ${stage}`,
    when: "round",
    run: async (ctx) => {
      const delayMs = await afterRecords(ctx, stage, 12);
      const proc = ctx.miners[stage] as SupervisedProcess;
      const file = path.join(ctx.journalDirs[stage] as string, JOURNAL_FILE);
      const restarted = ctx.nextRestart(proc.name);
      const exited = proc.process.exit;
      proc.crash();
      await exited;
      // The supervisor waits 250 ms before the restart: the cut happens in between.
      const size = (await stat(file)).size;
      const cut = 1 + Math.floor(ctx.random() * 1_500);
      await truncate(file, size - cut);
      await restarted;
      return { delayMs, detail: { journalBytes: size, cutBytes: cut } };
    },
  };
}

/**
 * Kills stage `stage` and deletes its journal before the restart. The restarted stage must refuse
 * to train from the wrong weights (exit 15, journal lost); the bench then plays the operator and
 * restores the journal from a copy, and the stage must rejoin.
 */
function deleteJournal(stage: number): Fault {
  return {
    name: `journal deleted (stage ${stage})`,
    kind: "journal",
    target: `miner ${stage}`,
    when: "round",
    run: async (ctx) => {
      const delayMs = await afterRecords(ctx, stage, 12);
      const proc = ctx.miners[stage] as SupervisedProcess;
      const file = path.join(ctx.journalDirs[stage] as string, JOURNAL_FILE);
      const backup = `${file}.operator-backup`;
      const exited = proc.process.exit;
      const firstRestart = ctx.nextRestart(proc.name);
      proc.crash();
      await exited;
      await copyFile(file, backup);
      await rm(file);
      await firstRestart;
      // The stage started without its journal: it must exit 15 rather than train.
      const refusal = await ctx.nextRestart(proc.name);
      ctx.log(`stage ${stage} exited ${refusal.code} without its journal; restoring the journal from the operator's copy`);
      await copyFile(backup, file);
      await rm(backup);
      return {
        delayMs,
        detail: {
          exitWithoutJournal: refusal.code,
          refusedToTrain: refusal.code === 15,
          operatorAction: "journal restored from a copy after the refusal",
        },
      };
    },
  };
}

/** The default schedule (after the long run), one fault every other round; the last fault kills a stage in the final round. */
export function defaultFaults(p: { freezes: number[]; stages: number }): { faults: Fault[]; lastRound: Fault } {
  const faults: Fault[] = [
    ...p.freezes.map(freeze),
    refuse,
    lostSend,
    ...Array.from({ length: p.stages }, (_, s) => killStage(s)),
    killValidatorMidAudit,
    hostile(1),
    truncateJournal(1),
    deleteJournal(p.stages - 1),
  ];
  return { faults, lastRound: killStage(1, "kill -9 stage 1 in the last round", 6) };
}
