import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Libp2p } from "@libp2p/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRpc, type RpcServer } from "../../scripts/lib/rpcServer.ts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { registerModel } from "../../sdk/actions/models/registerModel.ts";
import { Journal, replay, roundItems } from "../../worker/journal/index.ts";
import { listedMicrobatches, recoverLinkReceiptSigner } from "../../sdk/protocol/linkReceipt.ts";
import { canonicalSpecJson, defaultModelSpec, specHash } from "../../worker/model/spec.ts";
import { initialWeightsRoots } from "../../worker/model/stage.ts";
import { ExitCode } from "../../worker/cli/errors.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { tensorFrameLimits } from "../../worker/p2p/frames.ts";
import { openPipe } from "../../worker/p2p/pipe.ts";
import { announceStageMember } from "../../worker/p2p/stageMembers.ts";
import { helloDomainOf, stakedNeighbourOnChain } from "../../worker/p2p/stakedNeighbour.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../sdk/fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "worker", "cli", "bin.js");
// Hardhat default accounts 1 and 2 (mnemonic "test test ... junk").
const KEYS = [
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;

type Result = { code: number | null; logs: Array<Record<string, unknown>>; stderr: string };

function cli(args: string[], timeoutMs = 100_000, onStderr?: (soFar: string) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SHARDHOLDER_KEY: "" } });
    // A hung stage must fail the test with its logs, not time the test out blind.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
      onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const logs = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, logs, stderr });
    });
  });
}

const dirs: string[] = [];

describe("shardholder train: two stage processes, one round, commitments on-chain", () => {
  let s: Shardholder;
  let rpc: RpcServer;
  let dir: string;
  // A round of three optimizer steps: six items per stage, each naming its step's weights.
  const spec = defaultModelSpec({
    stageCount: 2,
    layers: 2,
    dModel: 32,
    heads: 2,
    contextLength: 16,
    microbatchSize: 4,
    microbatchesPerStep: 2,
    stepsPerRound: 3,
  });
  const signerKeys = [generatePrivateKey(), generatePrivateKey()];
  const signers = signerKeys.map((k) => privateKeyToAccount(k));

  beforeAll(async () => {
    s = await deployShardholder();
    rpc = await serveRpc(s.connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "cli-train-"));
    dirs.push(dir);
    await writeFile(path.join(dir, `${s.deployments.chainId}.json`), JSON.stringify(s.deployments));
    await writeFile(path.join(dir, "spec.json"), canonicalSpecJson(spec));
    await registerModel(s.deployer, {
      deployments: s.deployments,
      spec: testSpec({ specHash: specHash(spec), initialWeightsRoots: initialWeightsRoots(spec) }),
    });
    for (const i of [0, 1]) {
      const wallet = s.wallets[i + 1];
      const signer = signers[i];
      if (!wallet || !signer) throw new Error("setup");
      expect(privateKeyToAccount(KEYS[i] as `0x${string}`).address).toBe(accountAt(s, i + 1));
      await stake(wallet, { deployments: s.deployments, payout: accountAt(s, 7), signingKey: signer.address, valueWei: parseEther("2") });
    }
  });
  afterAll(async () => {
    await rpc?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("trains round 0 over libp2p, journals it, and both stages' commitments are accepted", async () => {
    const port = await fixedLoopbackPort();
    const common = (i: number) => [
      "--json",
      "--rpc",
      rpc.url,
      "--deployments",
      dir,
      "--key",
      KEYS[i] as string,
      "--signing-key",
      signerKeys[i] as string,
      "--backend",
      "wasm",
      "train",
      "--model",
      "1",
      "--stage",
      String(i),
      "--spec",
      path.join(dir, "spec.json"),
      "--journal",
      path.join(dir, `journal-${i}`),
    ];
    const [last, first] = await Promise.all([
      cli([...common(1), "--listen", `/ip4/127.0.0.1/tcp/${port}`]),
      cli([...common(0), "--peer", `/ip4/127.0.0.1/tcp/${port}`]),
    ]);
    expect(last.stderr).toBe("");
    expect([first.code, last.code]).toEqual([0, 0]);
    const committed = (r: Result) => r.logs.find((l) => l.msg === "round committed");
    expect(committed(first)).toMatchObject({ round: "0", trained: true, confirmed: 1 });
    expect(committed(last)?.loss).toBeGreaterThan(0);
    // Where the round's time went: the pipeline's own split, inside the round's whole wall time.
    const split = committed(first)?.pipelineMs as Record<string, number> | undefined;
    expect(split).toMatchObject({
      wallMs: expect.any(Number),
      idleMs: expect.any(Number),
      forwardMs: expect.any(Number),
      backwardMs: expect.any(Number),
      codecMs: expect.any(Number),
    });
    expect(split?.wallMs).toBeLessThanOrEqual(Number(committed(first)?.wallMs) + 1);
    expect(split?.idleMs).toBeLessThanOrEqual(split?.wallMs as number);
    expect(first.logs.find((l) => l.backend)?.backend).toBe("wasm");
    for (const i of [0, 1]) {
      const rec = await getCommitment(s.publicClient, {
        deployments: s.deployments,
        modelId: 1n,
        round: 0n,
        stage: i,
        worker: accountAt(s, i + 1),
      });
      expect(rec.found).toBe(true);
    }
    const journals = await Promise.all(
      [0, 1].map((i) => Journal.open(path.join(dir, `journal-${i}`), { modelId: 1n, stage: i, worker: accountAt(s, i + 1) })),
    );
    const [items0, items1] = journals.map((j) => roundItems(replay(j.records), 0n));
    expect(items0).toHaveLength(spec.microbatchesPerStep * spec.stepsPerRound);
    items0?.forEach((item, k) => expect(item.outputActHash).toBe(items1?.[k]?.inputActHash));
    // Each stage's items name three distinct step weights, the first the round's start (its initial root).
    for (const [stage, items] of [items0, items1].entries()) {
      const roots = [...new Set((items ?? []).map((item) => item.weightsRoot))];
      expect(roots).toHaveLength(spec.stepsPerRound);
      expect(roots[0]).toBe(initialWeightsRoots(spec)[stage]);
    }
    // The transformer's Adam state is checkpointed with the weights.
    for (const j of journals) expect(replay(j.records).lastCheckpoint?.optimizerFile).toMatch(/^optimizer-r0-s0/);
    // Link receipts (docs/PROTOCOL.md "Link receipts"): each stage holds the other's, signed by its
    // signing key, listing every microbatch of the round, and each stage's leaves name the other end.
    const all = Array.from({ length: spec.microbatchesPerStep * spec.stepsPerRound }, (_, m) => m);
    for (const [i, j] of journals.entries()) {
      const held = replay(j.records).receipts.get(0n) ?? [];
      expect(held).toHaveLength(1);
      const [r] = held;
      expect(r).toMatchObject({ stage: 0, upstream: accountAt(s, 1), downstream: accountAt(s, 2), signer: signers[1 - i]?.address });
      expect(listedMicrobatches(r!.microbatches)).toEqual(all);
      const signature = r!.signature;
      const receipt = {
        modelId: 1n,
        round: 0n,
        stage: r!.stage,
        upstream: r!.upstream,
        downstream: r!.downstream,
        microbatches: r!.microbatches,
      };
      expect(
        await recoverLinkReceiptSigner({
          ledger: s.deployments.contracts.computeLedger,
          chainId: s.deployments.chainId,
          receipt,
          signature,
        }),
      ).toBe(signers[1 - i]?.address);
    }
    await Promise.all(journals.map((j) => j.close()));

    // Restart both processes with the same flags in the same round: both report round 0 durable,
    // agree to start after it, recompute nothing and send no transaction but their new peer
    // records (each listens on a new port).
    const nonces = await Promise.all([1, 2].map((i) => s.publicClient.getTransactionCount({ address: accountAt(s, i) })));
    const port2 = await fixedLoopbackPort();
    const [last2, first2] = await Promise.all([
      cli([...common(1), "--listen", `/ip4/127.0.0.1/tcp/${port2}`]),
      cli([...common(0), "--peer", `/ip4/127.0.0.1/tcp/${port2}`]),
    ]);
    expect([first2.code, last2.code]).toEqual([0, 0]);
    for (const r of [first2, last2]) {
      expect(r.logs.find((l) => l.msg === "pipeline connected")).toMatchObject({ need: "1", from: "1", until: "0" });
      expect(committed(r)).toBeUndefined();
    }
    expect(first2.logs.find((l) => l.msg === "resuming from journal")).toBeDefined();
    expect(await Promise.all([1, 2].map((i) => s.publicClient.getTransactionCount({ address: accountAt(s, i) })))).toEqual(
      nonces.map((n) => n + 1),
    );
    for (const r of [first2, last2]) expect(r.logs.filter((l) => l.msg === "announced peer record in the stage directory")).toHaveLength(1);
    // The restarted processes kept their libp2p identity and the content they committed to.
    const listening = (r: Result) => r.logs.find((l) => l.msg === "listening");
    expect(listening(last2)?.peerId).toBe(listening(last)?.peerId);
    expect(listening(first2)?.peerId).toBe(listening(first)?.peerId);
    expect(listening(last2)?.contentRounds).toEqual(["0"]);
  });

  it("a neighbour that connects and goes silent fails the stage with exit 13 and one line, not a hang", async () => {
    // Stage 0 is a real libp2p peer that opens the link with a correct hello, then never sends
    // another byte (a stuck or SIGSTOPped process keeps its TCP connection open).
    const port = await fixedLoopbackPort();
    const silent: Libp2p = await createPipeNode();
    try {
      const args = [
        "--rpc",
        rpc.url,
        "--deployments",
        dir,
        "--key",
        KEYS[1] as string,
        "--signing-key",
        signerKeys[1] as string,
        "--backend",
        "wasm",
        "train",
        "--model",
        "1",
        "--stage",
        "1",
        "--spec",
        path.join(dir, "spec.json"),
        "--journal",
        path.join(dir, "journal-silent"),
        "--listen",
        `/ip4/127.0.0.1/tcp/${port}`,
        "--peer-timeout",
        "2",
        "--reconnect-attempts",
        "1",
      ];
      const started = performance.now();
      let listening = (): void => undefined;
      const up = new Promise<void>((resolve) => (listening = resolve));
      const stage1 = cli(args, 100_000, (soFar) => /^listening\b/m.test(soFar) && listening());
      // Dial only once stage 1 listens: under load its start-up alone can outlast any fixed dial
      // budget (it took over 20 s with two test files at once). An early exit fails below.
      await Promise.race([up, stage1]);
      // It signs its hello with stage 0's real staked identity, announced as stage 0's peer in the
      // stage directory: stage 1 checks both on the chain.
      await announceStageMember({
        wallet: s.wallets[1] as Parameters<typeof announceStageMember>[0]["wallet"],
        client: s.publicClient,
        deployments: s.deployments,
        modelId: 1n,
        stage: 0,
        node: silent,
      });
      const auth = {
        modelId: 1n,
        worker: accountAt(s, 1),
        signer: privateKeyToAccount(signerKeys[0] as `0x${string}`),
        domain: helloDomainOf(s.deployments),
        isStakedNeighbour: stakedNeighbourOnChain(s.publicClient, s.deployments),
      };
      const limits = tensorFrameLimits([spec.microbatchSize, spec.contextLength, spec.dModel]);
      const { next } = await openPipe({
        node: silent,
        stageIndex: 0,
        stageCount: 2,
        modelKey: specHash(spec),
        auth,
        limits,
        nextAddress: `/ip4/127.0.0.1/tcp/${port}`,
        dial: { attempts: 40, baseDelayMs: 250, maxDelayMs: 500 },
      });
      expect(next).toBeDefined();
      const r = await stage1;
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      expect(r.code).toBe(ExitCode.peerTimeout);
      // The silent link times out, the stage reconnects once, and nobody connects again in time.
      expect(r.stderr).toMatch(
        /warning: neighbour stage lost; reconnecting \(error=No hello 0\/1 from the peer within 2000 ms\. reconnect=1/,
      );
      expect(errors).toEqual(["error: No link from stage 0 within 2000 ms (--peer-timeout)."]);
      expect(performance.now() - started).toBeLessThan(60_000);
    } finally {
      await silent.stop();
    }
  });

  it("a neighbour that dies and never comes back: reconnect with backoff, then exit 8 with one line", async () => {
    const port = await fixedLoopbackPort();
    const common = (i: number) => [
      "--json",
      "--rpc",
      rpc.url,
      "--deployments",
      dir,
      "--key",
      KEYS[i] as string,
      "--signing-key",
      signerKeys[i] as string,
      "--backend",
      "wasm",
      "train",
      "--model",
      "1",
      "--stage",
      String(i),
      "--spec",
      path.join(dir, "spec.json"),
      "--journal",
      path.join(dir, `journal-gone-${i}`),
    ];
    // Stage 1 is SIGKILLed as soon as the pipeline is connected, and nobody restarts it.
    const stage1 = spawn(process.execPath, [bin, ...common(1), "--listen", `/ip4/127.0.0.1/tcp/${port}`], {
      cwd: root,
      env: { ...process.env, SHARDHOLDER_KEY: "" },
    });
    let killedAt: number | undefined;
    let out = "";
    const listening = new Promise<void>((resolve) =>
      stage1.stdout.on("data", (d: Buffer) => {
        out += d.toString("utf8");
        if (out.includes('"msg":"listening"')) resolve();
        if (killedAt === undefined && out.includes('"msg":"pipeline connected"')) {
          stage1.kill("SIGKILL");
          killedAt = performance.now();
        }
      }),
    );
    const stage1Exit = new Promise<NodeJS.Signals | null>((resolve) => stage1.on("exit", (_code, signal) => resolve(signal)));
    const timer = setTimeout(() => stage1.kill("SIGKILL"), 90_000);
    await listening; // so stage 0's preflight finds it up
    const first = await cli(
      [...common(0), "--peer", `/ip4/127.0.0.1/tcp/${port}`, "--dial-attempts", "3", "--reconnect-attempts", "2"],
      60_000,
    );
    expect(await stage1Exit).toBe("SIGKILL");
    clearTimeout(timer);
    expect(killedAt).toBeDefined();
    expect(first.code, JSON.stringify(first.logs.map((l) => [l.time, l.msg, l.error ?? l.round ?? ""]))).toBe(ExitCode.peerUnreachable);
    expect(first.code).toBe(ExitCode.peerUnreachable);
    const lost = first.logs.filter((l) => l.msg === "neighbour stage lost; reconnecting");
    expect(lost).toHaveLength(1);
    expect(lost[0]?.error).toMatch(/Pipe link closed/);
    expect(first.logs.filter((l) => l.msg === "next stage not answering, retrying").map((l) => l.retryInMs)).toEqual([250, 500]);
    expect(first.logs.at(-1)).toMatchObject({
      level: 50,
      exitCode: ExitCode.peerUnreachable,
      msg: `Peer /ip4/127.0.0.1/tcp/${port} is unreachable after 3 attempts.`,
    });
    expect(performance.now() - (killedAt ?? 0)).toBeLessThan(30_000);
  });

  // Runs last: it moves the chain to round 1, and needs the first test's round-0 commitments.
  it("a deleted journal is refused with exit 15 and one line instead of training from the wrong weights", async () => {
    // Round 1 opens; stage 1's journal is gone (a new --journal): training round 1 from the
    // initial weights would break continuity with its round-0 commitment, so it refuses.
    const model = await getModel(s.publicClient, { deployments: s.deployments, modelId: 1n });
    await s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec));
    const lost = await cli([
      "--json",
      "--rpc",
      rpc.url,
      "--deployments",
      dir,
      "--key",
      KEYS[1],
      "--signing-key",
      signerKeys[1] as string,
      "--backend",
      "wasm",
      "train",
      "--model",
      "1",
      "--stage",
      "1",
      "--spec",
      path.join(dir, "spec.json"),
      "--journal",
      path.join(dir, "journal-1-deleted"),
    ]);
    expect(lost.code).toBe(ExitCode.journalLost);
    expect(lost.logs.filter((l) => l.level === 50)).toHaveLength(1);
    expect(lost.logs.find((l) => l.level === 50)?.msg).toMatch(
      /^The chain holds this worker's stage 1 commitment of round 0, but the journal .*journal-1-deleted does not: restore the journal, or start again after round 1 has passed\.$/,
    );
  });
});
