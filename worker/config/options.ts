import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { type Hex, isHex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { ConfigError } from "./errors.ts";
import type { BackendName } from "../backend/select.ts";
import { loadNetworkFile, type Network } from "./network.ts";

// A copy of worker/backend's list: importing that module loads tfjs, too slow for `--help`.
export const BACKEND_ORDER = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"] as const satisfies readonly BackendName[];

/** Default JSON-RPC endpoint: a local node on loopback. */
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
/** Default address book directory (`<dir>/<chainId>.json`). */
export const DEFAULT_DEPLOYMENTS = "deployments";

/** Global options as the CLI received them (flags, then environment). */
export type RawGlobalOptions = {
  /** One endpoint, or several (`--rpc` repeated): fallbacks in order. */
  rpc?: string | string[] | undefined;
  deployments?: string | undefined;
  key?: string | undefined;
  signingKey?: string | undefined;
  backend?: string | undefined;
  json?: boolean | undefined;
  /** A network file (`network.json` of `devnet --keep-running`): fills rpc and deployments. */
  network?: string | undefined;
};

/** Where the address book comes from: one file, or a directory of `<chainId>.json` files. */
export type DeploymentsLocation = { kind: "file"; path: string } | { kind: "dir"; path: string };

/** Validated global configuration. Keys are held as accounts, never echoed. */
export type GlobalConfig = {
  /** The first of `rpcUrls` (what the preflight and one-shot commands use). */
  rpcUrl: string;
  /** Every endpoint, in order of preference: the long-lived commands fall back along them. */
  rpcUrls: string[];
  deployments: DeploymentsLocation;
  /** The staking identity: sends transactions, pays gas, owns the stake. */
  account?: PrivateKeyAccount | undefined;
  /** Signs commitments; must differ from the payout key (registered in the ledger). */
  signer?: PrivateKeyAccount | undefined;
  backend?: BackendName | undefined;
  json: boolean;
  /** The `--network` file, when one was given (paths absolute). */
  network?: Network | undefined;
};

function parseKey(option: string, value: string): PrivateKeyAccount {
  const hex = (value.startsWith("0x") ? value : `0x${value}`) as Hex;
  // Never include the value in the message: it is a secret.
  if (!isHex(hex, { strict: true }) || hex.length !== 66) throw new ConfigError({ option, reason: "expected a 32-byte hex private key" });
  try {
    return privateKeyToAccount(hex);
  } catch {
    throw new ConfigError({ option, reason: "not a valid secp256k1 private key" });
  }
}

function parseRpcUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError({ option: "--rpc", reason: `"${value}" is not a URL` });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ConfigError({ option: "--rpc", reason: `only http(s) URLs are supported, got ${url.protocol}` });
  return url.toString();
}

function parseDeployments(value: string): DeploymentsLocation {
  if (value.endsWith(".json")) return { kind: "file", path: path.resolve(value) };
  if (existsSync(value) && statSync(value).isFile()) return { kind: "file", path: path.resolve(value) };
  return { kind: "dir", path: path.resolve(value) };
}

/**
 * Validates global options. Flags win over `--network FILE` (its `rpc` endpoints and
 * `deploymentsFile`), which wins over the environment (`SHARDHOLDER_RPC`, comma-separated for
 * fallbacks, `SHARDHOLDER_DEPLOYMENTS`, `SHARDHOLDER_KEY`, `SHARDHOLDER_SIGNING_KEY`, `SHARDHOLDER_BACKEND`).
 *
 * @example
 * const config = resolveGlobalConfig({ rpc: "http://127.0.0.1:8545" }, process.env)
 */
export function resolveGlobalConfig(raw: RawGlobalOptions, env: NodeJS.ProcessEnv = {}): GlobalConfig {
  const key = raw.key ?? env.SHARDHOLDER_KEY;
  const signingKey = raw.signingKey ?? env.SHARDHOLDER_SIGNING_KEY;
  const backend = raw.backend ?? env.SHARDHOLDER_BACKEND;
  if (backend !== undefined && !(BACKEND_ORDER as readonly string[]).includes(backend))
    throw new ConfigError({ option: "--backend", reason: `"${backend}" is not one of ${BACKEND_ORDER.join(", ")}` });
  const network = raw.network !== undefined ? loadNetworkFile(raw.network) : undefined;
  const noRpcFlag = raw.rpc === undefined || (Array.isArray(raw.rpc) && raw.rpc.length === 0);
  const rawRpc = !noRpcFlag
    ? [raw.rpc as string | string[]].flat()
    : network
      ? network.rpc
      : (env.SHARDHOLDER_RPC ?? DEFAULT_RPC_URL).split(",");
  const rpcUrls = rawRpc
    .map((u) => u.trim())
    .filter(Boolean)
    .map(parseRpcUrl);
  if (rpcUrls.length === 0) throw new ConfigError({ option: "--rpc", reason: "no URL given" });
  return {
    rpcUrl: rpcUrls[0] as string,
    rpcUrls,
    deployments: parseDeployments(raw.deployments ?? network?.deploymentsFile ?? env.SHARDHOLDER_DEPLOYMENTS ?? DEFAULT_DEPLOYMENTS),
    account: key ? parseKey("--key", key) : undefined,
    signer: signingKey ? parseKey("--signing-key", signingKey) : undefined,
    backend: backend as BackendName | undefined,
    json: raw.json ?? false,
    ...(network ? { network } : {}),
  };
}
