// A holder through the CLI against a loopback Hardhat chain: `holdings` shows tokens and revenue
// with the gas of claiming beside it; `claim` refuses a claim that pays less than its gas (18)
// unless --force, claims one model or all of them in one transaction, and says when there is nothing.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Address, type Hex, parseEther, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRpc, type RpcServer } from "../../scripts/lib/rpcServer.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { accountAt, actionsOf, deployShardholder, mintRound, type Shardholder, testSpec } from "../sdk/fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
const keyOf = (i: number): Hex =>
  toHex(
    mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: i }).getHdKey()
      .privateKey as Uint8Array,
  );

type Result = { code: number | null; stdout: string; stderr: string; logs: Array<Record<string, unknown>> };
let lockDir: string;
function cli(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: root,
      env: { ...process.env, SHARDHOLDER_KEY: "", SHARDHOLDER_LOCK_DIR: lockDir },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) =>
      resolve({
        code,
        stdout,
        stderr,
        logs: stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    );
  });
}
const find = (r: Result, msg: string) => r.logs.find((l) => l.msg === msg);

describe("shardholder holdings and claim", () => {
  let s: Shardholder;
  let rpc: RpcServer;
  let dir: string;
  const tokens: Address[] = [];
  const holder = 3;
  const base = () => ["--rpc", rpc.url, "--deployments", dir];

  const deposit = async (model: number, amountWei: bigint) => {
    const hash = await (s.wallets[9] as NonNullable<Shardholder["wallets"][number]>).writeContract({
      abi: modelTokenAbi,
      address: tokens[model - 1] as Address,
      functionName: "depositRevenue",
      value: amountWei,
    });
    await s.publicClient.waitForTransactionReceipt({ hash });
  };
  const claimable = (model: number) =>
    s.publicClient.readContract({
      abi: modelTokenAbi,
      address: tokens[model - 1] as Address,
      functionName: "claimable",
      args: [accountAt(s, holder)],
    });

  beforeAll(async () => {
    s = await deployShardholder();
    rpc = await serveRpc(s.connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "cli-holders-"));
    lockDir = await mkdtemp(path.join(tmpdir(), "cli-holders-locks-"));
    await writeFile(path.join(dir, `${s.deployments.chainId}.json`), JSON.stringify(s.deployments));
    // Two models with the same name: the token address and symbol tell them apart.
    for (const symbol of ["AAA", "BBB", "CCC"]) tokens.push((await actionsOf(s, 0).registerModel({ spec: testSpec({ symbol }) })).token);
    // The holder is paid the stage-0 reward of models 1 and 2; model 3 it never holds.
    await mintRound(s, { modelId: 1n, workers: [1, 2], payouts: [accountAt(s, holder), accountAt(s, 4)] });
    await mintRound(s, { modelId: 2n, workers: [1, 2], payouts: [accountAt(s, holder), accountAt(s, 4)] });
    // Model 1 earned dust (its claim would cost more gas than it pays), model 2 a real fee.
    await deposit(1, 10n ** 12n);
    await deposit(2, parseEther("0.5"));
  });
  afterAll(async () => {
    await rpc?.close();
    await Promise.all([dir, lockDir].map((d) => rm(d, { recursive: true, force: true })));
  });

  it("holdings: tokens, share, claimable revenue and the gas of claiming, as a table and as JSON", async () => {
    const [text, json, all, nobody] = await Promise.all([
      cli([...base(), "holdings", "--holder", accountAt(s, holder)]),
      cli([...base(), "--json", "--key", keyOf(holder), "holdings"]),
      cli([...base(), "--json", "holdings", "--holder", accountAt(s, holder), "--all"]),
      cli([...base(), "holdings"]),
    ]);
    expect([text.code, json.code, all.code]).toEqual([0, 0, 0]);
    expect(nobody.code).toBe(ExitCode.usage);
    const record = find(json, "holdings") as {
      holder: string;
      gasPriceWei: string;
      holdings: Array<Record<string, string | boolean>>;
      claimAll: Record<string, unknown>;
    };
    expect(record.holder).toBe(accountAt(s, holder));
    expect(record.holdings.map((h) => [h.modelId, h.symbol, h.token])).toEqual([
      ["1", "AAA", tokens[0]],
      ["2", "BBB", tokens[1]],
    ]);
    const [dust, fee] = record.holdings;
    expect(dust?.claimableWei).toBe((await claimable(1)).toString());
    expect(fee?.claimableWei).toBe((await claimable(2)).toString());
    expect(BigInt(dust?.claimCostWei as string)).toBe(BigInt(dust?.claimGas as string) * BigInt(record.gasPriceWei));
    expect(dust?.worthClaiming).toBe(false);
    expect(fee?.worthClaiming).toBe(true);
    expect(record.claimAll).toMatchObject({ via: "claimAll", modelIds: ["1", "2"], worthClaiming: true });
    expect((find(all, "holdings")?.holdings as unknown[]).length).toBe(3);

    expect(text.stdout).toContain(`holder ${accountAt(s, holder)}`);
    expect(text.stdout).toMatch(/^\s*1\s+AAA\s+0x[0-9a-fA-F]{40}\s+[\d.]+\s+[\d.]+%\s+0\.000000\d+\s+0\.0000\d+\s+gas exceeds claim$/m);
    expect(text.stdout).toMatch(/^\s*2\s+BBB\s+0x[0-9a-fA-F]{40}\s+[\d.]+\s+[\d.]+%\s+0\.\d+\s+0\.0000\d+$/m);
    expect(text.stdout).toContain("shardholder claim --all (one transaction for 2 models)");
  });

  it("claim refuses a claim that pays less than its gas (18), claims it with --force, then the rest in one transaction", async () => {
    const usage = await Promise.all([
      cli([...base(), "--key", keyOf(holder), "claim"]),
      cli([...base(), "--key", keyOf(holder), "claim", "--all", "--model", "1"]),
    ]);
    for (const r of usage) expect(r.code).toBe(ExitCode.usage);

    const dust = await claimable(1);
    const refused = await cli([...base(), "--key", keyOf(holder), "claim", "--model", "1"]);
    expect(refused.code).toBe(ExitCode.claimNotWorthGas);
    const [line, ...more] = refused.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(more).toEqual([]);
    expect(line).toMatch(
      /^error: Claiming 0\.000000\d+ ETH would cost about 0\.0000\d+ ETH of gas \(\d+ gas at [\d.]+ gwei\): wait until more revenue accrues, or pass --force\.$/,
    );
    expect(await claimable(1)).toBe(dust);

    const forced = await cli([...base(), "--json", "--key", keyOf(holder), "claim", "--model", "1", "--force"]);
    expect(forced.code).toBe(0);
    expect(find(forced, "claiming at a loss (--force): the gas costs more than the claim pays")).toBeDefined();
    expect(find(forced, "claimed")).toMatchObject({ models: ["1"], txHash: expect.stringMatching(/^0x/) });
    expect(Number(find(forced, "claimed")?.netEth)).toBeLessThan(0);
    expect(await claimable(1)).toBe(0n);

    const fee = await claimable(2);
    const before = await s.publicClient.getBalance({ address: accountAt(s, holder) });
    const all = await cli([...base(), "--json", "--key", keyOf(holder), "claim", "--all"]);
    expect(all.code).toBe(0);
    const claimed = find(all, "claimed") as Record<string, string | string[]>;
    expect(claimed.models).toEqual(["2"]);
    const gasCost = BigInt(Math.round(Number(claimed.gasCostEth) * 1e18));
    const after = await s.publicClient.getBalance({ address: accountAt(s, holder) });
    // What the holder's balance gained is the claim minus its gas (the log rounds to 1e-9 ETH).
    expect(Number(after - before + gasCost - fee)).toBeLessThan(1e9);
    expect(await claimable(2)).toBe(0n);

    const nothing = await cli([...base(), "--json", "--key", keyOf(holder), "claim", "--all"]);
    expect(nothing.code).toBe(0);
    expect(find(nothing, "nothing to claim")).toBeDefined();
  });
});
