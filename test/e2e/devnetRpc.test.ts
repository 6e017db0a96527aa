// `npm start -- --rpc URL --deployments FILE` against a chain in another process that the devnet
// did not start and that was used before: bad endpoints and address books fail in one line with
// the CLI's exit codes, a second full run on the same chain works (its own model, the model's
// current rounds, a fresh cheater key, no assumption of fresh balances), and Ctrl-C leaves no
// child process behind.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { type Address, createPublicClient, createWalletClient, http, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { ExitCode, UnfundedKeyError } from "../../worker/cli/errors.ts";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import { fundRoles } from "../../scripts/lib/devnet/preflight.ts";
import { childPids, isAlive } from "../../scripts/lib/devnet/procs.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";

type Line = { msg?: string; pid?: number; child?: string; summary?: string; exitCode?: number; shortMessage?: string };
type Run = { code: number | null; lines: Line[]; stderr: string };
type Summary = {
  modelId: string;
  token: string;
  miners: Address[];
  designer: Address;
  childPids: number[];
  rounds: { round: string; mints: { worker: string; workerTokens: string; designerTokens: string }[] }[];
  requests: { requestId: string; holdersWei: string; output: string }[];
  claims: { holder: string; claimableWei: string; claimedWei: string }[];
  tokenBalances: { holder: string; balance: string }[];
  tokenEthAfterClaims: string;
  slashes: { worker: string; round: string }[];
  gas: Record<string, string[]>;
  cheater: { address?: Address; committedRounds: string[] };
  checks: { holdersShareWei: string; outputLetterShare: number };
};

/** Runs scripts/devnet.ts with `args`; `onLine` sees every JSON line as it arrives (with the child). */
function devnet(args: string[], onLine?: (line: Line, child: ChildProcess) => void, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/devnet.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    const lines: Line[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    createInterface({ input: child.stdout }).on("line", (text) => {
      try {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        onLine?.(line, child);
      } catch {
        // a human line (not --json): ignored
      }
    });
    child.on("exit", (code) => resolve({ code, lines, stderr }));
  });
}

const errorLines = (r: Run) => r.stderr.split("\n").filter((l) => l.trim() && !l.startsWith("npm warn"));
/** Why a run failed: its `devnet failed` record (--json puts it on stdout) and its last stderr lines. */
const why = (r: Run) => [JSON.stringify(r.lines.find((l) => l.msg === "devnet failed")), ...errorLines(r).slice(-5)].join("\n");
const summaryOf = (r: Run): Summary => JSON.parse(readFileSync(r.lines.at(-1)?.summary as string, "utf8")) as Summary;

/** A loopback port nothing listens on, outside the ephemeral range so nothing starts to meanwhile. */
const closedPort = fixedLoopbackPort;

describe("npm start --rpc against an existing, already used chain", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "shardholder-devnet-rpc-"));
  const runsDir = path.join(dir, "runs");
  let chainProc: ChildProcess;
  let rpcUrl = "";
  let bookFile = "";
  let book: Deployments;

  beforeAll(async () => {
    // The chain lives in its own process (as `npx hardhat node` would): the devnet only attaches.
    chainProc = spawn(process.execPath, ["--import", "tsx", "scripts/lib/devnet/serveChain.ts", path.join(dir, "deployments")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: chainProc.stdout as NodeJS.ReadableStream }).once("line", resolve);
      chainProc.once("exit", (code) => reject(new Error(`chain process exited with ${code}`)));
    });
    ({ rpcUrl, deploymentsFile: bookFile } = JSON.parse(first) as { rpcUrl: string; deploymentsFile: string });
    book = parseDeployments(JSON.parse(readFileSync(bookFile, "utf8")), bookFile);
  }, 120_000);

  afterAll(async () => {
    if (chainProc?.exitCode === null) {
      const exited = new Promise((resolve) => chainProc.once("exit", resolve));
      chainProc.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails in one line with the CLI's exit code: unreachable RPC, wrong chain, missing, invalid or stale address book, unfunded key, --rpc alone", async () => {
    const wrongChain = path.join(dir, "wrong-chain.json");
    writeFileSync(wrongChain, JSON.stringify({ ...book, chainId: 1 }));
    const invalid = path.join(dir, "invalid.json");
    writeFileSync(invalid, "{ not json");
    // A book of a restarted dev chain: the right chain id, contracts that no longer exist.
    const stale = path.join(dir, "stale.json");
    const nowhere = Object.fromEntries(
      Object.keys(book.contracts).map((name, i) => [name, `0x${(0xdead0 + i).toString(16).padStart(40, "0")}`]),
    );
    writeFileSync(stale, JSON.stringify({ ...book, contracts: nowhere }));
    const port = await closedPort();
    const brokeKey = generatePrivateKey();
    const broke = privateKeyToAccount(brokeKey);
    const [unreachable, wrong, missing, bad, leftover, alone, unfunded] = await Promise.all([
      devnet(["--rpc", `http://127.0.0.1:${port}`, "--deployments", bookFile]),
      devnet(["--rpc", rpcUrl, "--deployments", wrongChain]),
      devnet(["--rpc", rpcUrl, "--deployments", path.join(dir, "nope.json")]),
      devnet(["--rpc", rpcUrl, "--deployments", invalid]),
      devnet(["--rpc", rpcUrl, "--deployments", stale]),
      devnet(["--rpc", rpcUrl]),
      devnet(["--rpc", rpcUrl, "--deployments", bookFile, "--runs-dir", runsDir], undefined, { SHARDHOLDER_KEY: brokeKey }),
    ]);
    expect([unreachable.code, wrong.code, missing.code, bad.code, leftover.code, alone.code, unfunded.code]).toEqual([
      ExitCode.rpcUnreachable,
      ExitCode.wrongChain,
      ExitCode.missingDeployment,
      ExitCode.missingDeployment,
      ExitCode.missingDeployment,
      ExitCode.usage,
      ExitCode.unfunded,
    ]);
    expect(errorLines(unreachable)).toEqual([
      expect.stringMatching(new RegExp(`^devnet failed: RPC http://127.0.0.1:${port}/? is unreachable`)),
    ]);
    expect(errorLines(wrong)).toEqual([
      expect.stringContaining(`RPC is on chain ${book.chainId} but the address book ${wrongChain} is for chain 1`),
    ]);
    expect(errorLines(missing)).toEqual([expect.stringContaining("nope.json does not exist")]);
    expect(errorLines(bad)).toEqual([expect.stringContaining("invalid.json is unusable")]);
    expect(errorLines(leftover)).toHaveLength(1);
    expect(errorLines(leftover)[0]?.toLowerCase()).toContain(`modelregistry ${nowhere.modelRegistry} has no code on this chain`);
    expect(errorLines(alone)).toEqual(["error: --rpc and --deployments go together"]);
    // The funder (env SHARDHOLDER_KEY) holds nothing: refused before the model is registered.
    // (It needs its reserve plus whatever role keys still need: at least the reserve of 1 ETH.)
    const needed = new RegExp(`^devnet failed: Key ${broke.address} has 0 wei, needs at least (\\d+) wei\\.$`).exec(
      errorLines(unfunded).at(-1) ?? "",
    );
    expect(needed, errorLines(unfunded).join("\n")).not.toBeNull();
    expect(BigInt(needed?.[1] ?? 0)).toBeGreaterThanOrEqual(parseEther("1"));
  }, 120_000);

  it("tops up short role keys from the funder and refuses a funder that cannot pay them", async () => {
    const transport = http(rpcUrl);
    const client = createPublicClient({ transport });
    const funder = createWalletClient({ account: privateKeyToAccount(devKey(0)), transport });
    const fresh = privateKeyToAccount(generatePrivateKey()).address;
    const topUps = await fundRoles(client, funder, [{ address: fresh, neededWei: parseEther("0.5") }]);
    expect(topUps).toEqual([{ address: fresh, topUpWei: parseEther("0.5") }]);
    expect(await client.getBalance({ address: fresh })).toBe(parseEther("0.5"));
    // Already funded: nothing is sent (a used chain's balances are read, not assumed).
    expect(await fundRoles(client, funder, [{ address: fresh, neededWei: parseEther("0.4") }])).toEqual([]);
    const broke = createWalletClient({ account: privateKeyToAccount(generatePrivateKey()), transport });
    await expect(
      fundRoles(client, broke, [{ address: privateKeyToAccount(generatePrivateKey()).address, neededWei: parseEther("1") }]),
    ).rejects.toBeInstanceOf(UnfundedKeyError);
  });

  it("a second run on the same chain registers its own model, cheats with a fresh key, settles that model's rounds and pays its holders", async () => {
    const common = [
      "--rpc",
      rpcUrl,
      "--deployments",
      bookFile,
      "--requests",
      "1",
      "--steps-per-round",
      "2",
      "--json",
      "--runs-dir",
      runsDir,
    ];
    // Run 1 only has to leave the chain used: a model, staked miners, a jailed cheater, claims.
    const run1 = await devnet([...common, "--rounds", "1"]);
    expect(run1.code, why(run1)).toBe(0);
    const run2 = await devnet([...common, "--rounds", "2"]);
    expect(run2.code, why(run2)).toBe(0);
    const [s1, s2] = [summaryOf(run1), summaryOf(run2)];

    // Its own model and token; the honest miners were staked by run 1 and are not staked again,
    // only the new cheater stakes; every role key already held enough.
    expect(BigInt(s2.modelId)).toBeGreaterThan(BigInt(s1.modelId));
    expect(s2.token).not.toBe(s1.token);
    expect(s2.miners).toEqual(s1.miners);
    expect(s2.gas.stake).toHaveLength(1);
    expect(
      run2.lines.some((l) => l.msg === "every role key already holds what it needs"),
      run2.lines.find((l) => l.msg?.startsWith("funded"))?.msg,
    ).toBe(true);
    const client = createPublicClient({ transport: http(rpcUrl) });
    for (const m of s2.miners) expect((await getStaker(client, { deployments: book, account: m })).stakeWei).toBe(parseEther("2"));

    // Run 1's cheater is jailed for good; run 2 cheated with another key and was caught in its first round.
    expect(s1.cheater.address).toBeDefined();
    expect(s2.cheater.address).toBeDefined();
    expect(s2.cheater.address).not.toBe(s1.cheater.address);
    expect((await getStaker(client, { deployments: book, account: s1.cheater.address as Address })).jailed).toBe(true);
    const firstRound = s2.rounds[0]?.round;
    expect(s2.cheater.committedRounds).toEqual([firstRound]);
    expect(s2.slashes.map((x) => [x.worker, x.round])).toEqual([[s2.cheater.address, firstRound]]);

    // The model's rounds from its current one, consecutive, each finalized with a reward per stage
    // miner (the last stage's: one per replica on the round's roster).
    expect(s2.rounds.map((r) => BigInt(r.round))).toEqual([BigInt(firstRound as string), BigInt(firstRound as string) + 1n]);
    for (const r of s2.rounds) expect(r.mints.map((m) => m.worker)).toEqual(expect.arrayContaining(s2.miners));

    // Requests continue the escrow's numbering; the served text is sampled letters, not noise.
    expect(BigInt(s2.requests[0]?.requestId as string)).toBeGreaterThan(BigInt(s1.requests.at(-1)?.requestId as string));
    expect(s2.checks.outputLetterShare).toBeGreaterThan(0.6);

    // The new token holds exactly run 2's mints and run 2's holders' share, claimed to the wei.
    for (const m of s2.miners) {
      const minted = s2.rounds.flatMap((r) => r.mints.filter((x) => x.worker === m)).reduce((a, x) => a + BigInt(x.workerTokens), 0n);
      expect(BigInt(s2.tokenBalances.find((b) => b.holder === m)?.balance as string)).toBe(minted);
    }
    const designerMinted = s2.rounds.flatMap((r) => r.mints).reduce((a, x) => a + BigInt(x.designerTokens), 0n);
    expect(BigInt(s2.tokenBalances.find((b) => b.holder === s2.designer)?.balance as string)).toBe(designerMinted);
    for (const c of s2.claims) expect(BigInt(c.claimedWei)).toBe(BigInt(c.claimableWei));
    const claimed = s2.claims.reduce((a, c) => a + BigInt(c.claimedWei), 0n);
    expect(claimed + BigInt(s2.tokenEthAfterClaims)).toBe(BigInt(s2.checks.holdersShareWei));
    expect(BigInt(s2.checks.holdersShareWei)).toBe(BigInt(s2.requests[0]?.holdersWei as string));

    for (const pid of [...s1.childPids, ...s2.childPids]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  }, 600_000);

  it("Ctrl-C while the serving pipeline starts stops every child (tracked or not yet) and exits 130", async () => {
    let seen: number[] = [];
    let devnetPid = 0;
    const run = await devnet(
      [
        "--rpc",
        rpcUrl,
        "--deployments",
        bookFile,
        "--rounds",
        "1",
        "--steps-per-round",
        "2",
        "--requests",
        "1",
        "--no-cheater",
        "--json",
        "--runs-dir",
        runsDir,
      ],
      (line, child) => {
        devnetPid = child.pid ?? 0;
        if (!line.msg?.startsWith("starting the serving pipeline")) return;
        // The serving stages are spawned but not handed to the devnet until stage 0 is ready.
        setTimeout(() => {
          seen = childPids(devnetPid);
          child.kill("SIGINT");
        }, 1_500);
      },
    );
    expect(run.code, why(run)).toBe(130);
    const logged = run.lines.filter((l) => l.child && l.pid).map((l) => l.pid as number);
    expect(logged.length).toBe(7); // 3 stage miners, the last stage's second replica and a validator per stage
    // The serving stages start from the last one (each needs the next one's address), so at least that one.
    expect(seen.length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of [...logged, ...seen]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(childPids(devnetPid)).toEqual([]);
  }, 300_000);
});
