// `npx shardholder chain`: a local chain for everything else to use. An in-process Hardhat chain
// served over HTTP JSON-RPC on a fixed port (default 127.0.0.1:8545, the CLI's default `--rpc`),
// the protocol deployed through the project's deploy code (scripts/lib/deploy.ts), the address
// book written in the SDK's format (default deployments/<chainId>.json, the CLI's default
// `--deployments`), then served until Ctrl-C.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { privateKeyToAccount } from "viem/accounts";
import { CliError, ExitCode } from "../worker/cli/errors.ts";
import { devKey } from "./lib/devnet/accounts.ts";
import { compileDeployedContracts } from "./lib/compile.ts";
import type { DevChain } from "./lib/devnet/chain.ts";

const port = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535) throw new InvalidArgumentError("--port must be an integer from 0 to 65535.");
  return n;
};

/** The `chain` command line (exported for tests of the flags). */
export function chainProgram(): Command {
  return new Command("chain")
    .description("start a local chain, deploy the Shardholder contracts, write the address book, serve until Ctrl-C")
    .option("--host <host>", "interface the JSON-RPC server listens on", "127.0.0.1")
    .option("--port <port>", "JSON-RPC port (0: any free port)", port, 8545)
    .option("--deployments <file>", "where the address book goes (default deployments/<chainId>.json)")
    .option("--force", "overwrite an address book that names other contracts (another chain's)")
    .option("--json", "one JSON line {rpcUrl, chainId, deploymentsFile} instead of text")
    .showHelpAfterError()
    .exitOverride();
}

type Options = { host: string; port: number; deployments?: string; force?: boolean; json?: boolean };

/** The address book at `file` differs from `book` (another deployment), or undefined when it is the same or absent. */
export function conflictingBook(file: string, book: unknown): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  try {
    const existing = JSON.parse(text) as { contracts?: unknown; chainId?: unknown };
    const fresh = book as { contracts: unknown; chainId: unknown };
    if (JSON.stringify(existing.contracts) === JSON.stringify(fresh.contracts) && existing.chainId === fresh.chainId) return undefined;
  } catch {
    // not JSON: still someone's file
  }
  return `${file} already holds another address book; keep it and pass --deployments <other file>, or pass --force to overwrite it`;
}

/** Whether `host:port` can be bound now. */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function main(): Promise<number> {
  const program = chainProgram();
  try {
    program.parse(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : ExitCode.usage;
    throw err;
  }
  const o = program.opts<Options>();
  const say = (text: string) => (o.json ? undefined : console.log(text));
  // A taken port fails at once, before the compile and the chain start (a second chain by mistake).
  if (o.port !== 0 && !(await portFree(o.host, o.port))) {
    console.error(`error: ${o.host}:${o.port} is in use (another chain?); stop it or pick another --port.`);
    return ExitCode.usage;
  }
  await compileDeployedContracts({ log: say, tty: !o.json && process.stdout.isTTY === true });
  const { startLocalChain } = await import("./lib/devnet/chain.ts");
  let chain: DevChain;
  // Deploy into a scratch book first: an existing book is only replaced when it is the same
  // deployment (a fresh Hardhat chain deploys to the same addresses) or with --force.
  const target = path.resolve(o.deployments ?? path.join("deployments", "31337.json"));
  const scratch = path.join(path.dirname(target), `.shardholder-book.${process.pid}.tmp`);
  try {
    chain = await startLocalChain({ deploymentsFile: scratch, host: o.host, port: o.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") {
      console.error(`error: ${o.host}:${o.port} is in use (another chain?); stop it or pick another --port.`);
      return ExitCode.usage;
    }
    throw err;
  }
  const { rename, rm } = await import("node:fs/promises");
  const book = JSON.parse(readFileSync(scratch, "utf8")) as { chainId: number };
  // Without --deployments the book is named after the chain, like every other address book.
  // Like the CLI's --deployments: a directory (or a path not ending in .json) holds <chainId>.json.
  const asDir = o.deployments !== undefined && (!o.deployments.endsWith(".json") || (existsSync(target) && statSync(target).isDirectory()));
  const file = !o.deployments
    ? path.resolve("deployments", `${book.chainId}.json`)
    : asDir
      ? path.join(target, `${book.chainId}.json`)
      : target;
  const conflict = o.force ? undefined : conflictingBook(file, book);
  if (conflict) {
    await rm(scratch, { force: true });
    await chain.close();
    console.error(`error: ${conflict}.`);
    return ExitCode.usage;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  await rename(scratch, file);
  const funded = privateKeyToAccount(devKey(0)).address;
  if (o.json) console.log(JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: book.chainId, deploymentsFile: file }));
  else {
    say(`chain ${book.chainId} at ${chain.rpcUrl}`);
    say(`address book ${file}`);
    say(`dev accounts 0-19 of the mnemonic "test test ... junk" hold 10000 ETH each; account 0 is ${funded}`);
    say(`use it: npx shardholder --rpc ${chain.rpcUrl} --deployments ${file} <command>   (Ctrl-C stops the chain)`);
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await chain.close();
  return 0;
}

process.exit(
  await main().catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`error: ${(e as { shortMessage?: string }).shortMessage ?? e.message}`);
    if (process.env.SHARDHOLDER_DEBUG) console.error(e.stack);
    return e instanceof CliError ? e.exitCode : ExitCode.unexpected;
  }),
);
