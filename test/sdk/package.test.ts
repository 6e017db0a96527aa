// The SDK as an outsider gets it: `npm pack` of packages/sdk (its prepack builds dist/), installed
// with viem into an empty folder, type-checked from a TypeScript consumer, and the plain Node ESM
// example (examples/dapp/main.mjs) run against a chain this test starts and serves.
import { execFile, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { keccak256, parseEther, toHex, type WalletClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRpc } from "../../scripts/lib/rpcServer.ts";
import { measureSdkApps } from "../../scripts/lib/sdkSize.ts";
import { sdkVersion } from "../../sdk/errors/base.ts";
import { runServingOperator } from "../../worker/serve/operator.ts";
import { ContentStore, serveContentStore } from "../../worker/serve/store.ts";
import { accountAt, actionsOf, deployShardholder, type Shardholder, signedServing, testSpec } from "./fixture.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const packageDir = path.join(root, "packages", "sdk");
const run = promisify(execFile);

/** Bounds an outsider would notice: the 492 MB install and tfjs/libp2p/hardhat must stay out. */
const MAX_TARBALL_BYTES = 200 * 1024;
const MAX_UNPACKED_BYTES = 2 * 1024 * 1024;
const FORBIDDEN = /tfjs|tensorflow|libp2p|hardhat|nomicfoundation|chainsafe/i;

/** npm's own variables of an enclosing `npm test` would steer the nested npm commands (workspace, package). */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(package|lifecycle|config_workspace)/i.test(k)));
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await duBytes(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

/** Every installed package below `modules` (paths relative to it), nested copies included. */
async function installedPackages(modules: string, under = modules, found: string[] = []): Promise<string[]> {
  for (const entry of await readdir(under, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const names = entry.name.startsWith("@")
      ? (await readdir(path.join(under, entry.name))).map((n) => path.join(entry.name, n))
      : [entry.name];
    for (const name of names) {
      found.push(path.relative(modules, path.join(under, name)));
      await installedPackages(modules, path.join(under, name, "node_modules"), found);
    }
  }
  return found;
}

type PackReport = { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] };

describe("@shardholder/sdk as an installed package", () => {
  let work: string;
  let app: string;
  let pack: PackReport;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "sdk-package-"));
    app = path.join(work, "app");
    [pack] = JSON.parse(await npm(["pack", "--json", "--pack-destination", work], packageDir)) as [PackReport];
    await mkdir(app);
    await cp(path.join(root, "examples", "dapp", "main.mjs"), path.join(app, "main.mjs"));
    const manifest = JSON.parse(await readFile(path.join(root, "examples", "dapp", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    manifest.dependencies["@shardholder/sdk"] = `file:${path.join(work, pack.filename)}`;
    await writeFile(path.join(app, "package.json"), JSON.stringify(manifest, null, 2));
    // --prefer-offline: viem comes from npm's cache when the root install already fetched it.
    await npm(["install", "--no-audit", "--no-fund", "--prefer-offline"], app);
  }, 300_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("packs dist/ only: ESM JavaScript and .d.ts, small, nothing of the worker or the chain tooling", async () => {
    const files = pack.files.map((f) => f.path).sort();
    expect(files.filter((f) => !f.startsWith("dist/") && !["package.json", "README.md"].includes(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => /\.test\.|examples\//.test(f) || FORBIDDEN.test(f))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(["dist/index.js", "dist/index.d.ts", "dist/node.js", "dist/node.d.ts"]));
    expect(pack.size).toBeLessThan(MAX_TARBALL_BYTES);
    expect(pack.unpackedSize).toBeLessThan(MAX_UNPACKED_BYTES);
    const declarations = await Promise.all(files.filter((f) => f.endsWith(".d.ts")).map((f) => readFile(path.join(packageDir, f), "utf8")));
    expect(declarations.filter((d) => /from ["']\.{1,2}\/[^"']*\.ts["']/.test(d))).toEqual([]); // no TS5097 bait
  });

  it("declares no install scripts and no dependency but viem, as a peer", async () => {
    const manifest = JSON.parse(await readFile(path.join(app, "node_modules", "@shardholder", "sdk", "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(
      Object.keys((manifest.scripts as Record<string, string> | undefined) ?? {}).filter((s) => /^(pre|post)?install$|^prepare$/.test(s)),
    ).toEqual([]);
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependencies).toEqual({ viem: expect.stringMatching(/^~2\.57\./) });
    expect(manifest.sideEffects).toBe(false);
    expect(`${manifest.name as string}@${manifest.version as string}`).toBe(sdkVersion);
  });

  it("installs only itself and viem (one copy), in a few megabytes besides viem's own", async () => {
    const modules = path.join(app, "node_modules");
    const installed = await installedPackages(modules);
    expect(installed.filter((p) => FORBIDDEN.test(p))).toEqual([]);
    expect(installed.filter((p) => p === "viem" || p.endsWith(`${path.sep}viem`))).toEqual(["viem"]);
    const tree = JSON.parse(await npm(["ls", "--all", "--json"], app)) as {
      dependencies: Record<string, { dependencies?: Record<string, unknown> }>;
    };
    expect(Object.keys(tree.dependencies).sort()).toEqual(["@shardholder/sdk", "viem"]);
    // The SDK brings nothing of its own: its one requirement is the app's viem.
    expect(Object.keys(tree.dependencies["@shardholder/sdk"]?.dependencies ?? {})).toEqual(["viem"]);
    const sdkBytes = await duBytes(path.join(modules, "@shardholder", "sdk"));
    expect(sdkBytes).toBeLessThan(MAX_UNPACKED_BYTES);
    console.log(
      `installed: ${installed.length} packages, ${(await duBytes(modules)) >> 20} MB in all, @shardholder/sdk ${sdkBytes >> 10} KB; tarball ${pack.size >> 10} KB`,
    );
  });

  it("type-checks a TypeScript consumer: .d.ts only, one viem, so .extend(shardholderActions(...)) compiles", async () => {
    await writeFile(
      path.join(app, "consumer.ts"),
      [
        'import { createWalletClient, http, publicActions, type Hex } from "viem";',
        'import { privateKeyToAccount } from "viem/accounts";',
        'import { hardhat } from "viem/chains";',
        'import { type Deployments, requestInference, type SentTransaction, shardholderActions } from "@shardholder/sdk";',
        'import { loadDeployments } from "@shardholder/sdk/node";',
        "declare const deployments: Deployments;",
        "declare const key: Hex;",
        "const client = createWalletClient({ account: privateKeyToAccount(key), chain: hardhat, transport: http() })",
        "  .extend(publicActions)",
        "  .extend(shardholderActions({ deployments }));",
        "export async function run() {",
        '  const { requestId } = await client.requestInference({ modelId: 1n, input: "hi", maxFeePerGas: 2n, maxPriorityFeePerGas: 1n });',
        '  const { text }: { text: string } = await client.infer({ modelId: 1n, prompt: "hi", maxFeeWei: 1n });',
        "  const sent: SentTransaction = await client.stake({ payout: client.account.address, signingKey: client.account.address, valueWei: 1n, wait: false });",
        '  const direct = await requestInference(client, { deployments, modelId: 1n, input: "x", gas: 100_000n, nonce: 7 });',
        "  const book: Deployments = await loadDeployments({ chainId: 31337 });",
        "  return [requestId, text, sent.transactionHash, direct.request.deadline, book.chainId] as const;",
        "}",
        "",
      ].join("\n"),
    );
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        lib: ["ES2022", "DOM"],
        types: [],
      },
      files: ["consumer.ts"],
    };
    await writeFile(path.join(app, "tsconfig.json"), JSON.stringify(tsconfig));
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
    const checked = await run(process.execPath, [tsc, "-p", path.join(app, "tsconfig.json")], { cwd: app }).then(
      () => "",
      (err: Error & { stdout?: string }) => err.stdout ?? String(err),
    );
    expect(checked).toBe("");
  });

  it("keeps a one-action app small: only its ABIs up front, the error registry in a lazy chunk", async () => {
    const apps = await measureSdkApps(packageDir);
    const one = apps["one action (requestInference)"];
    const whole = apps["whole SDK (import *)"];
    if (!one || !whole) throw new Error("sdkApps changed names");
    // Measured 10.5 KB against 164 KB (bench/sdk-size.json); the bounds leave room, not regressions.
    expect(one.sdk.minified).toBeLessThan(32 * 1024);
    expect(one.sdk.minified).toBeLessThan(whole.sdk.minified / 8);
    expect(one.sdkLazy.minified).toBeGreaterThan(0); // the error registry exists, just not up front
  });

  describe("examples/dapp/main.mjs with plain node", () => {
    let s: Shardholder;
    let rpc: Awaited<ReturnType<typeof serveRpc>>;
    beforeAll(async () => {
      s = await deployShardholder();
      rpc = await serveRpc(s.connection.provider);
      await actionsOf(s, 0).registerModel({ spec: testSpec() });
      await actionsOf(s, 2).stake({ payout: accountAt(s, 2), signingKey: accountAt(s, 2), valueWei: parseEther("1") });
      const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 3600n;
      // one operator serving both stages: its own transaction is its whole consent
      await actionsOf(s, 2).registerPipeline({ modelId: 1n, stageOperators: [accountAt(s, 2), accountAt(s, 2)], consentDeadline });
      await mkdir(path.join(app, "deployments"), { recursive: true });
      await writeFile(path.join(app, "deployments", `${s.deployments.chainId}.json`), JSON.stringify(s.deployments));
    }, 120_000);
    afterAll(async () => {
      await rpc?.close();
      await s?.connection.close();
    });

    it("asks the model through infer: finds the announced endpoint, pays, and prints the verified text", async () => {
      const key = generatePrivateKey();
      const dapp = privateKeyToAccount(key);
      await s.publicClient.waitForTransactionReceipt({
        hash: await s.deployer.sendTransaction({ to: dapp.address, value: parseEther("1") }),
      });
      // The operator side (worker/serve): its store announced on-chain, and its fulfil loop.
      const store = new ContentStore();
      const server = await serveContentStore(store);
      await actionsOf(s, 2).announceEndpoint({ modelId: 1n, url: server.url });
      const stop = new AbortController();
      const operator = runServingOperator({
        client: s.publicClient,
        wallet: s.wallets[2] as WalletClient,
        deployments: s.deployments,
        modelId: 1n,
        store,
        stageOperators: [accountAt(s, 2), accountAt(s, 2)],
        generate: async (r) => ({
          text: `${r.prompt}, it was a dark and stormy night`,
          ...(await signedServing(s, { requestId: r.requestId, stageOperators: [accountAt(s, 2), accountAt(s, 2)] })),
        }),
        pollMs: 50,
        signal: stop.signal,
      });
      const child = spawn(process.execPath, ["main.mjs", "Once upon a time"], {
        cwd: app,
        env: { PATH: process.env.PATH, RPC_URL: rpc.url, PRIVATE_KEY: key, MODEL_ID: "1", TIMEOUT_MS: "60000" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

      try {
        const code = await exited;
        expect(code, stderr).toBe(0);
      } finally {
        stop.abort();
        await operator;
        await server.close();
      }
      const text = "Once upon a time, it was a dark and stormy night";
      expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "")).toEqual({
        requestId: "1",
        text,
        outputHash: keccak256(toHex(text)),
        fulfiller: accountAt(s, 2),
      });
    }, 120_000);

    it("types a revert from the installed package: the lazily imported error registry loads in plain node", async () => {
      const script = [
        'import { createWalletClient, http } from "viem";',
        'import { privateKeyToAccount } from "viem/accounts";',
        'import { InferenceEscrowFeeTooLowError, requestInference } from "@shardholder/sdk";',
        "const client = createWalletClient({ account: privateKeyToAccount(process.env.PRIVATE_KEY), transport: http(process.env.RPC_URL) });",
        "const deployments = JSON.parse(process.env.DEPLOYMENTS);",
        'const err = await requestInference(client, { deployments, modelId: 1n, input: "x", feeWei: 1n }).catch((e) => e);',
        "console.log(JSON.stringify({ name: err.name, typed: err instanceof InferenceEscrowFeeTooLowError }));",
      ].join("\n");
      await writeFile(path.join(app, "revert.mjs"), script);
      const { stdout } = await run(process.execPath, ["revert.mjs"], {
        cwd: app,
        env: { PATH: process.env.PATH, RPC_URL: rpc.url, PRIVATE_KEY: generatePrivateKey(), DEPLOYMENTS: JSON.stringify(s.deployments) },
      });
      expect(JSON.parse(stdout.trim())).toEqual({ name: "InferenceEscrowFeeTooLowError", typed: true });
    }, 60_000);
  });
});
