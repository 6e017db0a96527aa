/**
 * `npm run bench:chaos` (issue 12): a scripted fault schedule against a real local network (the
 * devnet's pieces: in-process Hardhat chain, three supervised `shardholder train` stage processes
 * on libp2p loopback, a supervised `shardholder validate` process with a committee), talking to the
 * chain through a JSON-RPC proxy that can stall, refuse connections or lose a send's answer.
 * First a long fault-free run samples RSS (round 10 and round CHAOS_ROUNDS); then one fault every
 * other round (the round after it is the recovery round); the final round kills a stage.
 * Writes bench/chaos.json: per fault, survived or not, work lost, double submissions, honest
 * slashes, availability demands, restarts, peak and final RSS per process.
 *
 * Env: CHAOS_ROUNDS (long run, default 30), CHAOS_FREEZES (seconds, default "5,20,60"),
 * CHAOS_SEED (default 12), CHAOS_FAULTS (comma-separated name prefixes to run; default all),
 * CHAOS_ROUND_TIMEOUT_S (a round not committed within this is a fault not survived; default 600),
 * CHAOS_OUT (default bench/chaos.json). `--json`: JSON log lines.
 */
import { cpus, tmpdir } from "node:os";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Address, createPublicClient, createWalletClient, http, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { selectBackend } from "../worker/backend/select.ts";
import { createLogger, createProgress } from "../worker/cli/output.ts";
import { specHash } from "../worker/model/spec.ts";
import { helloDomainOf } from "../worker/p2p/stakedNeighbour.ts";
import { defaultFaults, type Fault, type FaultAction, type FaultContext } from "./lib/chaos/faults.ts";
import { attackStage } from "./lib/chaos/hostile.ts";
import { spanFacts, type SpanFacts } from "./lib/chaos/metrics.ts";
import { startRpcProxy } from "./lib/chaos/rpcProxy.ts";
import { RssSampler, type RssWindow } from "./lib/chaos/rss.ts";
import { devnetRoles } from "./lib/devnet/accounts.ts";
import { startLocalChain } from "./lib/devnet/chain.ts";
import { minersOf, stakeMiners, startMiners } from "./lib/devnet/miners.ts";
import { demoModelSpec, demoRegistryTerms, writeSpecFile } from "./lib/devnet/model.ts";
import { allCommitted, RoundTracker, settleRound } from "./lib/devnet/rounds.ts";
import { getModel, registerModel } from "./lib/devnet/sdkFacade.ts";
import type { RestartRecord, SupervisedProcess } from "./lib/devnet/supervisor.ts";
import {
  auditAndResolveAll,
  contentAddress,
  runningValidatorAttested,
  stageAuditors,
  startStageValidators,
} from "./lib/devnet/verification.ts";

const STAGES = 3;
const LONG_ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 30);
const FREEZES = (process.env.CHAOS_FREEZES ?? "5,20,60").split(",").filter(Boolean).map(Number);
const SEED = Number(process.env.CHAOS_SEED ?? 12);
const ONLY = process.env.CHAOS_FAULTS?.split(",").filter(Boolean);
const ROUND_TIMEOUT_MS = Number(process.env.CHAOS_ROUND_TIMEOUT_S ?? 600) * 1000;
const OUT = process.env.CHAOS_OUT ?? "bench/chaos.json";
const json = process.argv.includes("--json");

const logger = createLogger({ json });
const log = (message: string, fields: Record<string, unknown> = {}) => logger.info(fields, message);
let rng = SEED;
const random = () => {
  rng = (rng * 1_103_515_245 + 12_345) % 2_147_483_648;
  return rng / 2_147_483_648;
};
const toJson = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

/** One fault's row of bench/chaos.json. */
type FaultRow = {
  name: string;
  kind: string;
  target: string;
  rounds: string[];
  survived: boolean;
  workLost: number;
  workLostKeys: string[];
  doubleSubmissions: number;
  honestSlashes: number;
  availabilityDemands: number;
  restarts: { name: string; exitCode: number | null }[];
  rssMb: RssWindow;
  wallS: number;
  action?: FaultAction | undefined;
  error?: string | undefined;
};

/** Which scheduled round each fault acts in: long run first, then one fault every other round, the last-round kill last. */
function schedule(faults: Fault[], lastRound: Fault): { total: number; at: Map<number, Fault> } {
  const at = new Map<number, Fault>();
  faults.forEach((f, k) => at.set(LONG_ROUNDS + 2 * k, f));
  const total = LONG_ROUNDS + 2 * faults.length + 1;
  at.set(total - 1, lastRound);
  return { total, at };
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not done within ${ms / 1000} s`)), ms).unref()),
  ]);

async function main(): Promise<void> {
  const started = Date.now();
  const runDir = await mkdtemp(path.join(tmpdir(), "shardholder-chaos-"));
  const backend = await selectBackend({});
  log("backend", { backend: backend.name });
  const chain = await startLocalChain({ deploymentsDir: path.join(runDir, "deployments") });
  const proxy = await startRpcProxy(chain.rpcUrl);
  const procs: SupervisedProcess[] = [];
  const sampler = new RssSampler(() => Object.fromEntries(procs.map((p) => [p.name, p.pid])));
  // Ctrl-C: no orphaned miners (their supervisors would otherwise be gone with this process).
  const onSignal = () => {
    for (const p of procs) p.kill();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { deployments } = chain;
    // The bench's own driver talks to the chain directly: only the network under test sees the faults.
    const client = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
    const roles = devnetRoles(STAGES);
    const designer = createWalletClient({ account: privateKeyToAccount(roles.deployer), transport: http(chain.rpcUrl) });
    const spec = demoModelSpec(STAGES);
    const specPath = path.join(runDir, "model-spec.json");
    await writeSpecFile(spec, specPath);
    const { modelId } = await registerModel(designer, { deployments, spec: demoRegistryTerms(spec) });
    const minerList = minersOf(roles.miners, roles.signers, path.join(runDir, "journals"));
    await stakeMiners({ rpcUrl: chain.rpcUrl, deployments, miners: minerList });
    const model = await getModel(client, { deployments, modelId });
    const first = model.currentRound;
    const selected = defaultFaults({ freezes: FREEZES, stages: STAGES });
    const faults = ONLY ? selected.faults.filter((f) => ONLY.some((o) => f.name.startsWith(o))) : selected.faults;
    const { total, at } = schedule(faults, selected.lastRound);
    const last = first + BigInt(total - 1);
    log("network", { rounds: total, longRun: LONG_ROUNDS, faults: [...at.values()].map((f) => f.name), rpcProxy: proxy.url, runDir });

    const restarts: RestartRecord[] = [];
    const restartWaiters: { name: string; resolve: (r: RestartRecord) => void }[] = [];
    const onRestart = (r: RestartRecord) => {
      restarts.push(r);
      log(`${r.name} exited with ${r.code}; the supervisor restarts it with the same command`, { pid: r.pid, delayMs: r.delayMs });
      for (const w of restartWaiters.filter((x) => x.name === r.name)) w.resolve(r);
      restartWaiters.splice(0, restartWaiters.length, ...restartWaiters.filter((x) => x.name !== r.name));
    };
    const tracker = new RoundTracker();
    const members = minerList.map((m) => ({ stage: m.stage, worker: m.address }));
    const miners = await startMiners({
      rpcUrl: proxy.url,
      deploymentsFile: chain.deploymentsFile,
      modelId,
      specPath,
      miners: minerList,
      untilRound: last,
      onRestart,
      // A neighbour silent this long is lost (reconnect); long enough for a 60 s chain freeze between two frames.
      extraArgs: ["--peer-timeout", "150", "--poll-ms", "250"],
      onRound: (l) => tracker.add(l),
    });
    procs.push(...miners);
    const peers = new Map<Address, string>();
    for (const [s, p] of miners.entries()) peers.set((minerList[s] as { address: Address }).address, await contentAddress(p));
    // Validators hold one stage: one process per stage; the faults kill stage 0's.
    const auditors = stageAuditors(roles, STAGES);
    const validators = startStageValidators({
      rpcUrl: proxy.url,
      deploymentsFile: chain.deploymentsFile,
      modelId,
      specPath,
      roles,
      stages: STAGES,
      peers,
      fraction: 0.25,
      fromRound: first,
      untilRound: last,
      onRestart,
    });
    procs.push(...validators);
    await Promise.all(validators.map((v) => v.waitUntil("validating", (e) => e.msg === "validating", 180_000)));
    const validator = validators[0] as (typeof validators)[number];

    const ctx: FaultContext = {
      proxy,
      miners,
      validator,
      journalDirs: minerList.map((m) => m.journalDir),
      random,
      log,
      round: first,
      nextRestart: (name) => new Promise((resolve) => restartWaiters.push({ name, resolve })),
      attack: (stage) =>
        attackStage({
          address: peers.get((minerList[stage] as { address: Address }).address) as string,
          modelId,
          specHash: specHash(spec),
          upstreamStage: stage - 1,
          upstreamWorker: (minerList[stage - 1] as { address: Address }).address,
          domain: helloDomainOf(deployments),
        }),
    };
    const rows: FaultRow[] = [];
    const rssAt: Record<string, Record<string, number>> = {};
    const progress = createProgress({ total, logger, json });
    let active:
      | {
          fault: Fault;
          round: number;
          startBlock: bigint;
          startT: number;
          restartsBefore: number;
          action: Promise<FaultAction>;
          startMs: number;
        }
      | undefined;
    const closeFault = async (endRound: number, error?: string) => {
      if (!active) return;
      const a = active;
      active = undefined;
      const action = await withTimeout(a.action, 600_000, `${a.fault.name}`).catch((e: Error) => ((error ??= e.message), undefined));
      const rounds = Array.from({ length: endRound - a.round + 1 }, (_, k) => first + BigInt(a.round + k));
      const facts: SpanFacts = await spanFacts({
        client,
        deployments,
        modelId,
        span: { fromBlock: a.startBlock, toBlock: await client.getBlockNumber() },
        rounds,
        miners: minerList.map((m) => m.address),
      });
      const faultRestarts = restarts.slice(a.restartsBefore);
      const gaveUp = procs.find((p) => p.gaveUp);
      const hostileTargetRestarted = a.fault.kind === "hostile" && faultRestarts.some((r) => r.name === a.fault.target);
      const row: FaultRow = {
        name: a.fault.name,
        kind: a.fault.kind,
        target: a.fault.target,
        rounds: rounds.map(String),
        survived:
          !error &&
          !gaveUp &&
          facts.workLost.length === 0 &&
          facts.honestSlashes === 0 &&
          facts.doubleSubmissions === 0 &&
          !hostileTargetRestarted,
        workLost: facts.workLost.length,
        workLostKeys: facts.workLost,
        doubleSubmissions: facts.doubleSubmissions,
        honestSlashes: facts.honestSlashes,
        availabilityDemands: facts.availabilityDemands,
        restarts: faultRestarts.map((r) => ({ name: r.name, exitCode: r.code })),
        rssMb: sampler.window(a.startT, sampler.now()),
        wallS: Math.round((Date.now() - a.startMs) / 100) / 10,
        action,
        error: error ?? gaveUp?.gaveUp?.message,
      };
      rows.push(row);
      log(`fault done: ${row.name}`, {
        survived: row.survived,
        workLost: row.workLost,
        doubleSubmissions: row.doubleSubmissions,
        honestSlashes: row.honestSlashes,
        restarts: row.restarts.length,
        wallS: row.wallS,
      });
    };

    const startFault = async (fault: Fault, i: number) => {
      log(`round ${first + BigInt(i)}: ${fault.name}`);
      const startBlock = await client.getBlockNumber();
      ctx.round = first + BigInt(i);
      const action = fault.when === "round" ? fault.run(ctx) : new Promise<FaultAction>(() => undefined);
      active = { fault, round: i, startBlock, startT: sampler.now(), restartsBefore: restarts.length, action, startMs: Date.now() };
    };
    let failure: string | undefined;
    for (let i = 0; i < total; i++) {
      const round = first + BigInt(i);
      try {
        const logs = await withTimeout(
          tracker.waitCommitted(round, members, allCommitted(client, deployments, modelId, round, members)),
          ROUND_TIMEOUT_MS,
          `round ${round} commitments`,
        );
        await settleRound({
          rpcUrl: chain.rpcUrl,
          relayer: designer,
          deployments,
          modelId,
          round,
          genesisTime: BigInt(model.genesisTime),
          commitWindowSec: BigInt(model.timing.commitWindowSec),
          challengeWindowSec: BigInt(model.timing.challengeWindowSec),
          workers: minerList.map((m) => m.address),
          logs,
          othersFinalize: () => runningValidatorAttested({ client, deployments, modelId, round, auditors, validators }),
          duringChallenge: async () => {
            // The chain just opened round i+1: its fault starts now, at the round's very beginning
            // (the previous fault's window, its round and the recovery round, is closed first).
            const next = at.get(i + 1);
            if (next) {
              await closeFault(i);
              await startFault(next, i + 1);
            }
            const a = active;
            if (a && a.fault.when === "audit" && a.round === i) a.action = a.fault.run(ctx);
            await auditAndResolveAll({
              validators,
              client,
              rpcUrl: chain.rpcUrl,
              deployments,
              round,
              modelId,
              timeoutMs: ROUND_TIMEOUT_MS,
            });
          },
        });
      } catch (err) {
        failure = (err as Error).message;
        logger.error({ round: round.toString(), error: failure }, "the network did not get through this round");
        await closeFault(i, failure);
        break;
      }
      progress.update({ step: i + 1 });
      if (i + 1 === 10 || i + 1 === LONG_ROUNDS) rssAt[`round${i + 1}`] = sampler.sample().mb;
    }
    progress.stop();
    await closeFault(total - 1, failure);
    const growth = Object.fromEntries(
      Object.keys(rssAt.round10 ?? {}).map((role) => {
        const a = rssAt.round10?.[role];
        const b = rssAt[`round${LONG_ROUNDS}`]?.[role];
        return [role, a && b ? Math.round(((b - a) / a) * 1000) / 10 : null];
      }),
    );
    const report = {
      bench: "chaos",
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, backend: backend.name },
      date: new Date().toISOString(),
      config: {
        stages: STAGES,
        longRunRounds: LONG_ROUNDS,
        freezesS: FREEZES,
        seed: SEED,
        totalRounds: total,
        peerTimeoutS: 150,
        availabilityDeadlineMs: 60_000,
        supervisorRestartDelayMs: 250,
      },
      wallS: Math.round((Date.now() - started) / 1000),
      completed: failure === undefined,
      failure,
      longRun: { rssMbAtRound10: rssAt.round10, [`rssMbAtRound${LONG_ROUNDS}`]: rssAt[`round${LONG_ROUNDS}`], growthPctRound10To: growth },
      summary: {
        faults: rows.length,
        survived: rows.filter((r) => r.survived).length,
        notSurvived: rows.filter((r) => !r.survived).map((r) => r.name),
        workLost: rows.reduce((a, r) => a + r.workLost, 0),
        doubleSubmissions: rows.reduce((a, r) => a + r.doubleSubmissions, 0),
        honestSlashes: rows.reduce((a, r) => a + r.honestSlashes, 0),
        restarts: restarts.length,
      },
      faults: rows,
    };
    await mkdir(path.dirname(OUT), { recursive: true });
    await writeFile(OUT, `${toJson(report)}\n`);
    log(`wrote ${OUT}`, report.summary);
  } finally {
    sampler.stop();
    await Promise.allSettled(procs.map((p) => p.stop(10_000)));
    await proxy.close();
    await chain.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
