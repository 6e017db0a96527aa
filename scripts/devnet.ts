// `npm start` / `shardholder devnet`: a whole local Shardholder network end to end.
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { formatEther, type Hex } from "viem";
import type { ManagedProcess } from "./lib/devnet/supervisor.ts";
import { CliError, ExitCode } from "../worker/cli/errors.ts";
import { stopStrayChildren } from "./lib/devnet/procs.ts";
import { compileDeployedContracts } from "./lib/compile.ts";
import { opensApp, type RunContext } from "./lib/devnet/appMode.ts";
import { DEMO_STEPS_PER_ROUND } from "./lib/devnet/model.ts";
import { type DevnetResult, runDevnet } from "./lib/devnet/run.ts";
import { printSummary, sampleLine, summaryChecks, toJson, writeRunFiles } from "./lib/devnet/summary.ts";

const positive =
  (what: string, max: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > max) throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}.`);
    return n;
  };

const nonNegative =
  (what: string, max: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || n > max) throw new InvalidArgumentError(`${what} must be a number from 0 to ${max}.`);
    return n;
  };

/** The devnet's command line (exported for tests of the flags). */
export function devnetProgram(): Command {
  return new Command("devnet")
    .description("run a local Shardholder network: chain, deployment, stage miners over libp2p, training rounds, paid inference, claims")
    .option("--stages <n>", "pipeline stages (one miner process each; the last has replicas unless --no-swarm)", positive("--stages", 8), 3)
    .option("--rounds <n>", "training rounds", positive("--rounds", 100), 8)
    .option(
      "--steps-per-round <k>",
      "optimizer steps in each round (the model's terms)",
      positive("--steps-per-round", 10_000),
      DEMO_STEPS_PER_ROUND,
    )
    .option("--requests <n>", "paid inference requests", positive("--requests", 100), 4)
    .option("--no-cheater", "do not start the cheating miner")
    .option("--no-swarm", "one miner per stage: no replicas of the last stage, no crash, no joiner")
    .option("--temperature <t>", "sampling temperature of the served inferences (0 = greedy)", nonNegative("--temperature", 10), 0.8)
    .option("--top-k <k>", "sample among the k most likely characters", positive("--top-k", 1000), 8)
    .option(
      "--rpc <url>",
      "use an existing chain at this JSON-RPC URL (needs --deployments; env SHARDHOLDER_KEY funds the roles there, default dev account 0)",
    )
    .option("--deployments <file>", "address book of the existing chain (with --rpc)")
    .option("--runs-dir <dir>", "where runs/<time>/ goes", "runs")
    .option("--json", "progress as JSON lines and the summary as JSON on stdout")
    .option(
      "--keep-running",
      "after the summary, leave the chain, miners, a validator and the serving pipeline up and write runs/<time>/network.json (for `shardholder --network FILE ...`) until Ctrl-C",
    )
    .option("--no-app", "run interactively (a terminal, not CI) without opening the web app and keeping the network up for it")
    .showHelpAfterError()
    .exitOverride();
}

type Options = {
  stages: number;
  rounds: number;
  stepsPerRound: number;
  requests: number;
  cheater: boolean;
  /** `--no-swarm` sets it false. */
  swarm: boolean;
  temperature: number;
  topK: number;
  rpc?: string;
  deployments?: string;
  runsDir: string;
  json?: boolean;
  keepRunning?: boolean;
  /** `--no-app` sets it false; the app opens only when the run is interactive as well (lib/devnet/appMode.ts). */
  app: boolean;
  /** Env SHARDHOLDER_KEY (never argv): registers the model, relays finalize/mint and funds the other roles. */
  deployerKey?: Hex | undefined;
};

/** Parses the flags; bad flags exit with the CLI's usage code (2), help with 0. */
function parseFlags(argv: string[]): Options {
  const program = devnetProgram();
  try {
    program.parse(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
    throw err;
  }
  const opts = program.opts<Options>();
  if (Boolean(opts.rpc) !== Boolean(opts.deployments)) {
    console.error("error: --rpc and --deployments go together");
    process.exit(ExitCode.usage);
  }
  // Empty counts as unset, as for the CLI.
  const key = process.env.SHARDHOLDER_KEY || undefined;
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    console.error("error: SHARDHOLDER_KEY must be a 32-byte hex private key");
    process.exit(ExitCode.usage);
  }
  // Interactive runs end in the web app with the network kept up for it (until Ctrl-C); CI, pipes
  // and --json runs, or --no-app, exit after the summary as before.
  const app = opensApp(opts, runContext());
  return { ...opts, keepRunning: opts.keepRunning || app, deployerKey: key as Hex | undefined };
}

const runContext = (): RunContext => ({ isTTY: process.stdout.isTTY === true, env: process.env });

/** Serves the web app against the kept-running network (app/server/startApp.ts) and prints its URL. */
async function openApp(result: DevnetResult, summaryFile: string, log: (message: string) => void): Promise<{ close(): Promise<void> }> {
  const { readFileSync } = await import("node:fs");
  const { loadNetworkFile } = await import("../worker/config/network.ts");
  const { parseDeployments } = await import("../sdk/deployments/parse.ts");
  const { startApp } = await import("../app/server/startApp.ts");
  const { devnetDevKeys } = await import("../app/server/devnetKeys.ts");
  const network = loadNetworkFile(result.networkFile as string);
  const deployments = parseDeployments(JSON.parse(readFileSync(network.deploymentsFile, "utf8")), network.deploymentsFile);
  const app = await startApp({
    rpcUrl: result.rpcUrl,
    deployments,
    port: 0,
    devKeys: devnetDevKeys(result.stages, { cheater: result.cheater.address !== undefined, swarm: result.swarm !== undefined }),
    lossFiles: [summaryFile],
  });
  log(`web app: ${app.url} (holdings and claims, the network, try the model); Ctrl-C stops everything`);
  return app;
}

/** Writes the run's files and prints the summary; with --keep-running, waits for Ctrl-C with everything up. */
async function report(
  result: DevnetResult,
  opts: Options,
  started: number,
  log: (message: string, fields?: Record<string, unknown>) => void,
  signal: AbortSignal,
  done: () => void,
): Promise<void> {
  const wallMs = performance.now() - started;
  const files = await writeRunFiles(result, wallMs);
  if (opts.json)
    process.stdout.write(
      `${toJson({ summary: files.json, plot: files.svg, network: result.networkFile, checks: summaryChecks(result) }).replace(/\n\s*/g, " ")}\n`,
    );
  else {
    const checks = summaryChecks(result);
    printSummary(result, wallMs);
    console.log(
      `\nsummary ${files.json}\nplot    ${files.svg}\ncheater: ${result.cheater.address ? `${result.cheater.address} (${result.cheater.note}) ${checks.cheaterSlashed ? "caught and slashed" : "NOT slashed"}` : "none (--no-cheater)"}; honest miners slashed: ${checks.honestSlashed}`,
    );
    if (result.restarts.length) console.log(`supervisor restarts: ${result.restarts.map((r) => `${r.name} (exit ${r.code})`).join(", ")}`);
    console.log(sampleLine(result));
    console.log(`holders received ${formatEther(summaryChecks(result).claimedWei)} ETH; wall time ${(wallMs / 1000).toFixed(1)} s`);
  }
  done();
  if (!opts.keepRunning || !result.networkFile) return;
  log(
    `network up: ${result.networkFile} (chain ${result.rpcUrl}, model ${result.modelId}, ${result.stages} stages serving); try \`npx shardholder --network ${result.networkFile} <command>\`; Ctrl-C stops it`,
    { network: result.networkFile },
  );
  const app = opensApp(opts, runContext()) ? await openApp(result, files.json, log) : undefined;
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  await app?.close();
}

async function main(): Promise<number> {
  const opts = parseFlags(process.argv);
  const started = performance.now();
  const log = (message: string, fields: Record<string, unknown> = {}) => {
    const t = ((performance.now() - started) / 1000).toFixed(1);
    if (opts.json) process.stdout.write(`${toJson({ t: Number(t), msg: message, ...fields }).replace(/\n\s*/g, " ")}\n`);
    else console.log(`[${t.padStart(5)}s] ${message}`);
  };
  const children: ManagedProcess[] = [];
  const abort = new AbortController();
  // Set once the summary is out: a Ctrl-C of a kept-running network is its normal end (exit 0).
  let summarized = false;
  // The tracked children first (politely), then any child not handed over yet, by its pid.
  const stopAll = async () => {
    await Promise.allSettled(children.map((c) => c.stop()));
    await stopStrayChildren();
  };
  // First Ctrl-C: stop every child (politely, then by force) and exit 130. A second one does not
  // kill the devnet before its children: it only skips the politeness.
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      for (const c of children) c.kill();
      return;
    }
    log(`${sig}: stopping every child process`);
    abort.abort();
    void stopAll().then(() => process.exit(summarized ? 0 : 130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    // Its own chain deploys the contracts: compile them (only them) first; an existing chain has them.
    if (!opts.rpc) await compileDeployedContracts({ log, tty: !opts.json && process.stdout.isTTY === true });
    await runDevnet(
      {
        ...opts,
        log,
        signal: abort.signal,
        onResult: (result) => report(result, opts, started, log, abort.signal, () => (summarized = true)),
      },
      children,
    );
    return 0;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const message = (e as { shortMessage?: string }).shortMessage ?? e.message;
    // Interrupted: whatever failed afterwards is a consequence; the signal handler exits 130.
    const exitCode = abort.signal.aborted ? 130 : e instanceof CliError ? e.exitCode : ExitCode.unexpected;
    if (opts.json) log("devnet failed", { error: e.name, shortMessage: message, exitCode });
    // A CLI error is one line by design; anything else keeps its detail (e.g. Ignition lists each failed future).
    else console.error(`devnet failed: ${e instanceof CliError ? message.split("\n")[0] : e.message}`);
    if (process.env.SHARDHOLDER_DEBUG) console.error(e.stack);
    return exitCode;
  } finally {
    await stopAll();
  }
}

process.exit(await main());
