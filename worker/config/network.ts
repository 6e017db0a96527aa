// `--network FILE`: one file that says where a running Shardholder network is (written by
// `shardholder devnet --keep-running` as runs/<time>/network.json). Every command takes it and
// fills what it was not told: the JSON-RPC endpoints, the address book, the model id and its spec.
// Explicit flags win; the file wins over the environment (it was named on the command line).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Address, Hex } from "viem";
import { ConfigError } from "./errors.ts";

/** A model of the network, as network.json lists it. */
export type NetworkModel = {
  /** Registry model id (decimal string). */
  id: string;
  name: string;
  symbol: string;
  token: Address;
  stages: number;
  /** keccak-256 of the canonical spec JSON: what the registry holds. */
  specHash: Hex;
  /** The registry's metadata URI (resolves to the spec, content-addressed by its hash). */
  metadataURI: string;
  /** The canonical spec JSON on this machine (relative to network.json, or absolute). */
  specFile?: string | undefined;
};

/** What network.json holds (`version: 1`). Relative paths are relative to the file's directory. */
export type NetworkDescription = {
  version: 1;
  chainId: number;
  /** JSON-RPC endpoints, in order of preference. */
  rpc: string[];
  /** The address book file (the SDK's format, sdk/deployments/types.ts). */
  deploymentsFile: string;
  /** The address book itself, for readers that want no second file. */
  deployments?: unknown;
  models: NetworkModel[];
  /** Serving endpoints announced in the ServingDirectory (stage 0 of each serving pipeline). */
  serving?: { modelId: string; operator: Address; url: string }[] | undefined;
  /** Content servers of the miners (libp2p `/shardholder/fetch/2.0.0`): where weights and spec come from. */
  peers?: { modelId: string; stage: number; worker: Address; multiaddr: string }[] | undefined;
  /** Where the spec is served over HTTP by its hash: `<specServer>/specs/<specHash>.json`. */
  specServer?: string | undefined;
  /** Development keys of the devnet's roles (a local chain's well-known keys: never real funds). */
  devKeys?: Record<string, unknown> | undefined;
  [key: string]: unknown;
};

/** The network file with its paths made absolute. */
export type Network = NetworkDescription & { file: string };

const fail = (reason: string): never => {
  throw new ConfigError({ option: "--network", reason });
};

/**
 * Reads and checks a network file; paths in it come back absolute. Throws {@link ConfigError}
 * (the CLI's exit 2) for a missing file, bad JSON or a missing field.
 *
 * @example
 * const net = loadNetworkFile("runs/2026-12-08T10-00-00-000Z/network.json")
 */
export function loadNetworkFile(file: string): Network {
  const abs = path.resolve(file);
  if (!existsSync(abs)) fail(`${abs} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(abs, "utf8"));
  } catch (err) {
    fail(`${abs} is not JSON (${(err as Error).message.split("\n")[0]})`);
  }
  const n = raw as Partial<NetworkDescription>;
  if (typeof n !== "object" || n === null) return fail(`${abs} is not a network description`);
  if (n.version !== 1) fail(`${abs} has version ${String(n.version)}, expected 1`);
  if (!Array.isArray(n.rpc) || n.rpc.length === 0 || !n.rpc.every((u) => typeof u === "string")) fail(`${abs} names no "rpc" endpoint`);
  if (typeof n.deploymentsFile !== "string") fail(`${abs} names no "deploymentsFile"`);
  if (!Array.isArray(n.models)) fail(`${abs} has no "models" list`);
  const dir = path.dirname(abs);
  const models = (n.models as NetworkModel[]).map((m) => {
    if (typeof m !== "object" || m === null || !/^\d+$/.test(String(m.id))) fail(`${abs} lists a model without a decimal "id"`);
    return { ...m, id: String(m.id), ...(m.specFile ? { specFile: path.resolve(dir, m.specFile) } : {}) };
  });
  return { ...(n as NetworkDescription), models, deploymentsFile: path.resolve(dir, n.deploymentsFile as string), file: abs };
}

/** The model `id` of the network (default: its first), or undefined. */
export function networkModel(net: Network, id?: bigint | string): NetworkModel | undefined {
  if (id === undefined) return net.models[0];
  return net.models.find((m) => m.id === String(id));
}

/**
 * Values a command takes from the network file for the options it was not given: the model id
 * (the network's first model) and that model's spec file.
 */
export function networkOptionDefaults(net: Network): { model?: string; spec?: string } {
  const model = networkModel(net);
  return { ...(model ? { model: model.id } : {}), ...(model?.specFile ? { spec: model.specFile } : {}) };
}
