// What `devnet --keep-running` leaves for others: runs/<time>/network.json (the format is
// worker/config/network.ts's: every `shardholder` command takes it with `--network FILE`), and the
// spec server the model's metadata URI points at (`GET /specs/<specHash>.json`).
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { NetworkDescription, NetworkModel } from "../../../worker/config/network.ts";
import { specRoute } from "../../../worker/model/specSource.ts";
import { listenHttp } from "../../../worker/serve/http.ts";
import { DEV_MNEMONIC, type DevnetRoles } from "./accounts.ts";

/** An HTTP server of canonical spec texts by hash (loopback, any free port unless told). */
export async function startSpecServer(
  specs: Map<string, string>,
  { host = "127.0.0.1", port = 0 } = {},
): Promise<{ url: string; specs: Map<string, string>; close: () => Promise<void> }> {
  const route = specRoute(specs);
  const server: Server = createServer((req, res) => {
    if (!route(req, res))
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "GET /specs/<specHash>.json" }));
  });
  return { ...(await listenHttp(server, host, port)), specs };
}

/** The devnet's keys by role, named: a local chain's well-known development keys, never real funds. */
export function devKeysOf(roles: DevnetRoles): Record<string, unknown> {
  const named = (key: Hex) => ({ address: privateKeyToAccount(key).address, key });
  return {
    note: `development keys of the mnemonic "${DEV_MNEMONIC}" (Hardhat's and anvil's funded accounts): for a local chain only`,
    deployer: named(roles.deployer),
    miners: roles.miners.map(named),
    signingKeys: roles.signers.map(named),
    clients: roles.clients.map(named),
    validators: roles.validators.map(named),
    // The last stage's extra replicas (swarm mode) and their signing keys.
    replicas: roles.replicas.map((r) => ({ ...named(r.key), signingKey: r.signingKey })),
  };
}

/** Paths under `dir` are written relative to it (the run directory can be moved or copied whole). */
const relativeTo = (dir: string, file: string) => {
  const rel = path.relative(dir, file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(file) : rel;
};

/** Writes `<runDir>/network.json` and returns its path. */
export async function writeNetworkFile(
  runDir: string,
  p: {
    chainId: number;
    rpcUrl: string;
    deploymentsFile: string;
    deployments: unknown;
    model: Omit<NetworkModel, "specFile"> & { specFile: string };
    serving: { modelId: string; operator: Address; url: string }[];
    peers: { modelId: string; stage: number; worker: Address; multiaddr: string }[];
    specServer: string;
    /** The auditing validator of each stage (stage order). */
    validators: Address[];
    roles: DevnetRoles;
  },
): Promise<string> {
  const description: NetworkDescription = {
    version: 1,
    createdAt: new Date().toISOString(),
    chainId: p.chainId,
    rpc: [p.rpcUrl],
    deploymentsFile: relativeTo(runDir, p.deploymentsFile),
    deployments: p.deployments,
    models: [{ ...p.model, specFile: relativeTo(runDir, p.model.specFile) }],
    serving: p.serving,
    peers: p.peers,
    specServer: p.specServer,
    validators: p.validators,
    devKeys: devKeysOf(p.roles),
  };
  const file = path.join(runDir, "network.json");
  await writeFile(file, `${JSON.stringify(description, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
  return path.resolve(file);
}
