import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import hre from "hardhat";
import { createPublicClient, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployProtocol } from "../../scripts/lib/deploy.ts";
import { serveRpc, type RpcServer } from "../../scripts/lib/rpcServer.ts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { testSpec } from "../sdk/fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
// Hardhat's first default account (mnemonic "test test ... junk"): funded on the in-process chain.
const FUNDED_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

type Result = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, ...env, SHARDHOLDER_KEY: env.SHARDHOLDER_KEY ?? "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback port that nothing listens on, outside the ephemeral range so nothing starts to meanwhile. */
const closedPort = fixedLoopbackPort;

const errorLines = (r: Result) => r.stderr.split("\n").filter((l) => l.startsWith("error:"));

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("shardholder CLI without a chain", () => {
  it("prints help for the program and every subcommand, exit 0", async () => {
    const [top, train, stake] = await Promise.all([cli(["--help"]), cli(["train", "--help"]), cli(["stake", "--help"])]);
    expect(top.code).toBe(0);
    for (const sub of ["stake", "train", "status", "serve", "export", "consent", "validate", "holdings", "claim", "devnet", "chain", "app"])
      expect(top.stdout).toContain(sub);
    for (const flag of ["--rpc", "--deployments", "--key", "--signing-key", "--backend", "--json", "--network"])
      expect(top.stdout).toContain(flag);
    expect(train.code).toBe(0);
    expect(train.stdout).toContain("--peer <multiaddr>");
    expect(stake.code).toBe(0);
    expect(stake.stdout).toContain("--amount <eth>");
  });

  it("export names what is wrong with the journal or the spec in one line, exit 2; serve takes --journal or --weights, not both", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "shardholder-export-cli-"));
    dirs.push(dir);
    const specFile = path.join(dir, "spec.json");
    const { canonicalSpecJson, defaultModelSpec } = await import("../../worker/model/spec.ts");
    await writeFile(specFile, canonicalSpecJson(defaultModelSpec({ stageCount: 2 })));
    const [noJournal, noSpec, both] = await Promise.all([
      cli(["export", "--journal", path.join(dir, "none"), "--out", path.join(dir, "x.ckpt"), "--spec", specFile]),
      cli(["export", "--journal", dir, "--out", path.join(dir, "x.ckpt"), "--spec", path.join(dir, "missing.json")]),
      cli(["serve", "--model", "1", "--stage", "1", "--spec", specFile, "--journal", dir, "--weights", path.join(dir, "x.ckpt")]),
    ]);
    for (const r of [noJournal, noSpec, both]) {
      expect(r.code, r.stderr).toBe(ExitCode.usage);
      expect(errorLines(r)).toHaveLength(1);
    }
    expect(errorLines(noJournal)[0]).toMatch(/no training journal there/);
    expect(errorLines(noSpec)[0]).toMatch(/Cannot read --spec .*ENOENT/);
    expect(errorLines(both)[0]).toMatch(/--journal and --weights/);
  });

  it("rejects bad flags and values with exit 2 and a one-line error that never echoes a key", async () => {
    const [unknown, badModel, badKey, badBackend, missingRequired] = await Promise.all([
      cli(["train", "--model", "1", "--stage", "0", "--spec", "s.json", "--bogus"]),
      cli(["train", "--model", "abc", "--stage", "0", "--spec", "s.json"]),
      cli(["--key", "0x1234deadbeef", "stake", "--amount", "1"]),
      cli(["--backend", "tpu", "train", "--model", "1", "--stage", "0", "--spec", "s.json"]),
      cli(["stake"]),
    ]);
    for (const r of [unknown, badModel, badKey, badBackend, missingRequired]) {
      expect(r.code).toBe(ExitCode.usage);
      expect(errorLines(r)).toHaveLength(1);
    }
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    expect(badModel.stderr).toContain("--model must be a non-negative integer");
    expect(badKey.stderr).toContain("Invalid --key");
    expect(badKey.stderr).not.toContain("1234deadbeef");
    expect(badBackend.stderr).toContain("tpu");
    expect(missingRequired.stderr).toContain("--amount");
  });

  it("validate rejects a bad sampling fraction (2); without --spec it looks the spec up on the chain; devnet hands its flags to scripts/devnet.ts", async () => {
    const noChain = `http://127.0.0.1:${await closedPort()}`;
    const [badFraction, missingSpec, devnetBadStages] = await Promise.all([
      cli(["validate", "--model", "1", "--stage", "0", "--spec", "s.json", "--fraction", "0"]),
      cli(["--rpc", noChain, "validate", "--model", "1", "--stage", "0"]),
      cli(["devnet", "--stages", "99"]),
    ]);
    expect(badFraction.code).toBe(ExitCode.usage);
    expect(badFraction.stderr).toContain("must be a number in (0, 1]");
    // No --spec: the spec is fetched by the model's on-chain hash, so the chain must answer.
    expect(missingSpec.code).toBe(ExitCode.rpcUnreachable);
    expect(errorLines(missingSpec)).toEqual([expect.stringContaining(`RPC ${noChain}/ is unreachable`)]);
    // The devnet's own parser saw --stages 99 (the shardholder parser would have refused an unknown option).
    expect(devnetBadStages.code).not.toBe(0);
    expect(devnetBadStages.stderr).toContain("--stages must be an integer from 1 to 8");
  });

  it("reports an unreachable RPC (closed loopback port) with exit 3, as text and as JSON", async () => {
    const port = await closedPort();
    const rpc = `http://127.0.0.1:${port}`;
    const [text, json] = await Promise.all([
      cli(["--rpc", rpc, "train", "--model", "1", "--stage", "0", "--spec", "s.json"]),
      cli(["--json", "--rpc", rpc, "train", "--model", "1", "--stage", "0", "--spec", "s.json"]),
    ]);
    expect(text.code).toBe(ExitCode.rpcUnreachable);
    expect(errorLines(text)).toEqual([expect.stringContaining(`RPC http://127.0.0.1:${port}/ is unreachable`)]);
    expect(json.code).toBe(ExitCode.rpcUnreachable);
    const record = JSON.parse(json.stdout.trim().split("\n").at(-1) as string) as { level: number; exitCode: number; name: string };
    expect(record).toMatchObject({ level: 50, exitCode: ExitCode.rpcUnreachable, name: "RpcUnreachableError" });
  });

  it("parses serve's decoding and store flags before touching the chain (2 on a bad value)", async () => {
    const serve = ["serve", "--model", "1", "--stage", "0", "--spec", "s.json"];
    const [help, badListen, badPort, hotTemperature, noTopK, badSeed, badUrl, operatorFlagOnStage1, oldFlag] = await Promise.all([
      cli(["serve", "--help"]),
      cli([...serve, "--store-listen", "8080"]),
      cli([...serve, "--store-listen", "0.0.0.0:70000"]),
      cli([...serve, "--temperature", "11"]),
      cli([...serve, "--top-k", "0"]),
      cli([...serve, "--sampling-seed", "0x1234"]),
      cli([...serve, "--public-url", "ftp://x"]),
      cli(["serve", "--model", "1", "--stage", "1", "--spec", "s.json", "--store-listen", "0.0.0.0:8080"]),
      cli([...serve, "--http", "127.0.0.1:8080"]),
    ]);
    expect(help.code).toBe(0);
    for (const flag of ["--temperature <t>", "--top-k <k>", "--store-listen <host:port>", "--public-url <url>"])
      expect(help.stdout).toContain(flag);
    // The seed is each request's (docs/PROTOCOL.md "Verified inference"): no operator picks it.
    expect(help.stdout).not.toContain("--sampling-seed");
    expect(help.stdout).toContain("(default: 0.8)");
    for (const r of [badListen, badPort, hotTemperature, noTopK, badSeed, badUrl, operatorFlagOnStage1, oldFlag]) {
      expect(r.code).toBe(ExitCode.usage);
      expect(errorLines(r)).toHaveLength(1);
    }
    expect(badListen.stderr).toContain("must be <host>:<port>");
    expect(badPort.stderr).toContain("must be <host>:<port>");
    expect(hotTemperature.stderr).toContain("must be a number from 0 to 10");
    expect(noTopK.stderr).toContain("--top-k must be a positive integer");
    expect(badSeed.stderr).toContain("unknown option '--sampling-seed'");
    expect(badUrl.stderr).toContain("must be an http(s) URL");
    expect(errorLines(operatorFlagOnStage1)[0]).toContain("--store-listen: stage 0's flags (it is the operator); this is stage 1");
    expect(oldFlag.stderr).toContain("unknown option '--http'");
  });
});

describe("shardholder CLI against a loopback Hardhat chain", () => {
  let server: RpcServer;
  let dir: string;
  let bookFile: string;
  let book: Awaited<ReturnType<typeof deployProtocol>>;

  beforeAll(async () => {
    const connection = await hre.network.create();
    book = await deployProtocol(connection);
    // Model 1 (minimum worker stake 1 ETH): the stage commands check the stake against it.
    const [designer] = await connection.viem.getWalletClients();
    if (!designer) throw new Error("no wallet");
    await registerModel(designer, { deployments: book, spec: testSpec() });
    server = await serveRpc(connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "cli-test-"));
    dirs.push(dir);
    await mkdir(path.join(dir, "good"));
    bookFile = path.join(dir, "good", `${book.chainId}.json`);
    await writeFile(bookFile, JSON.stringify(book));
  });
  afterAll(async () => {
    await server?.close();
  });

  const base = () => ["--rpc", server.url, "--deployments", path.join(dir, "good")];
  const train = ["train", "--model", "1", "--stage", "0", "--spec", "no-such-spec.json"];

  it("distinguishes a missing deployment (5) from an address book of another chain (4); a missing key is 10", async () => {
    await mkdir(path.join(dir, "empty"));
    await mkdir(path.join(dir, "other"));
    await writeFile(path.join(dir, "other", "1.json"), JSON.stringify({ ...book, chainId: 1 }));
    const otherFile = path.join(dir, "mainnet.json");
    await writeFile(otherFile, JSON.stringify({ ...book, chainId: 1 }));
    const [missing, otherDir, wrongFile, noKey] = await Promise.all([
      cli(["--rpc", server.url, "--deployments", path.join(dir, "empty"), ...train]),
      cli(["--rpc", server.url, "--deployments", path.join(dir, "other"), ...train]),
      cli(["--rpc", server.url, "--deployments", otherFile, ...train]),
      cli([...base(), "stake", "--amount", "1"]),
    ]);
    expect(noKey.code).toBe(ExitCode.missingKey);
    expect(errorLines(noKey)[0]).toContain("Missing --key (or env SHARDHOLDER_KEY)");
    expect(missing.code).toBe(ExitCode.missingDeployment);
    expect(errorLines(missing)[0]).toContain(`No Shardholder deployment for chain ${book.chainId}`);
    expect(otherDir.code).toBe(ExitCode.wrongChain);
    expect(wrongFile.code).toBe(ExitCode.wrongChain);
    expect(errorLines(wrongFile)[0]).toContain(`RPC is on chain ${book.chainId}`);
  });

  it("refuses an unfunded key (6), then an unstaked funded key (7); stake makes train pass every preflight", async () => {
    const signingKey = generatePrivateKey();
    const [unfunded, unstaked] = await Promise.all([
      cli([...base(), "--key", generatePrivateKey(), "--signing-key", signingKey, ...train]),
      cli([...base(), "--signing-key", signingKey, ...train], { SHARDHOLDER_KEY: FUNDED_KEY }),
    ]);
    expect(unfunded.code).toBe(ExitCode.unfunded);
    expect(errorLines(unfunded)[0]).toMatch(/has 0 wei/);
    expect(unstaked.code).toBe(ExitCode.unstaked);
    expect(errorLines(unstaked)[0]).toContain("has no stake");

    const staked = await cli([...base(), "--json", "--signing-key", signingKey, "stake", "--amount", "2"], { SHARDHOLDER_KEY: FUNDED_KEY });
    expect(staked.code).toBe(ExitCode.ok);
    const worker = privateKeyToAccount(FUNDED_KEY).address;
    const client = createPublicClient({ transport: http(server.url) });
    const record = await getStaker(client, { deployments: book, account: worker });
    expect(record.signingKey).toBe(privateKeyToAccount(signingKey).address);
    expect(record.stakeWei).toBeGreaterThanOrEqual(2n * 10n ** 18n);
    const logged = staked.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; txHash?: string });
    expect(logged.find((l) => l.msg === "staked")?.txHash).toMatch(/^0x[0-9a-f]{64}$/);

    // One at a time: each process that passes the stake checks holds the key while it runs (exit 16 for a second one).
    const port = await closedPort();
    const mismatch = await cli([...base(), "--signing-key", generatePrivateKey(), ...train], { SHARDHOLDER_KEY: FUNDED_KEY });
    const peerDown = await cli(
      [...base(), "--signing-key", signingKey, ...train, "--dial-attempts", "4", "--peer", `/ip4/127.0.0.1/tcp/${port}`],
      { SHARDHOLDER_KEY: FUNDED_KEY },
    );
    const ready = await cli([...base(), "--signing-key", signingKey, ...train], { SHARDHOLDER_KEY: FUNDED_KEY });
    // serve needs no signing key; past every chain check (the book may be a directory), the spec is missing.
    const serve = await cli([...base(), "serve", "--model", "1", "--stage", "0", "--spec", "no-such-spec.json"], {
      SHARDHOLDER_KEY: FUNDED_KEY,
    });
    expect(serve.code).toBe(ExitCode.usage);
    expect(errorLines(serve)[0]).toContain("Cannot read --spec no-such-spec.json: ENOENT");
    expect(mismatch.code).toBe(ExitCode.signingKeyMismatch);
    expect(peerDown.code).toBe(ExitCode.peerUnreachable);
    expect(errorLines(peerDown)[0]).toContain(`/ip4/127.0.0.1/tcp/${port} is unreachable after 4 attempts`);
    expect(peerDown.stderr.match(/retrying/g)?.length).toBe(3);
    // Past every chain and peer check, the missing spec file is the one thing left to report.
    expect(ready.code).toBe(ExitCode.usage);
    expect(errorLines(ready)[0]).toContain("Cannot read --spec no-such-spec.json: ENOENT");
  });
});
