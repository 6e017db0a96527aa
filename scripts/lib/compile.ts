// What `npm start`, `shardholder devnet` and `shardholder chain` compile: the contracts they
// deploy and their imports, nothing else (a clean compile of every test contract takes ~9 min on
// 2 cores with the wasm solc; these take ~20 s). `npm test` still compiles everything. Hardhat's
// output (solc warnings about OpenZeppelin's transient storage, one per job) is kept back and
// shown only if the build fails; the user sees one progress line.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The files of the contracts the deployment (ignition/modules/Shardholder.ts) creates: the six
 * protocol contracts and the ledger's two modules (test/e2e/compileDeployed.test.ts checks that
 * every `m.contract(...)` of the module is defined here).
 */
export const DEPLOYED_CONTRACTS = [
  "contracts/ModelRegistry.sol",
  "contracts/ModelToken.sol",
  "contracts/ComputeLedger.sol",
  "contracts/ledger/LedgerValidators.sol",
  "contracts/ledger/LedgerDisputes.sol",
  "contracts/InferenceEscrow.sol",
  "contracts/RevenueClaimer.sol",
  "contracts/ServingDirectory.sol",
  "contracts/StageDirectory.sol",
] as const;

/** The build did not succeed; its output is the message. */
export class CompileError extends Error {
  constructor(
    readonly output: string,
    code: number | null,
  ) {
    super(`hardhat build failed (exit ${code}):\n${output.trim()}`);
    this.name = "CompileError";
  }
}

/**
 * Builds {@link DEPLOYED_CONTRACTS} (`hardhat build --no-tests --quiet <files>`; up to date in a
 * few seconds). `log` gets one line when the build takes more than `announceAfterMs` (a first
 * run), and one when it ends; on a terminal the first line counts the seconds in place.
 *
 * @example
 * await compileDeployedContracts({ log: console.log })
 */
export async function compileDeployedContracts({
  log = () => {},
  announceAfterMs = 5_000,
  tty = process.stdout.isTTY === true,
}: { log?: (line: string) => void; announceAfterMs?: number; tty?: boolean } = {}): Promise<{ ms: number; announced: boolean }> {
  const cli = createRequire(import.meta.url)
    .resolve("hardhat/package.json")
    .replace(/package\.json$/, "dist/src/cli.js");
  const started = performance.now();
  const child = spawn(process.execPath, [cli, "build", "--no-tests", "--quiet", ...DEPLOYED_CONTRACTS], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (output += d.toString("utf8")));
  const what = `compiling the deployed contracts (a first run compiles, ~20-40 s on 2 cores; npm test compiles the tests too)`;
  let announced = false;
  let ticker: NodeJS.Timeout | undefined;
  const announce = setTimeout(() => {
    announced = true;
    if (tty) {
      const draw = () => process.stdout.write(`\r${what} ${Math.round((performance.now() - started) / 1000)} s`);
      draw();
      ticker = setInterval(draw, 1_000);
    } else log(`${what}...`);
  }, announceAfterMs);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearTimeout(announce);
  if (ticker) clearInterval(ticker);
  const ms = Math.round(performance.now() - started);
  if (announced && tty) process.stdout.write("\n");
  if (code !== 0) throw new CompileError(output, code);
  if (announced) log(`compiled in ${(ms / 1000).toFixed(1)} s`);
  return { ms, announced };
}
