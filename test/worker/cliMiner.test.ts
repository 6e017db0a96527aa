// A miner's day one through the CLI against a loopback Hardhat chain: `stake` checks the address
// book's code and the model's minimum and keeps what is registered; one key runs in one process;
// `status` follows a trained round from its commit window to the minted reward.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Address, type Hex, parseEther, toHex } from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRpc, type RpcServer } from "../../scripts/lib/rpcServer.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { acquireKeyLock, keyLockFile } from "../../worker/cli/keyLock.ts";
import { roundWindows } from "../../worker/commit/rewards.ts";
import { canonicalSpecJson, defaultModelSpec, specHash } from "../../worker/model/spec.ts";
import { initialWeightsRoots } from "../../worker/model/stage.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../sdk/fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
/** Private key of Hardhat account `i` (mnemonic "test test ... junk"): funded on the in-process chain. */
const keyOf = (i: number): Hex =>
  toHex(
    mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: i }).getHdKey()
      .privateKey as Uint8Array,
  );

type Logs = Array<Record<string, unknown> & { msg?: string }>;
type Result = { code: number | null; stdout: string; stderr: string; logs: Logs };
type Running = {
  child: ChildProcess;
  logs: Logs;
  stderr: () => string;
  waitFor: (msg: string) => Promise<Record<string, unknown>>;
  exit: Promise<Result>;
};

const dirs: string[] = [];
let lockDir: string;

/** Starts the CLI; `--json` logs are parsed as they arrive. Keys come from the flags only; locks live in this file's own directory. */
function start(args: string[], timeoutMs = 120_000): Running {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, SHARDHOLDER_KEY: "", SHARDHOLDER_SIGNING_KEY: "", SHARDHOLDER_LOCK_DIR: lockDir },
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const logs: Logs = [];
  const waiters: Array<{ msg: string; resolve: (l: Record<string, unknown>) => void }> = [];
  let stdout = "";
  let stderr = "";
  let buffer = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString("utf8");
    buffer += d.toString("utf8");
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const log = JSON.parse(line) as Logs[number];
      logs.push(log);
      for (const w of waiters.filter((x) => x.msg === log.msg)) w.resolve(log);
    }
  });
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const exit = new Promise<Result>((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, logs });
    }),
  );
  const waitFor = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = logs.find((l) => l.msg === msg);
      if (seen) return resolve(seen);
      waiters.push({ msg, resolve });
      void exit.then((r) => reject(new Error(`exited ${r.code} before "${msg}": ${r.stderr}${r.stdout}`)));
    });
  return { child, logs, stderr: () => stderr, waitFor, exit };
}
const cli = (args: string[]) => start(args).exit;
const errorLine = (r: Result) => {
  const text = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
  const json = r.logs.filter((l) => (l.level as number) >= 50).map((l) => `error: ${String(l.msg)}`);
  return [...text, ...json];
};

describe("shardholder stake, one key per process, status", () => {
  let s: Shardholder;
  let rpc: RpcServer;
  let dir: string;
  const spec = defaultModelSpec({
    stageCount: 2,
    layers: 2,
    dModel: 32,
    heads: 2,
    contextLength: 16,
    microbatchSize: 4,
    microbatchesPerStep: 2,
  });
  const modelId = 1n;
  const base = () => ["--json", "--rpc", rpc.url, "--deployments", dir];

  beforeAll(async () => {
    s = await deployShardholder();
    rpc = await serveRpc(s.connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "cli-miner-"));
    lockDir = await mkdtemp(path.join(tmpdir(), "cli-miner-locks-"));
    dirs.push(dir, lockDir);
    await writeFile(path.join(dir, `${s.deployments.chainId}.json`), JSON.stringify(s.deployments));
    await writeFile(path.join(dir, "spec.json"), canonicalSpecJson(spec));
    // Model 1 is the trainable spec (minimum worker stake 1 ETH); model 2 asks 5 ETH of its workers.
    await registerModel(s.deployer, {
      deployments: s.deployments,
      spec: testSpec({ specHash: specHash(spec), initialWeightsRoots: initialWeightsRoots(spec) }),
    });
    await registerModel(s.deployer, { deployments: s.deployments, spec: testSpec({ symbol: "BIG", minWorkerStakeWei: parseEther("5") }) });
  });
  afterAll(async () => {
    await rpc?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("refuses an address book whose contracts do not exist (5) and sends nothing", async () => {
    const fake = path.join(dir, "fake.json");
    const random = () => privateKeyToAccount(generatePrivateKey()).address;
    await writeFile(
      fake,
      JSON.stringify({ ...s.deployments, contracts: Object.fromEntries(Object.keys(s.deployments.contracts).map((k) => [k, random()])) }),
    );
    const key = keyOf(3);
    const before = await s.publicClient.getBalance({ address: privateKeyToAccount(key).address });
    const r = await cli([
      "--rpc",
      rpc.url,
      "--deployments",
      fake,
      "--key",
      key,
      "--signing-key",
      generatePrivateKey(),
      "stake",
      "--amount",
      "1",
    ]);
    expect(r.code).toBe(ExitCode.missingDeployment);
    expect(errorLine(r)).toEqual([
      expect.stringMatching(
        /^error: No Shardholder deployment for chain 31337: the address book's \w+ 0x[0-9a-fA-F]{40} is unusable \(The contract at .* is not Shardholder's \w+: there is no code at the address\)\.$/,
      ),
    ]);
    expect(await s.publicClient.getBalance({ address: privateKeyToAccount(key).address })).toBe(before);
  });

  it("refuses a stake below the model's minimum (17), and the train preflight refuses a worker staked below it", async () => {
    const key = keyOf(4);
    const signing = generatePrivateKey();
    const [noModel, model2, model1] = await Promise.all([
      cli([...base(), "--key", key, "--signing-key", signing, "stake", "--amount", "0.5"]),
      cli([...base(), "--key", key, "--signing-key", signing, "stake", "--amount", "2", "--model", "2"]),
      cli([...base(), "--key", key, "--signing-key", signing, "stake", "--amount", "0.5", "--model", "1"]),
    ]);
    expect(noModel.code).toBe(ExitCode.stakeBelowMinimum);
    expect(errorLine(noModel)[0]).toContain(
      "would have 0.5 ETH staked, below the minimum worker stake of every model (1, 2; the smallest is 1 ETH): stake at least 0.5 ETH more.",
    );
    expect(model2.code).toBe(ExitCode.stakeBelowMinimum);
    expect(errorLine(model2)[0]).toContain("would have 2 ETH staked, below model 2's minimum worker stake of 5 ETH");
    expect(model1.code).toBe(ExitCode.stakeBelowMinimum);
    expect((await getStaker(s.publicClient, { deployments: s.deployments, account: accountAt(s, 4) })).stakeWei).toBe(0n);

    // The ledger itself accepts a small stake (the SDK sends it); the stage commands then refuse it.
    await stake(s.wallets[4] as NonNullable<Shardholder["wallets"][number]>, {
      deployments: s.deployments,
      payout: accountAt(s, 4),
      signingKey: privateKeyToAccount(signing).address,
      valueWei: parseEther("0.5"),
    });
    const train = await cli([
      ...base(),
      "--key",
      key,
      "--signing-key",
      signing,
      "train",
      "--model",
      "1",
      "--stage",
      "0",
      "--spec",
      path.join(dir, "spec.json"),
    ]);
    expect(train.code).toBe(ExitCode.stakeBelowMinimum);
    expect(errorLine(train)[0]).toContain(
      `Key ${accountAt(s, 4)} has 0.5 ETH staked, below model 1's minimum worker stake of 1 ETH: stake at least 0.5 ETH more.`,
    );
    // A top-up that reaches the minimum of model 1 only says which models it is short of.
    const topUp = await cli([...base(), "--key", key, "stake", "--amount", "0.5"]);
    expect(topUp.code).toBe(0);
    expect(topUp.logs.find((l) => l.msg?.startsWith("this stake is below the minimum of some models"))?.models).toEqual([
      "2 (minimum 5 ETH)",
    ]);
    expect(topUp.logs.find((l) => l.msg === "stake topped up")).toMatchObject({ stakeEth: "1", models: ["1"] });
  });

  it("keeps the registered payout and signing key on a top-up; changes them only when asked, and says so", async () => {
    const key = keyOf(3);
    const worker = accountAt(s, 3);
    const [signing1, signing2] = [generatePrivateKey(), generatePrivateKey()];
    const [payout1, payout2] = [accountAt(s, 5), accountAt(s, 6)];
    const record = () => getStaker(s.publicClient, { deployments: s.deployments, account: worker });

    const noSigner = await cli([...base(), "--key", key, "stake", "--amount", "1"]);
    expect(noSigner.code).toBe(ExitCode.missingKey);
    expect(errorLine(noSigner)[0]).toContain("A first stake registers the commitment signing key: pass --signing-key");

    const first = await cli([...base(), "--key", key, "--signing-key", signing1, "stake", "--amount", "1", "--payout", payout1]);
    expect(first.code).toBe(0);
    expect(first.logs.find((l) => l.msg === "staked")).toMatchObject({
      payout: payout1,
      signingKey: privateKeyToAccount(signing1).address,
      stakeEth: "1",
      changed: [],
    });

    // A top-up with neither flag keeps both (it used to reset the payout to the --key address).
    const topUp = await cli([...base(), "--key", key, "stake", "--amount", "0.5"]);
    expect(topUp.code).toBe(0);
    expect(topUp.logs.find((l) => l.msg === "stake topped up")).toMatchObject({
      stakeEth: "1.5",
      kept: ["payout", "signingKey"],
      changed: [],
    });
    expect(await record()).toMatchObject({
      payout: payout1,
      signingKey: privateKeyToAccount(signing1).address,
      stakeWei: parseEther("1.5"),
    });

    // A different --signing-key is refused unless --rotate-signing-key (it used to rotate silently).
    const different = await cli([...base(), "--key", key, "--signing-key", signing2, "stake", "--amount", "0.5"]);
    expect(different.code).toBe(ExitCode.signingKeyMismatch);
    expect(errorLine(different)[0]).toContain(
      `The ledger has signing key ${privateKeyToAccount(signing1).address} for ${worker}, --signing-key is ${privateKeyToAccount(signing2).address}: pass --rotate-signing-key to replace it`,
    );
    expect((await record()).stakeWei).toBe(parseEther("1.5"));

    const rotate = await cli([...base(), "--key", key, "--signing-key", signing2, "stake", "--amount", "0", "--rotate-signing-key"]);
    expect(rotate.code).toBe(0);
    expect(rotate.logs.find((l) => l.msg?.startsWith("signing key rotated"))).toMatchObject({
      from: privateKeyToAccount(signing1).address,
      to: privateKeyToAccount(signing2).address,
    });
    const repay = await cli([...base(), "--key", key, "stake", "--amount", "0", "--payout", payout2]);
    expect(repay.code).toBe(0);
    expect(repay.logs.find((l) => l.msg?.startsWith("payout address changed"))).toMatchObject({ from: payout1, to: payout2 });
    expect(repay.logs.find((l) => l.msg === "stake topped up")).toMatchObject({ kept: ["signingKey"], changed: ["payout"] });
    expect(await record()).toMatchObject({
      payout: payout2,
      signingKey: privateKeyToAccount(signing2).address,
      stakeWei: parseEther("1.5"),
    });
    const nothing = await cli([...base(), "--key", key, "stake", "--amount", "0"]);
    expect(nothing.code).toBe(ExitCode.usage);
  });

  it("holds a key for one process: a lock of a live process refuses (16), a dead one's is taken over", async () => {
    const address = accountAt(s, 9);
    const at = { address, chainId: 31337, rpcUrl: rpc.url, dir: lockDir };
    const lock = acquireKeyLock({ ...at, command: "test holder" });
    // The holder is alive (this test process): a second process is refused.
    const refused = await cli([...base(), "--key", keyOf(9), "--signing-key", generatePrivateKey(), "stake", "--amount", "1"]);
    expect(refused.code).toBe(ExitCode.keyInUse);
    expect(errorLine(refused)[0]).toContain(`Key ${address} is in use by another shardholder process (pid ${process.pid}, \`test holder\``);
    lock.release();
    // A lock left by a process that is gone (kill -9) is stale.
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.on("exit", resolve));
    await writeFile(keyLockFile(at), JSON.stringify({ pid: dead.pid, command: "train", since: "earlier" }));
    const taken = acquireKeyLock({ ...at, command: "after a crash" });
    taken.release();
    // Another chain on another loopback port is another nonce space: another lock.
    expect(keyLockFile({ ...at, rpcUrl: "http://127.0.0.1:1" })).not.toBe(keyLockFile(at));
    expect(await readdir(lockDir)).toEqual([]);
  });

  it("refuses a second process on a key a running train holds (16); the train loses nothing and mints its own reward; status follows the round", async () => {
    const port = await fixedLoopbackPort();
    const [keyA, keyB] = [keyOf(1), keyOf(2)];
    const [workerA, workerB] = [accountAt(s, 1), accountAt(s, 2)];
    const [signA, signB] = [generatePrivateKey(), generatePrivateKey()];
    for (const [i, sign] of [
      [1, signA],
      [2, signB],
    ] as const)
      await stake(s.wallets[i] as NonNullable<Shardholder["wallets"][number]>, {
        deployments: s.deployments,
        payout: accountAt(s, 6 + i),
        signingKey: privateKeyToAccount(sign).address,
        valueWei: parseEther("2"),
      });
    const train = (key: Hex, sign: Hex, stage: number, extra: string[]) => [
      ...base(),
      "--key",
      key,
      "--signing-key",
      sign,
      "--backend",
      "wasm",
      "train",
      "--model",
      "1",
      "--stage",
      String(stage),
      "--spec",
      path.join(dir, "spec.json"),
      "--journal",
      path.join(dir, `journal-${stage}-${key.slice(2, 8)}`),
      "--peer-timeout",
      "100",
      ...extra,
    ];
    const model = await actionsOf(s, 0).getModel({ modelId });
    const round = model.currentRound;
    const { commitEnd, challengeEnd } = roundWindows(model, round);
    // Stage 1 on key A waits for stage 0; after its round it keeps serving and settling rewards (no grace: nobody else settles here).
    const last = start(
      train(keyA, signA, 1, ["--listen", `/ip4/127.0.0.1/tcp/${port}`, "--keep-serving", "--rewards-grace", "0", "--poll-ms", "500"]),
      400_000,
    );
    // Listening, then its peer record: the last transaction it sends before stage 0 connects.
    await last.waitFor("announced peer record in the stage directory");
    // The same key in a second process: stage 0, and a stake top-up. Both refused before sending anything.
    const nonce = await s.publicClient.getTransactionCount({ address: workerA });
    const [second, topUp] = await Promise.all([
      cli(train(keyA, signA, 0, ["--peer", `/ip4/127.0.0.1/tcp/${port}`])),
      cli([...base(), "--key", keyA, "stake", "--amount", "0.1"]),
    ]);
    for (const r of [second, topUp]) {
      expect(r.code).toBe(ExitCode.keyInUse);
      expect(errorLine(r)).toEqual([
        expect.stringContaining(
          `Key ${workerA} is in use by another shardholder process (pid ${last.child.pid}, \`train --model 1 --stage 1\``,
        ),
      ]);
    }
    expect(await s.publicClient.getTransactionCount({ address: workerA })).toBe(nonce);
    // Stage 0 on its own key: the pipeline trains the round and both commitments land.
    const first = await cli(train(keyB, signB, 0, ["--peer", `/ip4/127.0.0.1/tcp/${port}`]));
    expect(first.code).toBe(0);
    const afterTraining = await last.waitFor("rewards");
    for (const [stage, worker] of [
      [0, workerB],
      [1, workerA],
    ] as const)
      expect((await getCommitment(s.publicClient, { deployments: s.deployments, modelId, round, stage, worker })).found).toBe(true);
    expect(last.logs.find((l) => l.msg === "round committed")).toMatchObject({ round: round.toString(), confirmed: 1 });
    // The summary after the last round: the round is in its commit window, nothing minted yet.
    expect(afterTraining).toMatchObject({ when: "training done", mintedTokens: "0", waitingRounds: 1 });
    expect((afterTraining.rounds as Array<Record<string, unknown>>)[0]).toMatchObject({
      round: round.toString(),
      phase: "commit",
      stages: [1],
      units: "10",
    });

    type Status = { models: Array<Record<string, unknown> & { rounds: Array<Record<string, unknown>> }> } & Record<string, unknown>;
    const status = async (worker: Address) => {
      const r = await cli([...base(), "status", "--worker", worker]);
      expect(r.code).toBe(0);
      return r.logs.find((l) => l.msg === "status") as Status;
    };
    const inCommit = await status(workerA);
    expect(inCommit).toMatchObject({ worker: workerA, stakeWei: parseEther("2").toString(), payout: accountAt(s, 7) });
    expect(inCommit.models).toHaveLength(1);
    expect(inCommit.models[0]).toMatchObject({
      modelId: "1",
      currentRound: round.toString(),
      roundCount: 1,
      mintedTokensWei: "0",
      slashes: [],
    });
    expect(inCommit.models[0]?.rounds).toEqual([
      expect.objectContaining({ round: round.toString(), phase: "commit", stages: [1], units: "10" }),
    ]);
    const left = inCommit.models[0]?.rounds[0]?.endsInS as number;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(model.timing.commitWindowSec);

    await s.networkHelpers.time.increaseTo(commitEnd + 60n);
    expect((await status(workerA)).models[0]?.rounds[0]).toMatchObject({
      phase: "challenge",
      endsInS: model.timing.challengeWindowSec - 60,
    });
    // Past the challenge window, the serving train finalizes the round (nobody did) and mints its reward.
    await s.networkHelpers.time.increaseTo(challengeEnd);
    const minted = await last.waitFor("reward minted");
    expect(last.logs.find((l) => l.msg === "round finalized")).toMatchObject({ round: round.toString() });
    expect(minted).toMatchObject({ round: round.toString(), units: "10", payout: accountAt(s, 7) });
    const tokens = parseEther(minted.tokens as string);
    expect(
      await s.publicClient.readContract({ abi: modelTokenAbi, address: model.token, functionName: "balanceOf", args: [accountAt(s, 7)] }),
    ).toBe(tokens);
    const mintedStatus = (await status(workerA)).models[0];
    expect(mintedStatus?.rounds[0]).toMatchObject({ phase: "minted", tokensWei: tokens.toString() });
    expect(mintedStatus).toMatchObject({ mintedTokensWei: tokens.toString(), mintableTokensWei: "0", payoutTokensWei: tokens.toString() });
    // Stage 0's worker stopped after its round: its share waits, mintable by anyone.
    const other = (await status(workerB)).models[0];
    expect(other?.rounds[0]).toMatchObject({ phase: "mintable", stages: [0], units: "6" });
    expect(BigInt(other?.mintableTokensWei as string)).toBeGreaterThan(0n);

    last.child.kill("SIGTERM");
    const done = await last.exit;
    expect(done.code).toBe(0);
    expect(done.logs.filter((l) => l.msg === "rewards").at(-1)).toMatchObject({
      when: "stopped",
      mintedTokens: minted.tokens,
      mintedHere: 1,
      waitingRounds: 0,
    });

    // The same for humans: a table with the state and the tokens.
    const text = await cli(["--rpc", rpc.url, "--deployments", dir, "status", "--worker", workerA]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`worker ${workerA}: 2 ETH staked`);
    expect(text.stdout).toMatch(new RegExp(`^\\s*${round}\\s+1\\s+10\\s+minted\\s+\\d`, "m"));
    expect(text.stdout).toContain("slashes: none");
    const noWorker = await cli(["--rpc", rpc.url, "--deployments", dir, "status"]);
    expect(noWorker.code).toBe(ExitCode.usage);
  });

  it("serve: stage 0 needs no signing key, listens on --store-listen and announces --public-url; the last stage samples with each request's seed", async () => {
    const [pipePort, storePort] = [await fixedLoopbackPort(), await fixedLoopbackPort()];
    const operator = accountAt(s, 10);
    await stake(s.wallets[10] as NonNullable<Shardholder["wallets"][number]>, {
      deployments: s.deployments,
      payout: operator,
      signingKey: privateKeyToAccount(generatePrivateKey()).address,
      valueWei: parseEther("1"),
    });
    const serve = (stage: number, extra: string[]) => [
      ...base(),
      "--backend",
      "wasm",
      "serve",
      "--model",
      "1",
      "--stage",
      String(stage),
      "--spec",
      path.join(dir, "spec.json"),
      ...extra,
    ];
    // Every stage signs with its operator's key: without one, or with another than --operators names, a stage refuses to start.
    const [keyless, foreign] = await Promise.all([
      cli(serve(1, [])),
      cli(["--key", keyOf(11), ...serve(1, ["--operators", `${operator},${operator}`])]),
    ]);
    expect(keyless.code).toBe(ExitCode.missingKey);
    expect(errorLine(keyless)).toEqual(["error: Missing --key (or env SHARDHOLDER_KEY)."]);
    expect(foreign.code).toBe(ExitCode.usage);
    expect(errorLine(foreign)[0]).toContain(`but the pipeline's operator of stage 1 is ${operator}`);
    // This one operator serves both stages (the default --operators).
    const last = start(["--key", keyOf(10), ...serve(1, ["--listen", `/ip4/127.0.0.1/tcp/${pipePort}`, "--temperature", "0.5"])], 240_000);
    await last.waitFor("listening");
    const storeUrl = `http://127.0.0.1:${storePort}`;
    const publicUrl = `http://127.0.0.1:${storePort}/`;
    const first = start(
      [
        "--key",
        keyOf(10),
        ...serve(0, ["--next", `/ip4/127.0.0.1/tcp/${pipePort}`, "--store-listen", `127.0.0.1:${storePort}`, "--public-url", publicUrl]),
      ],
      240_000,
    );
    const ready = await first.waitFor("ready");
    expect(ready.storeUrl).toBe(storeUrl);
    expect(await first.waitFor("announced")).toMatchObject({ url: publicUrl });
    // Dapps find it on-chain once the operator registered its pipeline (right after it announced).
    const found = async () => (await actionsOf(s, 0).getServingEndpoints({ modelId })).endpoints.map((e) => e.url);
    for (let i = 0; i < 100 && !(await found()).includes(publicUrl); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await found()).toContain(publicUrl);
    expect(await (await fetch(`${storeUrl}/health`)).json()).toHaveProperty("maxPromptBytes");
    // The stage holding the logits samples: the temperature given, the default top-k, each request's seed.
    expect(await last.waitFor("decoding")).toMatchObject({
      stage: 1,
      sampling: { temperature: 0.5, topK: 8, seed: "per request" },
    });
    expect(await first.waitFor("decoding")).toMatchObject({ stage: 0, sampling: { temperature: 0.8, topK: 8 } });
    first.child.kill("SIGTERM");
    const stopped = await first.exit;
    expect(stopped.code).toBe(0);
    expect(stopped.logs.find((l) => l.msg === "withdrawn")).toMatchObject({ url: publicUrl });
    expect((await last.exit).code).toBe(0);
  });
});
