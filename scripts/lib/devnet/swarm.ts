// The devnet's open swarm (`train --swarm`, docs/PROTOCOL.md "Replicas of the last stage"): the
// last stage has two replicas from the first round, the stage before it routes each round's
// microbatches across them, one replica is killed with -9 mid-round (its supervisor restarts it
// and it rejoins at a round boundary), and a third miner stakes and joins while the network runs.
// Who commits a round of the last stage is whoever the routing stage's roster names: the devnet
// waits for exactly those commitments and mints exactly those rewards.
import path from "node:path";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { DevnetRoles } from "./accounts.ts";
import { SWARM_LOG } from "../../../worker/cli/swarm.ts";
import { type Miner, type MinerProcessParameters, minerProcess } from "./miners.ts";
import type { StageMember } from "./rounds.ts";
import type { ManagedProcess, SupervisedProcess } from "./supervisor.ts";
import { contentAddress } from "./verification.ts";

/** How a replica of the last stage took part. */
export type ReplicaRole = "from the start" | "crashes mid-round" | "joins later";

/** One round as the routing stage ran it: microbatches kept per replica, and the replicas that finished it. */
export type SwarmRound = { round: bigint; routed: Record<Address, number>; roster: Address[] };

/** The swarm's record for the summary. */
export type SwarmRecord = {
  /** The replicated (last) stage and the stage routing to it. */
  stage: number;
  fanOutStage: number;
  replicas: { worker: Address; role: ReplicaRole }[];
  /** The replica killed with -9 once a microbatch of `round` reached it (its supervisor restarts it). */
  crash?: { worker: Address; round: bigint; microbatch: number } | undefined;
  /** The miner that staked and started while `round` was under way. */
  join?: { worker: Address; round: bigint } | undefined;
  rounds: SwarmRound[];
};

/** The plan: which round the crash and the join happen in (none when the run is too short to show them). */
export type SwarmPlan = { crashRound?: bigint | undefined; joinRound?: bigint | undefined };

/**
 * The run's swarm plan: with at least 2 rounds a replica crashes in the second; with at least 3 a
 * miner joins while the second runs. Both are linked again from the third round on.
 */
export function swarmPlan(first: bigint, rounds: number): SwarmPlan {
  return { crashRound: rounds >= 2 ? first + 1n : undefined, joinRound: rounds >= 3 ? first + 1n : undefined };
}

/** Whether the devnet can run replicas: the last stage needs a stage before it to route to them. */
export const swarmApplies = (stages: number): boolean => stages >= 2;

/**
 * The devnet's miners in swarm mode: the stage miners (the last two stages with `--swarm`), the
 * last stage's second replica (it crashes mid-run) and the miner that joins later.
 */
export function swarmMiners(
  stageMiners: readonly Miner[],
  roles: DevnetRoles,
  journals: string,
): { miners: Miner[]; crashing: Miner; joiner: Miner } {
  const last = stageMiners.length - 1;
  const miners = stageMiners.map((m) => (m.stage >= last - 1 ? { ...m, swarm: true } : m));
  const [crashing, joiner] = roles.replicas.map((r, i): Miner => ({
    stage: last,
    key: r.key,
    signingKey: r.signingKey,
    address: privateKeyToAccount(r.key).address,
    journalDir: path.join(journals, `stage-${last}-replica-${i + 1}`),
    swarm: true,
  }));
  if (!crashing || !joiner) throw new Error("the devnet's roles name fewer than two extra replicas");
  return { miners, crashing, joiner };
}

/** The routing stage's record of `round` (waits for it). */
export async function routedRound(fanOut: ManagedProcess, round: bigint, timeoutMs = 300_000): Promise<SwarmRound> {
  const e = await fanOut.waitUntil(
    `round ${round} routed`,
    (ev) => ev.msg === SWARM_LOG.roundRouted && ev.round === round.toString(),
    timeoutMs,
  );
  const roster = (e.roster as { worker: Address; items: number }[] | undefined) ?? [];
  return {
    round,
    routed: (e.routed as Record<Address, number> | undefined) ?? {},
    roster: roster.filter((x) => x.items > 0).map((x) => x.worker),
  };
}

/** Who must commit `round`: the miners of every stage before the replicated one, and the replicas on its roster. */
export function roundCommitters(stageMiners: readonly Miner[], replicatedStage: number, routed: SwarmRound): StageMember[] {
  return [
    ...stageMiners.filter((m) => m.stage !== replicatedStage).map((m) => ({ stage: m.stage, worker: m.address })),
    ...routed.roster.map((worker) => ({ stage: replicatedStage, worker })),
  ];
}

/**
 * Kills `replica` with -9 as soon as a microbatch of `round` reached it (mid-round: the routing
 * stage re-routes what it held). Its supervisor restarts it with the same command; it catches up
 * and rejoins at a round boundary. Resolves with the microbatch it was training.
 */
export async function crashMidRound(replica: SupervisedProcess, round: bigint, timeoutMs = 300_000): Promise<number> {
  const e = await replica.waitUntil(
    `round ${round} under way`,
    (ev) => ev.msg === SWARM_LOG.roundUnderWay && ev.round === round.toString(),
    timeoutMs,
  );
  replica.crash();
  return Number(e.microbatch);
}

/** What {@link DevnetSwarm} drives: the miners in start order (stage miners, then the crashing replica). */
export type DevnetSwarmParameters = {
  set: ReturnType<typeof swarmMiners>;
  plan: SwarmPlan;
  procs: SupervisedProcess[];
  minerParams: MinerProcessParameters;
  /** Stakes a miner (the joiner, when it joins). */
  stake: (m: Miner) => Promise<void>;
  track: (...procs: ManagedProcess[]) => void;
  log: (message: string, fields?: Record<string, unknown>) => void;
};

/** The swarm side of a devnet run: the crash, the join, and who commits each round. */
export class DevnetSwarm {
  private readonly rounds: SwarmRound[] = [];
  private crash: SwarmRecord["crash"];
  private join: SwarmRecord["join"];
  private crashing: Promise<void> | undefined;
  private joiner: SupervisedProcess | undefined;
  private readonly stage: number;

  constructor(private readonly p: DevnetSwarmParameters) {
    this.stage = p.set.crashing.stage;
  }

  private get fanOut(): SupervisedProcess {
    return this.p.procs[this.stage - 1] as SupervisedProcess;
  }

  private get crashingProc(): SupervisedProcess {
    return this.p.procs[this.p.procs.length - 1] as SupervisedProcess;
  }

  /**
   * At the start of `round` (the devnet's loop reaches it while the round already runs): arms the
   * crash of the next round, so it fires on that round's first microbatch, and starts the joiner
   * when the plan says so.
   */
  async enterRound(round: bigint): Promise<void> {
    const { set, plan, log } = this.p;
    const crashRound = plan.crashRound;
    if (crashRound !== undefined && round + 1n === crashRound) {
      this.crashing = crashMidRound(this.crashingProc, crashRound, 900_000).then((microbatch) => {
        this.crash = { worker: set.crashing.address, round: crashRound, microbatch };
        log(
          `replica ${set.crashing.address} killed with -9 mid-round ${crashRound} (training microbatch ${microbatch}); the routing stage re-routes what it held, its supervisor restarts it`,
          { crash: set.crashing.address, round: crashRound.toString() },
        );
      });
      this.crashing.catch(() => undefined); // awaited where it matters (readyForNextRound, record)
    }
    if (round === plan.joinRound) {
      await this.p.stake(set.joiner);
      this.joiner = minerProcess(this.p.minerParams, set.joiner);
      this.p.track(this.joiner);
      this.join = { worker: set.joiner.address, round };
      log(
        `miner ${set.joiner.address} staked for stage ${this.stage} and started while round ${round} runs; it joins at a round boundary from the weights the replicas committed`,
        { join: set.joiner.address, round: round.toString() },
      );
    }
  }

  /**
   * Before the clock moves past `round`: the devnet owns the clock, so it waits for the replica
   * restarted after the crash and for the joiner to be listed and waiting for a link (each logs it
   * once per start), and both are linked at the next round boundary, deterministically.
   */
  async readyForNextRound(round: bigint): Promise<void> {
    const ready = (proc: SupervisedProcess, starts: number) => {
      let seen = 0;
      return proc.waitUntil(`start ${starts} ready`, (e) => e.msg === SWARM_LOG.replicaReady && ++seen === starts, 300_000);
    };
    if (round === this.p.plan.crashRound) {
      await this.crashing;
      await ready(this.crashingProc, 2);
    }
    if (round === this.p.plan.joinRound && this.joiner) await ready(this.joiner, 1);
  }

  /** Who must commit `round`: the routing stage's roster for the replicated stage, every other stage's miner. */
  async committers(round: bigint): Promise<StageMember[]> {
    const routed = await routedRound(this.fanOut, round);
    this.rounds.push(routed);
    this.p.log(
      `round ${round} routed across stage ${this.stage}: ${Object.entries(routed.routed)
        .map(([w, n]) => `${w} ${n}`)
        .join(", ")}`,
    );
    return roundCommitters(this.p.set.miners, this.stage, routed);
  }

  /** The replicas beyond one miner per stage, with their processes: the crashing one, and the joiner once it started. */
  private extras(): { miner: Miner; proc: SupervisedProcess }[] {
    return [
      { miner: this.p.set.crashing, proc: this.crashingProc },
      ...(this.joiner ? [{ miner: this.p.set.joiner, proc: this.joiner }] : []),
    ];
  }

  /** The miner processes whose last round ran here: every stage miner and the replicas on the last round's roster. */
  finishing(stageProcs: readonly SupervisedProcess[], last: bigint): SupervisedProcess[] {
    const roster = new Set(this.rounds.find((r) => r.round === last)?.roster ?? []);
    return [
      ...stageProcs,
      ...this.extras()
        .filter((e) => roster.has(e.miner.address))
        .map((e) => e.proc),
    ];
  }

  /** The replicas beyond one miner per stage that took part (the joiner only once it joined): they hold tokens and claim. */
  extraMiners(): Miner[] {
    return this.extras().map((e) => e.miner);
  }

  /** The content address of each extra replica that took part (for `network.json`). */
  async replicaPeers(): Promise<{ stage: number; worker: Address; multiaddr: string }[]> {
    return Promise.all(
      this.extras().map(async ({ miner, proc }) => ({ stage: miner.stage, worker: miner.address, multiaddr: await contentAddress(proc) })),
    );
  }

  /** Every miner process of the run, joiner included. */
  allProcs(stageProcs: readonly SupervisedProcess[]): SupervisedProcess[] {
    return [...stageProcs, ...this.extras().map((e) => e.proc)];
  }

  /** The summary's record (after the crash, if armed, happened or failed). */
  async record(): Promise<SwarmRecord> {
    await this.crashing?.catch((err: Error) => this.p.log(`the planned crash did not happen: ${err.message}`));
    const { set } = this.p;
    const replicas: SwarmRecord["replicas"] = [
      { worker: set.miners[this.stage]?.address as Address, role: "from the start" },
      { worker: set.crashing.address, role: this.p.plan.crashRound !== undefined ? "crashes mid-round" : "from the start" },
      ...(this.join ? [{ worker: set.joiner.address, role: "joins later" as const }] : []),
    ];
    return { stage: this.stage, fanOutStage: this.stage - 1, replicas, crash: this.crash, join: this.join, rounds: this.rounds };
  }
}
