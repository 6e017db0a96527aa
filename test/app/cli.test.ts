// `shardholder app` as a person runs it: against a chain and its address book file, printing the
// URL, serving the page and its configuration until SIGINT, then exiting 0.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

  it("serves the page for the chain and address book it is given until Ctrl-C", async () => {
    const book = path.join(dir, `${s.deployments.chainId}.json`);
    await writeFile(book, JSON.stringify(s.deployments));
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [bin, "--rpc", rpc.url, "--deployments", book, "app", "--port", "0", "--runs-dir", dir], { cwd: root });
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
    expect(stderr).toContain("app ready");
    const config = (await (await fetch(new URL("/config.json", url))).json()) as { chainId: number; deployments: unknown; devAccounts: unknown[]; rpc: { upstream: string } };
    expect(config.chainId).toBe(31337);
    expect(config.deployments).toEqual(parseDeployments(s.deployments)); // checksummed, as loaded from the file
    expect(config.rpc.upstream).toBe(new URL(rpc.url).toString());
    expect(config.devAccounts).toHaveLength(20); // chain 31337: Hardhat's public keys
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const head = await fetch(new URL("/rpc", url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId" }) });
    expect(await head.json()).toMatchObject({ result: "0x7a69" });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 240_000);
});
