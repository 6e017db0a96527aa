// The stage miners: each stakes through the SDK, then runs the real `shardholder train` CLI in
// its own process (own shard, own journal, libp2p to its neighbour, commitments via the SDK).
import path from "node:path";
import { type Address, createWalletClient, type Hex, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getStaker } from "../../../sdk/actions/miner/getStaker.ts";
import { stake } from "../../../sdk/actions/miner/stake.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";
import { spawnLastFirst } from "../../../worker/p2p/listenAddress.ts";
import { loopbackDialAddress } from "../../../worker/p2p/listenAddress.ts";
import { SWARM_LOG } from "../../../worker/cli/swarm.ts";
import type { ChildEvent } from "../../../worker/serve/launch.ts";
import { type RestartRecord, SupervisedProcess } from "./supervisor.ts";

/** A miner of one stage; `swarm`: it runs `train --swarm` (the last stage's replicas and the stage routing to them). */
export type Miner = { stage: number; key: Hex; signingKey: Hex; address: Address; journalDir: string; swarm?: boolean | undefined };

/** Stakes every miner that is not staked yet (payout = its own address); returns the gas of each stake. */
export async function stakeMiners(p: { rpcUrl: string; deployments: Deployments; miners: Miner[]; stakeWei?: bigint }): Promise<bigint[]> {
  const gas: bigint[] = [];
  for (const m of p.miners) {
    const wallet = createWalletClient({ account: privateKeyToAccount(m.key), transport: http(p.rpcUrl) });
    const staker = await getStaker(wallet, { deployments: p.deployments, account: m.address });
    if (staker.stakeWei > 0n) continue;
    const r = await stake(wallet, {
      deployments: p.deployments,
      payout: m.address,
      signingKey: privateKeyToAccount(m.signingKey).address,
      valueWei: p.stakeWei ?? parseEther("2"),
    });
    gas.push(r.receipt.gasUsed);
  }
  return gas;
}

/** A `round committed` record of a train process (`items`: microbatches it trained, when it trained the round). */
export type RoundLog = {
  stage: number;
  worker: Address;
  round: bigint;
  items: number | undefined;
  loss: number | undefined;
  evalLoss: number | undefined;
  wallMs: number;
};

export function roundLog(miner: Pick<Miner, "stage" | "address">, e: ChildEvent): RoundLog | undefined {
  if (e.msg !== "round committed") return undefined;
  const number = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  return {
    stage: miner.stage,
    worker: miner.address,
    round: BigInt(String(e.round)),
    items: number(e.items),
    loss: number(e.loss),
    evalLoss: number(e.evalLoss),
    wallMs: Number(e.wallMs ?? 0),
  };
}

/**
 * The listen address of a restart: the port the first incarnation got from the OS, so the
 * neighbour that dials it and the validator that fetches from it (same peer id, from
 * `<journal>/libp2p.key`) reach the restarted process at the address they already hold.
 */
export function pinListenPort(args: string[], listening: ChildEvent | undefined): string[] {
  if (!listening) return args;
  const port = /\/tcp\/(\d+)/.exec(loopbackDialAddress(listening.addrs, "a restarted miner"))?.[1];
  const at = args.indexOf("--listen");
  if (port === undefined || at < 0) return args;
  return args.map((a, i) => (i === at + 1 ? a.replace(/\/tcp\/0$/, `/tcp/${port}`) : a));
}

/** What every miner process of a devnet shares. */
export type MinerProcessParameters = {
  rpcUrl: string;
  deploymentsFile: string;
  modelId: bigint;
  specPath: string;
  /** Last round to train (inclusive): `--until-round`, so a restart names the same work. */
  untilRound: bigint;
  onRound: (log: RoundLog) => void;
  onRestart?: ((r: RestartRecord) => void) | undefined;
  /** Extra flags of every miner (the chaos bench shortens timeouts). */
  extraArgs?: string[] | undefined;
  /** No `--peer`: each miner finds the next stage in the on-chain stage directory. */
  discover?: boolean | undefined;
  /** Each miner's output also goes to `<logDir>/<name>.log` (the directory must exist). */
  logDir?: string | undefined;
};

/** The supervised `shardholder train` process of miner `m` (`peer`: the next stage's address, unless discovering). */
export function minerProcess(p: MinerProcessParameters, m: Miner, peer?: string): SupervisedProcess {
  const args = [
    "train",
    "--json",
    "--rpc",
    p.rpcUrl,
    "--deployments",
    p.deploymentsFile,
    "--model",
    p.modelId.toString(),
    "--stage",
    String(m.stage),
    "--spec",
    p.specPath,
    "--listen",
    "/ip4/127.0.0.1/tcp/0",
    "--journal",
    m.journalDir,
    "--until-round",
    p.untilRound.toString(),
    "--dial-attempts",
    "20",
    "--keep-serving",
    ...(m.swarm ? ["--swarm"] : []),
    ...(p.extraArgs ?? []),
    ...(peer !== undefined && !p.discover ? ["--peer", peer] : []),
  ];
  let listening: ChildEvent | undefined;
  const name = m.swarm ? `miner ${m.stage} ${m.address.slice(0, 8)}` : `miner ${m.stage}`;
  return new SupervisedProcess({
    name,
    logFile: p.logDir && path.join(p.logDir, `${name.replace(/ /g, "-")}.log`),
    script: "worker/cli/main.ts",
    args: () => pinListenPort(args, listening),
    env: { SHARDHOLDER_KEY: m.key, SHARDHOLDER_SIGNING_KEY: m.signingKey },
    onRestart: p.onRestart,
    onEvent: (e) => {
      if (e.msg === "listening") listening ??= e;
      const log = roundLog(m, e);
      if (log) p.onRound(log);
    },
  });
}

/**
 * Starts `shardholder train` for every miner (stage s dials s+1), through `untilRound`, JSON logs on
 * stdout, each under a {@link SupervisedProcess}: a miner that exits is started again with the
 * same command (port pinned to the one it first bound, same journal and identity) and rejoins.
 * They keep serving their committed content after the last round (validators audit it) until
 * stopped. Each miner first listens on a port the OS picks at bind time; they start from the last
 * stage to the first, each one's `--peer` being the address the next stage logged as `listening`.
 * Replicas of the last stage (swarm miners) all start before the stage that routes to them, each
 * once the one before it is ready, so every one of them is linked from the first round.
 */
export async function startMiners(
  p: MinerProcessParameters & {
    miners: Miner[];
    /** Per miner: how long to wait for its `listening` record; default 120 s. */
    listenTimeoutMs?: number;
    /** Once aborted, no further miner is spawned (Ctrl-C stops the ones already running). */
    signal?: AbortSignal;
  },
): Promise<SupervisedProcess[]> {
  const byStage = [...p.miners].sort((a, b) => a.stage - b.stage);
  const last = byStage[byStage.length - 1]?.stage;
  const timeoutMs = p.listenTimeoutMs ?? 120_000;
  const minerOf = new Map<SupervisedProcess, Miner>();
  const procs = await spawnLastFirst(
    byStage.length,
    (s, peer) => {
      const proc = minerProcess(p, byStage[s] as Miner, peer);
      minerOf.set(proc, byStage[s] as Miner);
      return proc;
    },
    async (proc) => {
      const m = minerOf.get(proc);
      if (m?.swarm && m.stage === last) await proc.waitUntil("ready", (e) => e.msg === SWARM_LOG.replicaReady, timeoutMs);
      return (await proc.waitUntil("listening", (e) => e.msg === "listening", timeoutMs)).addrs;
    },
    p.signal,
  );
  return p.miners.map((m) => procs[byStage.indexOf(m)] as SupervisedProcess);
}

/** Miner descriptions for `keys` (one per stage), journals under `dir`. */
export function minersOf(keys: Hex[], signingKeys: Hex[], dir: string): Miner[] {
  return keys.map((key, stage) => ({
    stage,
    key,
    signingKey: signingKeys[stage] as Hex,
    address: privateKeyToAccount(key).address,
    journalDir: path.join(dir, `stage-${stage}`),
  }));
}
