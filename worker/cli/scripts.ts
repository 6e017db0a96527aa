// The subcommands that run a script of the repository in a child process (`devnet`, `chain`):
// the root program takes the global options (`--rpc`, `--deployments`, `--json`, `--key`,
// `--network`) wherever they stand on the command line, so they never reach the subcommand's own
// arguments. These helpers hand them over intact, with paths made absolute (the script runs in
// the repository root, not in the caller's directory).
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ExitCode } from "./errors.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Global options as commander holds them (before validation). */
type Globals = { rpc?: string | string[]; deployments?: string; json?: boolean; key?: string; network?: string };

/** Flags of the script's own that name files: made absolute against the caller's directory. */
const PATH_FLAGS = ["--runs-dir", "--deployments", "--spec"];

/** `args` with the values of {@link PATH_FLAGS} resolved against `cwd`. */
export function absolutePaths(args: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = PATH_FLAGS.find((f) => arg.startsWith(`${f}=`));
    if (eq) out.push(`${eq}=${path.resolve(cwd, arg.slice(eq.length + 1))}`);
    else if (PATH_FLAGS.includes(arg) && i + 1 < args.length) out.push(arg, path.resolve(cwd, args[++i] as string));
    else out.push(arg);
  }
  return out;
}

/**
 * The argv and environment of a script subcommand: its own flags, then the global ones it takes
 * (`--rpc`: the first endpoint, `--deployments` absolute, `--json`); `--key` goes through the
 * environment (`SHARDHOLDER_KEY`), never argv. `--network FILE` fills `--rpc` and `--deployments`
 * when they were not given (see worker/config/network.ts).
 *
 * @example
 * scriptArgs(devnetCommand, { takes: ["rpc", "deployments", "json"] })
 */
export async function scriptArgs(
  command: Command,
  { takes, cwd = process.cwd() }: { takes: readonly ("rpc" | "deployments" | "json")[]; cwd?: string },
): Promise<{ args: string[]; env: NodeJS.ProcessEnv }> {
  const g = command.optsWithGlobals<Globals>();
  const own = absolutePaths(command.args, cwd);
  let rpc = [g.rpc ?? []].flat()[0];
  let deployments = g.deployments !== undefined ? path.resolve(cwd, g.deployments) : undefined;
  if (g.network !== undefined && takes.includes("rpc") && (rpc === undefined || deployments === undefined)) {
    const { loadNetworkFile } = await import("../config/network.ts");
    const net = loadNetworkFile(path.resolve(cwd, g.network));
    rpc ??= net.rpc[0];
    deployments ??= net.deploymentsFile;
  }
  const has = (flag: string) => own.some((a) => a === flag || a.startsWith(`${flag}=`));
  const args = [...own];
  if (takes.includes("rpc") && rpc !== undefined && !has("--rpc")) args.push("--rpc", rpc);
  if (takes.includes("deployments") && deployments !== undefined && !has("--deployments")) args.push("--deployments", deployments);
  if (takes.includes("json") && g.json && !has("--json")) args.push("--json");
  return { args, env: g.key !== undefined ? { SHARDHOLDER_KEY: g.key.startsWith("0x") ? g.key : `0x${g.key}` } : {} };
}

/** Runs `scripts/<name>.ts` under tsx in the repository root with stdio inherited; sets the exit code. */
export async function runScript(name: string, { args, env }: { args: string[]; env: NodeJS.ProcessEnv }): Promise<void> {
  const script = path.join(root, "scripts", `${name}.ts`);
  const { spawn } = await import("node:child_process");
  const code = await new Promise<number>((resolve) => {
    // The script runs in a process group of its own, so a terminal's Ctrl-C reaches it once, from
    // here (the devnet takes a second Ctrl-C as "kill the children now"); SIGINT and SIGTERM sent
    // to this process alone are passed on the same way. It reads no input.
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      stdio: ["ignore", "inherit", "inherit"],
      cwd: root,
      env: { ...process.env, ...env },
      detached: true,
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (c, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(c ?? (signal === "SIGINT" ? 130 : ExitCode.unexpected));
    });
  });
  if (code !== 0) process.exitCode = code;
}

/**
 * Registers `shardholder chain`: a local chain on a fixed port with the protocol deployed and its
 * address book written (scripts/chain.ts), served until Ctrl-C.
 */
export function registerChainCommand(program: Command): void {
  program
    .command("chain")
    .description(
      "start a local chain (default 127.0.0.1:8545), deploy the contracts, write the address book, serve until Ctrl-C (flags: see `shardholder chain --help`)",
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(async (_options: unknown, command: Command) => {
      await runScript("chain", await scriptArgs(command, { takes: ["deployments", "json"] }));
    });
}
