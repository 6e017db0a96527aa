// `shardholder chain`: a local chain on a fixed port with the protocol deployed and the SDK's
// address book written, that the other commands use as it is; and the script subcommands
// (`devnet`, `chain`) receive the global flags the root program takes (`--rpc`, `--deployments`,
// `--json`) instead of losing them.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createPublicClient, http } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { contractNames } from "../../sdk/deployments/types.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { absolutePaths } from "../../worker/cli/scripts.ts";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
const dir = mkdtempSync(path.join(tmpdir(), "shardholder-chain-"));
const running: ChildProcess[] = [];
afterAll(async () => {
  // Politely first: the CLI passes SIGINT on to the chain script (its own process group), which a
  // SIGKILL of the CLI alone would leave running.
  for (const c of running) {
    if (c.exitCode !== null) continue;
    const exited = new Promise((resolve) => c.once("exit", resolve));
    c.kill("SIGINT");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (c.exitCode === null) c.kill("SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
});

type Result = { code: number | null; stdout: string; stderr: string };

/** Runs the CLI from `cwd` (not the repository: paths must be made absolute on the way). */
function cli(args: string[], { cwd = dir, env = {} }: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, SHARDHOLDER_KEY: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `shardholder chain --json ...` and resolves with its one line, or rejects with its exit. */
function startChain(args: string[]): Promise<{ child: ChildProcess; line: { rpcUrl: string; chainId: number; deploymentsFile: string } }> {
  const child = spawn(process.execPath, [bin, "--json", "chain", ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (l) => resolve({ child, line: JSON.parse(l) }));
    child.once("exit", (code) => reject(Object.assign(new Error(`chain exited ${code}: ${stderr}`), { code, stderr })));
  });
}

describe("shardholder chain", () => {
  it("serves a deployed chain on its port with the SDK's address book; a taken port or another deployment's book is refused; Ctrl-C ends it with 0", async () => {
    const port = await fixedLoopbackPort();
    const { child, line } = await startChain(["--port", String(port), "--deployments", "book.json"]);
    expect(line.rpcUrl).toBe(`http://127.0.0.1:${port}`);
    expect(line.deploymentsFile).toBe(path.join(dir, "book.json"));
    const book = parseDeployments(JSON.parse(readFileSync(line.deploymentsFile, "utf8")), line.deploymentsFile);
    expect(book.chainId).toBe(31337);
    const client = createPublicClient({ transport: http(line.rpcUrl) });
    for (const name of contractNames) expect(await client.getCode({ address: book.contracts[name] }), name).not.toBe("0x");

    // Every other command takes the chain as it is: a stake through the CLI, with the relative book path.
    const staked = await cli(["--rpc", line.rpcUrl, "--deployments", "book.json", "--signing-key", devKey(101), "stake", "--amount", "1"], {
      env: { SHARDHOLDER_KEY: devKey(1) },
    });
    expect(staked.code, staked.stderr).toBe(0);
    expect(staked.stdout + staked.stderr).toContain("staked (txHash=");

    // The port is taken: one line, exit 2, the running chain untouched.
    const taken = await cli(["chain", "--port", String(port), "--deployments", "other.json"]);
    expect(taken.code).toBe(ExitCode.usage);
    expect(taken.stderr).toContain(`127.0.0.1:${port} is in use`);
    expect(existsSync(path.join(dir, "other.json"))).toBe(false);

    // A book of another deployment is never overwritten (a fresh chain deploys to the same addresses, so that one would be).
    const foreign = path.join(dir, "foreign.json");
    const text = JSON.stringify({ ...book, contracts: { ...book.contracts, modelRegistry: "0x000000000000000000000000000000000000dEaD" } });
    writeFileSync(foreign, text);
    const refused = await cli(["chain", "--port", "0", "--deployments", "foreign.json"]);
    expect(refused.code).toBe(ExitCode.usage);
    expect(refused.stderr).toContain("already holds another address book");
    expect(readFileSync(foreign, "utf8")).toBe(text);

    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 300_000);
});

describe("script subcommands receive the global flags", () => {
  it("absolutePaths_pathFlags_resolvedAgainstTheCallersDirectory", () => {
    expect(absolutePaths(["--runs-dir", "runs", "--rounds", "2", "--deployments=b.json", "--spec", "/a/s.json"], "/home/me")).toEqual([
      "--runs-dir",
      "/home/me/runs",
      "--rounds",
      "2",
      "--deployments=/home/me/b.json",
      "--spec",
      "/a/s.json",
    ]);
  });

  it("devnet --rpc URL --deployments FILE --json runs against that chain (here: unreachable, exit 3 in one JSON line), not a chain of its own", async () => {
    const port = await fixedLoopbackPort();
    writeFileSync(path.join(dir, "x.json"), "{}");
    const r = await cli(["devnet", "--rpc", `http://127.0.0.1:${port}`, "--deployments", "x.json", "--json", "--runs-dir", "runs"]);
    expect(r.code).toBe(ExitCode.rpcUnreachable);
    const failed = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; shortMessage?: string; exitCode?: number });
    expect(failed.at(-1)).toMatchObject({ msg: "devnet failed", exitCode: ExitCode.rpcUnreachable });
    expect(failed.at(-1)?.shortMessage).toContain(`127.0.0.1:${port}`);
    // Nothing of a chain of its own: no address book written anywhere.
    expect(existsSync(path.join(root, "deployments", "31337.json.tmp"))).toBe(false);
  }, 120_000);
});
