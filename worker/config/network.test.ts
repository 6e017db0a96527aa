import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { installNetworkDefaults, type SpecResolver } from "./commandDefaults.ts";
import { ConfigError } from "./errors.ts";
import { loadNetworkFile, networkModel } from "./network.ts";
import { resolveGlobalConfig } from "./options.ts";

const dir = mkdtempSync(path.join(tmpdir(), "shardholder-network-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A network.json as `devnet --keep-running` writes it, paths relative to its directory. */
function networkFile(overrides: Record<string, unknown> = {}): string {
  const run = mkdtempSync(path.join(dir, "run-"));
  mkdirSync(path.join(run, "deployments"));
  const file = path.join(run, "network.json");
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      chainId: 31337,
      rpc: ["http://127.0.0.1:40001", "http://127.0.0.1:40002"],
      deploymentsFile: "deployments/31337.json",
      models: [
        {
          id: "3",
          name: "Shardholder Brown Char (devnet run x)",
          symbol: "SHBC-1A2B",
          token: "0x0000000000000000000000000000000000000001",
          stages: 3,
          specHash: `0x${"ab".repeat(32)}`,
          metadataURI: "http://127.0.0.1:40003/specs/x.json",
          specFile: "model-spec.json",
        },
        {
          id: "4",
          name: "other",
          symbol: "O",
          token: "0x0000000000000000000000000000000000000002",
          stages: 2,
          specHash: `0x${"cd".repeat(32)}`,
          metadataURI: "",
          specFile: "/abs/other-spec.json",
        },
      ],
      ...overrides,
    }),
  );
  return file;
}

describe("--network FILE", () => {
  it("loadNetworkFile_relativePaths_resolvedAgainstTheFilesDirectory", () => {
    const file = networkFile();
    const net = loadNetworkFile(file);
    expect(net.deploymentsFile).toBe(path.join(path.dirname(file), "deployments", "31337.json"));
    expect(networkModel(net)?.specFile).toBe(path.join(path.dirname(file), "model-spec.json"));
    expect(networkModel(net, 4n)?.specFile).toBe("/abs/other-spec.json");
    expect(networkModel(net, 9n)).toBeUndefined();
  });

  it("loadNetworkFile_missingOrMalformed_isAConfigErrorNamingTheFile", () => {
    expect(() => loadNetworkFile(path.join(dir, "nope.json"))).toThrow(/Invalid --network: .*nope\.json does not exist/);
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(() => loadNetworkFile(bad)).toThrow(ConfigError);
    expect(() => loadNetworkFile(networkFile({ version: 2 }))).toThrow(/version 2, expected 1/);
    expect(() => loadNetworkFile(networkFile({ rpc: [] }))).toThrow(/names no "rpc" endpoint/);
    expect(() => loadNetworkFile(networkFile({ models: [{ id: "x" }] }))).toThrow(/without a decimal "id"/);
  });

  it("resolveGlobalConfig_network_fillsRpcAndDeployments_flagsWin_environmentLoses", () => {
    const file = networkFile();
    const env = { SHARDHOLDER_RPC: "http://10.0.0.1:8545", SHARDHOLDER_DEPLOYMENTS: "/env/book.json" };
    const fromNetwork = resolveGlobalConfig({ network: file }, env);
    expect(fromNetwork.rpcUrls).toEqual(["http://127.0.0.1:40001/", "http://127.0.0.1:40002/"]);
    expect(fromNetwork.deployments).toEqual({ kind: "file", path: path.join(path.dirname(file), "deployments", "31337.json") });
    expect(fromNetwork.network?.file).toBe(file);
    const flags = resolveGlobalConfig({ network: file, rpc: ["http://127.0.0.1:9"], deployments: "/flag/book.json" }, env);
    expect(flags.rpcUrls).toEqual(["http://127.0.0.1:9/"]);
    expect(flags.deployments).toEqual({ kind: "file", path: "/flag/book.json" });
    // Without --network nothing changes: the environment, then the defaults.
    expect(resolveGlobalConfig({}, env).rpcUrls).toEqual(["http://10.0.0.1:8545/"]);
    expect(() => resolveGlobalConfig({ network: path.join(dir, "none.json") })).toThrow(ConfigError);
  });

  /** A program shaped like the CLI's: a root `--network`, a command with `--model` (bigint) and a mandatory `--spec`. */
  function program(resolveSpec?: SpecResolver) {
    const seen: { model?: bigint; spec?: string }[] = [];
    const root = new Command("shardholder").option("--network <file>").option("--rpc <url>").exitOverride();
    installNetworkDefaults(root, { resolveSpec });
    root
      .command("train")
      .requiredOption("--model <id>", "model", (v: string) => {
        if (!/^\d+$/.test(v)) throw new InvalidArgumentError("not an integer");
        return BigInt(v);
      })
      .requiredOption("--spec <file>")
      .exitOverride()
      .action((o: { model?: bigint; spec?: string }) => void seen.push(o));
    root
      .command("stake")
      .option("--amount <eth>")
      .exitOverride()
      .action(() => void seen.push({}));
    return { root, seen };
  }

  it("installNetworkDefaults_fillsModelAndSpec_aFlagOverridesThem", async () => {
    const file = networkFile();
    const specFile = path.join(path.dirname(file), "model-spec.json");
    let p = program();
    await p.root.parseAsync(["node", "x", "--network", file, "train"]);
    expect(p.seen).toEqual([{ model: 3n, spec: specFile }]);
    p = program();
    await p.root.parseAsync(["node", "x", "train", "--spec", "/mine.json", "--network", file]);
    expect(p.seen).toEqual([{ model: 3n, spec: "/mine.json" }]);
    // Another model of the network: its own spec, not the first model's.
    p = program();
    await p.root.parseAsync(["node", "x", "--network", file, "train", "--model", "4"]);
    expect(p.seen).toEqual([{ model: 4n, spec: "/abs/other-spec.json" }]);
    // A command without those options is untouched.
    p = program();
    await p.root.parseAsync(["node", "x", "--network", file, "stake"]);
    expect(p.seen).toEqual([{}]);
  });

  it("installNetworkDefaults_noSpecAnywhere_asksTheResolverWithTheModelId", async () => {
    const asked: bigint[] = [];
    const p = program(async ({ modelId }) => {
      asked.push(modelId);
      return `/fetched/${modelId}.json`;
    });
    await p.root.parseAsync(["node", "x", "train", "--model", "7"]);
    expect(asked).toEqual([7n]);
    expect(p.seen).toEqual([{ model: 7n, spec: "/fetched/7.json" }]);
    // A model the network does not list, named by flag: fetched too (not the first model's spec).
    const net = networkFile();
    await p.root.parseAsync(["node", "x", "--network", net, "train", "--model", "9"]);
    expect(asked).toEqual([7n, 9n]);
    // Without a resolver --spec stays mandatory.
    await expect(program().root.parseAsync(["node", "x", "train", "--model", "7"])).rejects.toThrow(/--spec/);
  });
});
