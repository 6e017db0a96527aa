// Fixture of trainKill.test.ts: a fresh in-process chain served over HTTP with the protocol
// deployed, a tiny two-stage transformer registered, and two pipelines of two staked stage
// workers each (a commitment's roots do not depend on its worker, so the pipelines' commitments
// are directly comparable).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Address, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { serveRpc } from "../../scripts/lib/rpcServer.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { canonicalSpecJson, defaultModelSpec, specHash } from "../../worker/model/spec.ts";
import { initialWeightsRoots } from "../../worker/model/stage.ts";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../sdk/fixture.ts";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = path.join(root, "worker", "cli", "bin.js");
// Hardhat default accounts 1..4 (mnemonic "test test ... junk"): pipeline p's stage s is worker 2p+s.
const KEYS = [
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
] as const;
const SIGNING_KEYS = [
  "0x0b7f2b1e7c3f0a7d6f4e8c2a1b3d5e7f9a0c2e4f6a8b0d2f4a6c8e0a2c4e6f80",
  "0x1c8f3c2f8d4f1b8e7f5f9d3b2c4e6f8fab1d3f5f7b9c1e3f5b7d9f1b3d5f7091",
  "0x2d9f4d3f9e5f2c9f8f6fad4c3d5f7f9fbc2e4f6f8cad2f4f6c8e0f2c4e6f8092",
  "0x3eaf5e4faf6f3daf9f7fbe5d4e6f8fafcd3f5f7f9dbe3f5f7d9f1f3d5f7f9093",
] as const;

// Rounds of two optimizer steps: a kill inside a round reruns both steps from the round's start checkpoint.
export const killSpec = defaultModelSpec({
  stageCount: 2,
  layers: 2,
  dModel: 32,
  heads: 2,
  contextLength: 16,
  microbatchSize: 4,
  microbatchesPerStep: 2,
  stepsPerRound: 2,
});

export type KillChain = {
  s: Shardholder;
  rpcUrl: string;
  dir: string;
  /** `workers[pipeline][stage]`. */
  workers: Address[][];
  close(): Promise<void>;
};

/** Deploys, registers `killSpec` as model 1 and stakes the four stage workers. */
export async function setupKillChain(): Promise<KillChain> {
  const s = await deployShardholder();
  const rpc = await serveRpc(s.connection.provider);
  const dir = await mkdtemp(path.join(tmpdir(), "train-kill-"));
  await writeFile(path.join(dir, `${s.deployments.chainId}.json`), JSON.stringify(s.deployments));
  await writeFile(path.join(dir, "spec.json"), canonicalSpecJson(killSpec));
  await registerModel(s.deployer, {
    deployments: s.deployments,
    spec: testSpec({ specHash: specHash(killSpec), initialWeightsRoots: initialWeightsRoots(killSpec) }),
  });
  for (const i of [0, 1, 2, 3]) {
    const wallet = s.wallets[i + 1];
    if (!wallet || privateKeyToAccount(KEYS[i] as `0x${string}`).address !== accountAt(s, i + 1)) throw new Error("setup");
    await stake(wallet, {
      deployments: s.deployments,
      payout: accountAt(s, 7),
      signingKey: privateKeyToAccount(SIGNING_KEYS[i] as `0x${string}`).address,
      valueWei: parseEther("2"),
    });
  }
  const workers = [0, 1].map((p) => [0, 1].map((stage) => accountAt(s, 1 + 2 * p + stage)));
  return { s, rpcUrl: rpc.url, dir, workers, close: () => rpc.close() };
}

/** The exact flags of one stage process; a restart reuses them unchanged. */
export function stageArgs(
  c: KillChain,
  { pipeline, stage, journalDir, ports, until }: { pipeline: number; stage: number; journalDir: string; ports: number[]; until: bigint },
): string[] {
  return [
    "--json",
    "--rpc",
    c.rpcUrl,
    "--deployments",
    c.dir,
    "--key",
    KEYS[2 * pipeline + stage] as string,
    "--signing-key",
    SIGNING_KEYS[2 * pipeline + stage] as string,
    "--backend",
    "wasm",
    "train",
    "--model",
    "1",
    "--stage",
    String(stage),
    "--spec",
    path.join(c.dir, "spec.json"),
    "--journal",
    journalDir,
    "--until-round",
    String(until),
    "--poll-ms",
    "100",
    "--peer-timeout",
    "30",
    "--listen",
    `/ip4/127.0.0.1/tcp/${ports[stage]}`,
    ...(stage === 0 ? ["--peer", `/ip4/127.0.0.1/tcp/${ports[1]}`, "--dial-attempts", "20"] : []),
  ];
}

/**
 * The flags of a `train --swarm` process of staked worker `key` (0..3, Hardhat accounts 1..4) on
 * `stage`: no `--peer`, neighbours come from the stage directory.
 */
export function swarmArgs(
  c: KillChain,
  { key, stage, journalDir, until }: { key: number; stage: number; journalDir: string; until: bigint },
): string[] {
  return [
    "--json",
    "--rpc",
    c.rpcUrl,
    "--deployments",
    c.dir,
    "--key",
    KEYS[key] as string,
    "--signing-key",
    SIGNING_KEYS[key] as string,
    "--backend",
    "wasm",
    "train",
    "--model",
    "1",
    "--stage",
    String(stage),
    "--spec",
    path.join(c.dir, "spec.json"),
    "--journal",
    journalDir,
    "--until-round",
    String(until),
    "--poll-ms",
    "100",
    "--peer-timeout",
    "60",
    "--swarm",
  ];
}

/** One run of a `shardholder train` stage process: its JSON log lines, stderr and exit. */
export type StageProcess = {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Starts `shardholder train` with `args` (the key comes from the flags, never the environment). */
export function startStage(args: string[]): StageProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, SHARDHOLDER_KEY: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: StageProcess = {
    child,
    logs: [],
    stderr: "",
    exit: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))),
  };
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

/**
 * Advances the chain to round r+1 once every stage's round-r commitment of every pipeline in
 * `pipelines` (workers by stage) is stored, never earlier, through round `until`.
 */
export function driveRounds(c: KillChain, pipelines: readonly (readonly Address[])[], until: bigint): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    const model = await getModel(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n });
    while (running) {
      const round = await getCurrentRound(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n });
      if (round <= until) {
        const found = await Promise.all(
          pipelines.flatMap((workers) =>
            workers.map((worker, stage) =>
              getCommitment(c.s.publicClient, { deployments: c.s.deployments, modelId: 1n, round, stage, worker }),
            ),
          ),
        );
        if (found.every((f) => f.found))
          await c.s.networkHelpers.time.increaseTo(model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
