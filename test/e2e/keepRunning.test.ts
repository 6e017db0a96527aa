// `npm start -- --keep-running`: after the summary the network stays up and says where it is in
// runs/<time>/network.json. A dapp calls `infer` on it with the model id alone; the spec is found
// by its on-chain hash (metadata URI, serving endpoint) and a command given `--network FILE` and no
// `--spec` fetches and checks it; the token is this run's own; the web app shows that network in a
// real browser; Ctrl-C stops everything with 0.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, erc20Abi, http, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { infer } from "../../sdk/actions/inference/infer.ts";
import { getServingEndpoints } from "../../sdk/actions/inference/getServingEndpoints.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { pipelineKey } from "../../sdk/protocol/pipelineConsent.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { loopbackDialAddress } from "../../worker/p2p/listenAddress.ts";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import { settleRound } from "../../scripts/lib/devnet/rounds.ts";
import { loadNetworkFile, type Network } from "../../worker/config/network.ts";
import { fetchSpec, specCandidates, specTextHash, specUrl } from "../../worker/model/specSource.ts";
import { isAlive } from "../../scripts/lib/devnet/procs.ts";
import { launchChromium } from "../../scripts/lib/app/chromium.ts";
import { networkDevKeys } from "../../app/server/devnetKeys.ts";
import { startApp } from "../../app/server/startApp.ts";
import { getRoundFinalizations } from "../../sdk/actions/miner/getRoundFinalizations.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
type Line = { msg?: string; pid?: number; child?: string; network?: string; summary?: string; checks?: { firstLoss?: number } };

/** The run's first-round loss (the untrained model's), from the summary line. */
const summaryFirstLoss = (lines: Line[]): number => lines.find((l) => l.summary)?.checks?.firstLoss as number;

describe("devnet --keep-running", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "shardholder-keep-"));
  let devnet: ChildProcess;
  const lines: Line[] = [];
  let net: Network;
  let deployments: Deployments;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    devnet = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/devnet.ts",
        "--keep-running",
        "--rounds",
        "2",
        "--steps-per-round",
        "2",
        "--requests",
        "1",
        "--no-cheater",
        "--json",
        "--runs-dir",
        path.join(dir, "runs"),
      ],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    exited = new Promise((resolve) => devnet.once("exit", resolve));
    // Waits on the devnet's own record that the network is up, not on a clock.
    const up = await new Promise<Line>((resolve, reject) => {
      createInterface({ input: devnet.stdout as NodeJS.ReadableStream }).on("line", (text) => {
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          return;
        }
        lines.push(line);
        if (line.msg?.startsWith("network up")) resolve(line);
      });
      void exited.then((code) => reject(new Error(`devnet exited ${code} before the network was up: ${JSON.stringify(lines.slice(-3))}`)));
    });
    net = loadNetworkFile(up.network as string);
    deployments = parseDeployments(JSON.parse(readFileSync(net.deploymentsFile, "utf8")), net.deploymentsFile);
  }, 480_000);

  afterAll(async () => {
    // After a failure: Ctrl-C first (the devnet stops its children), SIGKILL only if that hangs.
    if (devnet?.exitCode === null) {
      devnet.kill("SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      if (devnet.exitCode === null) devnet.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes network.json: rpc, the address book, the model with its own token name and symbol and its spec, serving endpoints, peers, dev keys", () => {
    expect(net.chainId).toBe(31337);
    expect(deployments.chainId).toBe(31337);
    expect(net.deploymentsFile.startsWith(path.dirname(net.file))).toBe(true); // the devnet never writes deployments/31337.json
    const model = net.models[0];
    const runId = path.basename(path.dirname(net.file));
    expect(model?.name).toBe(`Shardholder Brown Char (devnet run ${runId})`);
    expect(model?.symbol).toMatch(/^SHBC-[0-9A-F]{4}$/);
    expect(existsSync(model?.specFile as string)).toBe(true);
    expect(specTextHash(readFileSync(model?.specFile as string, "utf8"))).toBe(model?.specHash);
    expect(model?.metadataURI).toBe(specUrl(net.specServer as string, model?.specHash as `0x${string}`));
    expect(net.serving).toHaveLength(1);
    // One miner per stage, then the last stage's second replica (a 2-round run has no joiner).
    expect(net.peers?.map((p) => p.stage)).toEqual([0, 1, 2, 2]);
    for (const p of net.peers ?? []) expect(p.multiaddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
    expect(Object.keys(net.devKeys ?? {})).toEqual(
      expect.arrayContaining(["deployer", "miners", "signingKeys", "clients", "validators", "replicas"]),
    );
  });

  it("the web app on the kept-running network (in headless Chromium) lists its model, charts one loss point per final round, and shows a miner payout's claimable as the token's claimable()", async () => {
    const modelId = BigInt(net.models[0]?.id as string);
    const token = net.models[0]?.token as `0x${string}`;
    const client = createPublicClient({ transport: http(net.rpc[0]) });
    const finals = await getRoundFinalizations(client, { deployments, modelId });
    expect(finals.length).toBeGreaterThan(0);
    const payout = (net.devKeys as { miners: { address: `0x${string}` }[] }).miners[0]?.address as `0x${string}`;
    const app = await startApp({
      rpcUrl: net.rpc[0] as string,
      deployments,
      port: 0,
      devKeys: networkDevKeys(net.devKeys),
      lossFiles: [path.join(path.dirname(net.file), "summary.json")],
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${app.url}#network`);
      await page.getByTestId("model-row").first().waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("model-row").first().textContent()).toContain(net.models[0]?.name);
      const chart = page.getByTestId("loss-chart");
      await chart.waitFor({ timeout: 60_000 });
      const xs = await chart
        .locator("circle.point")
        .evaluateAll((els: { getAttribute(name: string): string | null }[]) => els.map((e) => e.getAttribute("data-x")));
      expect(xs).toEqual(finals.map((f) => f.round.toString()).sort((a, b) => Number(a) - Number(b)));
      await page.goto(`${app.url}#holdings`);
      await page.getByTestId("dev-account").first().selectOption(payout);
      const owed = await client.readContract({ abi: modelTokenAbi, address: token, functionName: "claimable", args: [payout] });
      const shown = page.locator(`[data-testid="claimable-${modelId}"][data-wei="${owed}"]`);
      await shown.waitFor({ timeout: 60_000 });
      expect(await client.readContract({ abi: modelTokenAbi, address: token, functionName: "balanceOf", args: [payout] })).toBeGreaterThan(
        0n,
      );
    } finally {
      await browser.close();
      await app.close();
    }
  }, 240_000);

  it("after the summary, a dapp's infer with nothing but the model id is served by the pipeline that stayed up", async () => {
    const modelId = BigInt(net.models[0]?.id as string);
    const keys = net.devKeys as { clients: { key: `0x${string}` }[] };
    const wallet = createWalletClient({ account: privateKeyToAccount(keys.clients[1]?.key as `0x${string}`), transport: http(net.rpc[0]) });
    const { text, requestId } = await infer(wallet, {
      deployments,
      modelId,
      prompt: "It was the ",
      maxFeeWei: parseEther("0.01"),
      timeoutMs: 120_000,
    });
    expect(text.length).toBeGreaterThan(0);
    expect(requestId).toBeGreaterThan(0n);
  }, 180_000);

  it("the spec resolves from the chain: the metadata URI and the serving endpoint serve the text whose hash the registry holds", async () => {
    const modelId = BigInt(net.models[0]?.id as string);
    const client = createPublicClient({ transport: http(net.rpc[0]) });
    const model = await getModel(client, { deployments, modelId });
    const { endpoints } = await getServingEndpoints(client, { deployments, modelId });
    expect(endpoints).toHaveLength(1);
    const urls = specCandidates(
      model.specHash,
      model.metadataURI,
      endpoints.map((e) => e.url),
    );
    expect(urls).toEqual([model.metadataURI, specUrl(endpoints[0]?.url as string, model.specHash)]);
    for (const url of urls) {
      const cacheDir = mkdtempSync(path.join(dir, "specs-"));
      const found = await fetchSpec({ specHash: model.specHash, urls: [url], cacheDir });
      expect(found.source).toBe(url);
      expect(readFileSync(found.file, "utf8")).toBe(readFileSync(net.models[0]?.specFile as string, "utf8"));
    }
  });

  it("`train --model M --stage S` without --spec fetches the spec, checks it against the chain, then runs its preflight", async () => {
    const cache = mkdtempSync(path.join(dir, "cache-"));
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // A fresh key: the spec comes first, then the preflight refuses the unfunded key (exit 6).
      const args = [
        "--json",
        "--rpc",
        net.rpc[0] as string,
        "--deployments",
        net.deploymentsFile,
        "--signing-key",
        generatePrivateKey(),
        "train",
        "--model",
        net.models[0]?.id as string,
        "--stage",
        "0",
      ];
      const child = spawn(process.execPath, [bin, ...args], {
        cwd: dir,
        env: { ...process.env, SHARDHOLDER_KEY: generatePrivateKey(), SHARDHOLDER_SPEC_CACHE: cache },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
    const records = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; modelId?: string; source?: string; file?: string; exitCode?: number });
    const fetched = records.find((x) => x.msg === "spec fetched and checked against the chain");
    expect(fetched, r.stdout + r.stderr).toMatchObject({ modelId: net.models[0]?.id, source: net.models[0]?.metadataURI });
    expect(readFileSync(fetched?.file as string, "utf8")).toBe(readFileSync(net.models[0]?.specFile as string, "utf8"));
    expect(r.code).toBe(ExitCode.unfunded);
  }, 120_000);

  it("`--network FILE` gives any command its chain, address book and model: consent signs for the network's model", async () => {
    const key = generatePrivateKey();
    const operator = privateKeyToAccount(key).address;
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [bin, "--json", "--network", net.file, "consent", "--operators", operator, "--deadline", "9999999999"],
        { cwd: dir, env: { ...process.env, SHARDHOLDER_KEY: key } },
      );
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
      child.on("exit", (code) => resolve({ code, stdout }));
    });
    expect(r.code, r.stdout).toBe(0);
    const signed = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg?: string; pipelineKey?: string; chainId?: number; rpc?: string });
    expect(signed.find((x) => x.msg === "connected")).toMatchObject({ chainId: 31337, rpc: `${net.rpc[0]}/` });
    expect(signed.find((x) => x.msg === "pipeline consent signed")?.pipelineKey).toBe(
      pipelineKey(BigInt(net.models[0]?.id as string), [operator]),
    );
  }, 120_000);

  it("a joining pipeline (new keys, `--network FILE`, no --spec) stakes, starts each stage from the network's current weights (verified against the chain), trains and commits the next round at the network's loss, not the initial one, and is paid for it", async () => {
    const modelId = BigInt(net.models[0]?.id as string);
    const client = createPublicClient({ transport: http(net.rpc[0]) });
    const round = await getCurrentRound(client, { deployments, modelId });
    expect(round).toBeGreaterThan(0n);
    // Dev accounts the devnet gives no role (6..8; signing keys 106..108).
    const joiners = [0, 1, 2].map((stage) => ({ stage, key: devKey(6 + stage), signingKey: devKey(106 + stage) }));
    // README "Join a running model", step 1: stake through the CLI, the network file naming the chain.
    const staked = await Promise.all(
      joiners.map(
        (j) =>
          new Promise<{ code: number | null; out: string }>((resolve) => {
            const child = spawn(process.execPath, [bin, "--network", net.file, "stake", "--amount", "2"], {
              cwd: dir,
              env: { ...process.env, SHARDHOLDER_KEY: j.key, SHARDHOLDER_SIGNING_KEY: j.signingKey },
            });
            let out = "";
            child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
            child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
            child.on("exit", (code) => resolve({ code, out }));
          }),
      ),
    );
    for (const r of staked) expect(r.code, r.out).toBe(0);
    const procs: {
      stage: number;
      child: ChildProcess;
      records: { msg?: string; [k: string]: unknown }[];
      exited: Promise<number | null>;
    }[] = [];
    const waitFor = (p: (typeof procs)[number], msg: string) =>
      new Promise<{ [k: string]: unknown }>((resolve, reject) => {
        const check = () => {
          const found = p.records.find((r) => r.msg === msg);
          if (found) return resolve(found);
          const failed = p.records.find((r) => typeof r.level === "number" && r.level >= 50);
          if (failed || p.child.exitCode !== null)
            reject(new Error(`joining stage ${p.stage}: ${JSON.stringify(failed ?? p.records.slice(-3))}`));
        };
        p.child.stdout?.on("data", () => setImmediate(check));
        p.child.once("exit", check);
        check();
      });
    try {
      // Last stage first: each stage dials the next one's address.
      let next: string | undefined;
      for (const j of [...joiners].reverse()) {
        const args = [
          "--json",
          "--network",
          net.file,
          "train",
          "--stage",
          String(j.stage),
          "--until-round",
          round.toString(),
          "--journal",
          path.join(dir, `join-${j.stage}`),
          "--keep-serving",
          ...(next ? ["--peer", next] : []),
        ];
        const child = spawn(process.execPath, [bin, ...args], {
          cwd: dir,
          env: { ...process.env, SHARDHOLDER_KEY: j.key, SHARDHOLDER_SIGNING_KEY: j.signingKey },
        });
        const p = {
          stage: j.stage,
          child,
          records: [] as { msg?: string; [k: string]: unknown }[],
          exited: new Promise<number | null>((r) => child.once("exit", r)),
        };
        createInterface({ input: child.stdout }).on("line", (l) => {
          try {
            p.records.push(JSON.parse(l) as { msg?: string; [k: string]: unknown });
          } catch {
            // not a record
          }
        });
        procs.push(p);
        next = loopbackDialAddress((await waitFor(p, "listening")).addrs, `joining stage ${j.stage}`);
      }
      for (const p of procs) {
        const joined = await waitFor(p, "joined: starting from the network's current weights of this stage");
        const peer = net.peers?.find((x) => x.stage === p.stage);
        expect(joined).toMatchObject({ stage: p.stage, round: (round - 1n).toString(), worker: peer?.worker, peer: peer?.multiaddr });
      }
      const committed = await Promise.all(procs.map((p) => waitFor(p, "round committed")));
      for (const c of committed) expect(c).toMatchObject({ round: round.toString(), trained: true, confirmed: 1 });
      const loss = committed.find((c) => typeof c.loss === "number")?.loss as number;
      // The untrained model's loss is ~4.59 (the run's first round); continuing the model, the joiners are far below it.
      const first = summaryFirstLoss(lines);
      expect(loss).toBeLessThan(first - 0.3);
      for (const j of joiners) {
        const c = await getCommitment(client, { deployments, modelId, round, stage: j.stage, worker: privateKeyToAccount(j.key).address });
        expect(c.found).toBe(true);
      }
      // Paid: the round is finalized past its challenge window and each joiner's reward minted to it.
      const model = await getModel(client, { deployments, modelId });
      const relayer = createWalletClient({ account: privateKeyToAccount(devKey(0)), transport: http(net.rpc[0]) });
      const workers = joiners.map((j) => privateKeyToAccount(j.key).address);
      const settled = await settleRound({
        rpcUrl: net.rpc[0] as string,
        relayer,
        deployments,
        modelId,
        round,
        genesisTime: BigInt(model.genesisTime),
        commitWindowSec: BigInt(model.timing.commitWindowSec),
        challengeWindowSec: BigInt(model.timing.challengeWindowSec),
        workers,
        logs: [],
      });
      for (const [i, worker] of workers.entries()) {
        expect(settled.mints[i]?.workerTokens, `stage ${i}`).toBeGreaterThan(0n);
        expect(await client.readContract({ abi: erc20Abi, address: model.token, functionName: "balanceOf", args: [worker] })).toBe(
          settled.mints[i]?.workerTokens,
        );
      }
    } finally {
      for (const p of procs) p.child.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
    }
  }, 300_000);

  it("Ctrl-C stops every process of the network and exits 0", async () => {
    const pids = lines.filter((l) => l.child && l.pid).map((l) => l.pid as number);
    expect(pids.length).toBeGreaterThanOrEqual(4); // 3 miners, the validator(s)
    devnet.kill("SIGINT");
    expect(await exited).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  }, 120_000);
});
