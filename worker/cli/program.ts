import { Command, CommanderError, Option } from "commander";
import { registerAppCommand } from "./app.ts";
import { registerClaim, registerHoldings } from "./commands/holders.ts";
import { registerConsent } from "./commands/consent.ts";
import { registerDevnet } from "./commands/devnet.ts";
import { registerExport } from "./commands/export.ts";
import { registerServe } from "./commands/serve.ts";
import { registerStake } from "./commands/stake.ts";
import { registerStatus } from "./commands/status.ts";
import { registerTrain } from "./commands/train.ts";
import { registerValidate } from "./commands/validate.ts";
import { installNetworkDefaults } from "../config/commandDefaults.ts";
import { type CliError, ExitCode, toCliError } from "./errors.ts";
import { registerChainCommand } from "./scripts.ts";
import { collect } from "./parse.ts";

// Only commander, the flag parsers and the error classes load eagerly: viem alone takes seconds
// to import on a busy machine, and `--help` or a bad flag must answer at once. Each subcommand
// lives in commands/<name>.ts and imports what it runs inside its action.

/**
 * The `shardholder` program: global options, then one module per subcommand.
 *
 * @example
 * await buildProgram().parseAsync(process.argv)
 */
export function buildProgram(): Command {
  const program = new Command("shardholder")
    .description("Shardholder worker: stake, train a pipeline stage, get paid, serve inference, validate, hold and claim.")
    .option("--rpc <url>", "JSON-RPC endpoint; repeat for fallbacks, tried in order (env SHARDHOLDER_RPC, comma-separated)", collect)
    .option("--deployments <path>", "address book: a <chainId>.json file or a directory of them (env SHARDHOLDER_DEPLOYMENTS)")
    .option("--key <hex>", "worker key: stakes, sends transactions (env SHARDHOLDER_KEY)")
    .option("--signing-key <hex>", "commitment signing key, not the payout key (env SHARDHOLDER_SIGNING_KEY)")
    .addOption(
      new Option("--backend <name>", "tfjs backend (default: best available)").choices(["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"]),
    )
    .option("--json", "structured JSON logs (pino) on stdout")
    .option(
      "--network <file>",
      "a running network's network.json (from `devnet --keep-running`): fills --rpc, --deployments, --model, --spec; flags win",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  installNetworkDefaults(program, { resolveSpec: async (p) => (await import("./specFetch.ts")).resolveSpecForCommand(p) });
  for (const register of [
    registerStake,
    registerTrain,
    registerStatus,
    registerServe,
    registerExport,
    registerConsent,
    registerValidate,
    registerHoldings,
    registerClaim,
    registerDevnet,
    registerChainCommand,
    registerAppCommand,
  ])
    register(program);
  return program;
}

function report(err: CliError, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ level: 50, time: new Date().toISOString(), pid: process.pid, name: err.name, exitCode: err.exitCode, msg: err.shortMessage })}\n`,
    );
  } else {
    process.stderr.write(`error: ${err.shortMessage}\n`);
  }
}

/**
 * Runs the CLI on `argv` (process.argv layout) and returns the exit code: 0, or one of
 * {@link ExitCode} with a one-line error. Key locks this run took are released before it returns.
 */
export async function run(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help).
      if (err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version") return ExitCode.ok;
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const cliError = await toCliError(err);
    report(cliError, json);
    if (cliError.exitCode === ExitCode.unexpected && process.env.SHARDHOLDER_DEBUG) process.stderr.write(`${(err as Error).stack ?? ""}\n`);
    return cliError.exitCode;
  } finally {
    const { releaseAllKeyLocks } = await import("./keyLock.ts");
    releaseAllKeyLocks();
  }
}
