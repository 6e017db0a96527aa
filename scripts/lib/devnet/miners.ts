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
import type { ChildEvent } from "../../../worker/serve/launch.ts";
import { type RestartRecord, SupervisedProcess } from "./supervisor.ts";

export type Miner = { stage: number; key: Hex; signingKey: Hex; address: Address; journalDir: string };

/** Stakes every miner that is not staked yet (payout = its own address); returns the gas of each stake. */
export async function stakeMiners(p: { rpcUrl: string; deployments: Deployments; miners: Miner[]; stakeWei?: bigint }): Promise<bigint[]> {
  const gas: bigint[] = [];
  for (const m of p.miners) {
    const wallet = createWalletClient({ account: privateKeyToAccount(m.key), transport: http(p.rpcUrl) });
    const staker = await getStaker(wallet, { deployments: p.deployments, account: m.address });
    if (staker.stakeWei > 0n) continue;
    const r = await stake(wallet, { deployments: p.deployments, payout: m.address, signingKey: privateKeyToAccount(m.signingKey).address, valueWei: p.stakeWei ?? parseEther("2") });
    gas.push(r.receipt.gasUsed);
  }
  return gas;
}

/** A `round committed` record of a train process. */
export type RoundLog = { stage: number; round: bigint; loss: number | undefined; evalLoss: number | undefined; wallMs: number };

export function roundLog(stage: number, e: ChildEvent): RoundLog | undefined {
  if (e.msg !== "round committed") return undefined;
  const number = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  return { stage, round: BigInt(String(e.round)), loss: number(e.loss), evalLoss: number(e.evalLoss), wallMs: Number(e.wallMs ?? 0) };
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

/**
 * Starts `shardholder train` for every stage (stage s dials s+1), through `untilRound`, JSON logs on
 * stdout, each under a {@link SupervisedProcess}: a miner that exits is started again with the
 * same command (port pinned to the one it first bound, same journal and identity) and rejoins.
 * They keep serving their committed content after the last round (validators audit it) until
 * stopped. Each miner first listens on a port the OS picks at bind time; they start from the last
 * stage to the first, each one's `--peer` being the address the next stage logged as `listening`.
 */
export async function startMiners(p: {
  rpcUrl: string;
  deploymentsFile: string;
  modelId: bigint;
  specPath: string;
  miners: Miner[];
  /** Last round to train (inclusive): `--until-round`, so a restart names the same work. */
  untilRound: bigint;
  onRound: (log: RoundLog) => void;
  onRestart?: ((r: RestartRecord) => void) | undefined;
  /** Extra flags of every miner (the chaos bench shortens timeouts). */
  extraArgs?: string[] | undefined;
  /** Per miner: how long to wait for its `listening` record; default 120 s. */
  listenTimeoutMs?: number;
  /** Once aborted, no further miner is spawned (Ctrl-C stops the ones already running). */
  signal?: AbortSignal;
  /** No `--peer`: each miner finds the next stage in the on-chain stage directory. */
  discover?: boolean | undefined;
}): Promise<SupervisedProcess[]> {
  const byStage = [...p.miners].sort((a, b) => a.stage - b.stage);
  const procs = await spawnLastFirst(
    byStage.length,
    (s, peer) => {
      const m = byStage[s] as Miner;
      const args = [
        "train", "--json", "--rpc", p.rpcUrl, "--deployments", p.deploymentsFile,
        "--model", p.modelId.toString(), "--stage", String(m.stage), "--spec", p.specPath,
        "--listen", "/ip4/127.0.0.1/tcp/0", "--journal", m.journalDir, "--until-round", p.untilRound.toString(), "--dial-attempts", "20", "--keep-serving",
        ...(p.extraArgs ?? []),
        ...(peer !== undefined && !p.discover ? ["--peer", peer] : []),
      ];
      let listening: ChildEvent | undefined;
      return new SupervisedProcess({
        name: `miner ${m.stage}`,
        script: "worker/cli/main.ts",
        args: () => pinListenPort(args, listening),
        env: { SHARDHOLDER_KEY: m.key, SHARDHOLDER_SIGNING_KEY: m.signingKey },
        onRestart: p.onRestart,
        onEvent: (e) => {
          if (e.msg === "listening") listening ??= e;
          const log = roundLog(m.stage, e);
          if (log) p.onRound(log);
        },
      });
    },
    async (proc) => (await proc.waitUntil("listening", (e) => e.msg === "listening", p.listenTimeoutMs ?? 120_000)).addrs,
    p.signal,
  );
  return p.miners.map((m) => procs[byStage.indexOf(m)] as SupervisedProcess);
}

/** Miner descriptions for `keys` (one per stage), journals under `dir`. */
export function minersOf(keys: Hex[], signingKeys: Hex[], dir: string): Miner[] {
  return keys.map((key, stage) => ({ stage, key, signingKey: signingKeys[stage] as Hex, address: privateKeyToAccount(key).address, journalDir: path.join(dir, `stage-${stage}`) }));
}
