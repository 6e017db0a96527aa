// `shardholder app` as a person runs it: against a chain and its address book file, or a kept-running
// devnet's network.json, printing the URL, serving the page and its configuration until SIGINT,
// then exiting 0.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import { type RpcServer, serveRpc } from "../../scripts/lib/rpcServer.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { deployShardholder, type Shardholder } from "../sdk/fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");

describe("shardholder app", () => {
  let s: Shardholder;
  let rpc: RpcServer;
  let dir: string;
  beforeAll(async () => {
    s = await deployShardholder();
    rpc = await serveRpc(s.connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "shardholder-app-cli-"));
  }, 240_000);
  afterAll(async () => {
    await rpc?.close();
    await s?.connection.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 240_000);

  /** Runs `shardholder <args>` and waits for the URL it prints; `stop()` sends SIGINT and gives the exit code. */
  async function runApp(args: string[]): Promise<{ url: string; stderr: () => string; stop: () => Promise<number | null> }> {
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [bin, ...args], { cwd: root });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        const line = /^(http:\/\/\S+)\n/m.exec(out);
        if (line?.[1]) resolve(line[1]);
      });
      void exited.then((code) => reject(new Error(`exited ${code} before printing a URL: ${stderr}`)));
    });
    return {
      url,
      stderr: () => stderr,
      stop: async () => {
        child.kill("SIGINT");
        return exited;
      },
    };
  }

  type ConfigJson = { chainId: number; deployments: unknown; devAccounts: { address: string; label: string }[]; rpc: { upstream: string } };

  it("serves the page for the chain and address book it is given until Ctrl-C", async () => {
    const book = path.join(dir, `${s.deployments.chainId}.json`);
    await writeFile(book, JSON.stringify(s.deployments));
    const app = await runApp(["--rpc", rpc.url, "--deployments", book, "app", "--port", "0", "--runs-dir", dir]);
    expect(app.stderr()).toContain("app ready");
    const config = (await (await fetch(new URL("/config.json", app.url))).json()) as ConfigJson;
    expect(config.chainId).toBe(31337);
    expect(config.deployments).toEqual(parseDeployments(s.deployments)); // checksummed, as loaded from the file
    expect(config.rpc.upstream).toBe(new URL(rpc.url).toString());
    expect(config.devAccounts).toHaveLength(20); // chain 31337: Hardhat's public keys
    const page = await fetch(app.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const head = await fetch(new URL("/rpc", app.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId" }),
    });
    expect(await head.json()).toMatchObject({ result: "0x7a69" });
    expect(await app.stop()).toBe(0);
  }, 240_000);

  it("takes --network FILE: its chain and address book, the loss report beside it, its dev accounts by role", async () => {
    // A kept-running devnet's run folder: network.json (paths relative to it) and summary.json.
    const run = path.join(dir, "runs-elsewhere", "2026-12-08T10-00-00-000Z");
    await mkdir(run, { recursive: true });
    await writeFile(path.join(run, "deployments.json"), JSON.stringify(s.deployments));
    const named = (key: `0x${string}`) => ({ address: privateKeyToAccount(key).address, key });
    const network = {
      version: 1,
      chainId: 31337,
      rpc: [rpc.url],
      deploymentsFile: "deployments.json",
      models: [],
      devKeys: {
        deployer: named(devKey(0)),
        miners: [named(devKey(1)), named(devKey(2))],
        signingKeys: [named(devKey(100))],
        clients: [named(devKey(3))],
        validators: [named(devKey(14))],
      },
    };
    await writeFile(path.join(run, "network.json"), JSON.stringify(network));
    const token = s.deployments.contracts.modelRegistry; // any address: the report is only served here
    await writeFile(
      path.join(run, "summary.json"),
      JSON.stringify({ chainId: 31337, modelId: "1", token, rounds: [{ round: "0", loss: 4.2, evalLoss: 4.0 }] }),
    );
    const emptyRuns = path.join(dir, "no-runs-here");
    const app = await runApp(["--network", path.join(run, "network.json"), "app", "--port", "0", "--runs-dir", emptyRuns]);
    const config = (await (await fetch(new URL("/config.json", app.url))).json()) as ConfigJson;
    expect(config.chainId).toBe(31337);
    expect(config.deployments).toEqual(parseDeployments(s.deployments));
    expect(config.rpc.upstream).toBe(new URL(rpc.url).toString());
    expect(config.devAccounts.map((a) => [a.label, a.address])).toEqual([
      ["designer (deployer, relayer)", privateKeyToAccount(devKey(0)).address],
      ["miner, stage 0 (its own payout)", privateKeyToAccount(devKey(1)).address],
      ["miner, stage 1 (its own payout)", privateKeyToAccount(devKey(2)).address],
      ["dapp client 0", privateKeyToAccount(devKey(3)).address],
      ["validator of stage 0 (auditor)", privateKeyToAccount(devKey(14)).address],
    ]);
    const { reports } = (await (await fetch(new URL("/api/loss", app.url))).json()) as { reports: { source: string; rounds: unknown[] }[] };
    expect(reports.map((r) => [path.resolve(r.source), r.rounds])).toEqual([
      [path.join(run, "summary.json"), [{ round: "0", loss: 4.2, evalLoss: 4.0 }]],
    ]);
    expect(await app.stop()).toBe(0);
  }, 240_000);
});
