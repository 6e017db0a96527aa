// `npm start` / `shardholder devnet`: a whole local Shardholder network end to end.
import { Command, InvalidArgumentError } from "commander";
import { formatEther } from "viem";
import type { JsonLineProcess } from "../worker/serve/launch.ts";
import { runDevnet } from "./lib/devnet/run.ts";
import { printSummary, summaryChecks, toJson, writeRunFiles } from "./lib/devnet/summary.ts";

const positive = (what: string, max: number) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > max) throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}.`);
  return n;
};

/** The devnet's command line (exported for tests of the flags). */
export function devnetProgram(): Command {
  return new Command("devnet")
    .description("run a local Shardholder network: chain, deployment, stage miners over libp2p, training rounds, paid inference, claims")
    .option("--stages <n>", "pipeline stages (one miner process each)", positive("--stages", 8), 3)
    .option("--rounds <n>", "training rounds", positive("--rounds", 100), 8)
    .option("--requests <n>", "paid inference requests", positive("--requests", 100), 4)
    .option("--no-cheater", "do not start the cheating miner")
    .option("--rpc <url>", "use an existing chain at this JSON-RPC URL (needs --deployments)")
    .option("--deployments <file>", "address book of the existing chain (with --rpc)")
    .option("--runs-dir <dir>", "where runs/<time>/ goes", "runs")
    .option("--json", "progress as JSON lines and the summary as JSON on stdout")
    .showHelpAfterError();
}

type Options = { stages: number; rounds: number; requests: number; cheater: boolean; rpc?: string; deployments?: string; runsDir: string; json?: boolean };

async function main(): Promise<number> {
  const program = devnetProgram();
  program.parse(process.argv);
  const opts = program.opts<Options>();
  if (Boolean(opts.rpc) !== Boolean(opts.deployments)) program.error("--rpc and --deployments go together");
  const started = performance.now();
  const log = (message: string, fields: Record<string, unknown> = {}) => {
    const t = ((performance.now() - started) / 1000).toFixed(1);
    if (opts.json) process.stdout.write(`${toJson({ t: Number(t), msg: message, ...fields }).replace(/\n\s*/g, " ")}\n`);
    else console.log(`[${t.padStart(5)}s] ${message}`);
  };
  const children: JsonLineProcess[] = [];
  const abort = new AbortController();
  const stopAll = () => Promise.allSettled(children.map((c) => c.stop()));
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping every child process`);
    abort.abort();
    void stopAll().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await runDevnet({ ...opts, log, signal: abort.signal }, children);
    const wallMs = performance.now() - started;
    const files = await writeRunFiles(result, wallMs);
    if (opts.json) process.stdout.write(`${toJson({ summary: files.json, plot: files.svg, checks: summaryChecks(result) }).replace(/\n\s*/g, " ")}\n`);
    else {
      const checks = summaryChecks(result);
      printSummary(result, wallMs);
      console.log(`\nsummary ${files.json}\nplot    ${files.svg}\ncheater: ${result.cheater.address ? `${result.cheater.address} (${result.cheater.note}) ${checks.cheaterSlashed ? "caught and slashed" : "NOT slashed"}` : "none (--no-cheater)"}; honest miners slashed: ${checks.honestSlashed}`);
      console.log(`holders received ${formatEther(summaryChecks(result).claimedWei)} ETH; wall time ${(wallMs / 1000).toFixed(1)} s`);
    }
    return 0;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    log(`devnet failed: ${(e as { shortMessage?: string }).shortMessage ?? e.message}`);
    if (process.env.SHARDHOLDER_DEBUG) console.error(e.stack);
    return 1;
  } finally {
    await stopAll();
  }
}

process.exit(await main());
