// What the app's server tells the page: the chain, its address book, where to reach it, and (on
// chain 31337 only) the public development keys for the dev-account picker.
import type { Address, Hex } from "viem";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";

export type DevAccount = { address: Address; key: Hex; label: string };

export type AppConfig = {
  chainId: number;
  deployments: Deployments;
  /** Absolute URL of the app's JSON-RPC proxy (same origin as the page). */
  rpcUrl: string;
  /** The chain's own endpoint behind the proxy (shown when it does not answer). */
  upstreamRpc: string;
  devAccounts: DevAccount[];
};

type ConfigJson = {
  chainId: number;
  deployments: unknown;
  rpc: { path: string; upstream: string };
  devAccounts: { address: Address; key: Hex; label: string }[];
};

/** Reads `/config.json` from the app's server. */
export async function loadConfig(origin = window.location.origin): Promise<AppConfig> {
  const res = await fetch(new URL("/config.json", origin), { cache: "no-store" });
  if (!res.ok) throw new Error(`The app's server answered /config.json with HTTP ${res.status}.`);
  const json = (await res.json()) as ConfigJson;
  return {
    chainId: json.chainId,
    deployments: parseDeployments(json.deployments, "/config.json"),
    rpcUrl: new URL(json.rpc.path, origin).toString(),
    upstreamRpc: json.rpc.upstream,
    devAccounts: json.devAccounts,
  };
}
