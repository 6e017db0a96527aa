// The app's small server: the built page, its configuration, a same-origin JSON-RPC proxy to the
// chain (so any node works, with or without CORS, and a node that stops answering is reported as
// such), and the miners' loss reports. Bound to loopback unless told otherwise.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { devKey } from "../../scripts/lib/devnet/accounts.ts";
import { defaultDistDir, ensureAppBuilt } from "./build.ts";
import { readLossReports } from "./lossReports.ts";
import { readBody } from "../../worker/serve/http.ts";

/** Hardhat's and anvil's development chain: the only chain whose dev keys the page may hold. */
export const DEV_CHAIN_ID = 31337;

/** A development key the page offers in its "dev account" picker, with what the account does. */
export type DevKey = { key: Hex; label?: string | undefined };

export type StartAppOptions = {
  /** The chain's JSON-RPC endpoint (the page reaches it through the app's `/rpc`). */
  rpcUrl: string;
  /** The chain's address book. */
  deployments: Deployments;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string | undefined;
  /**
   * Keys for the page's dev-account picker: only on chain 31337, whose dev keys are public.
   * Default there: Hardhat's 20 well-known accounts; elsewhere none (passing some is an error).
   */
  devKeys?: readonly (Hex | DevKey)[] | undefined;
  /** Loss reports to offer (`runs/<time>/summary.json` or files of the same fields). */
  lossFiles?: readonly string[] | undefined;
  /** A folder of runs (`<runsDir>/<time>/summary.json`), scanned on every request. */
  runsDir?: string | undefined;
  /** Rebuild the page even when app/dist looks fresh. */
  rebuild?: boolean | undefined;
  distDir?: string | undefined;
  log?: ((message: string) => void) | undefined;
};

export type RunningApp = { url: string; close(): Promise<void> };

/** What the page reads from `/config.json`. */
export type AppConfigJson = {
  chainId: number;
  deployments: Deployments;
  rpc: { path: string; upstream: string };
  devAccounts: { address: string; key: Hex; label: string }[];
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

function devAccounts(chainId: number, keys: StartAppOptions["devKeys"]): AppConfigJson["devAccounts"] {
  if (chainId !== DEV_CHAIN_ID) {
    if (keys?.length)
      throw new Error(
        `dev keys are offered only on chain ${DEV_CHAIN_ID} (Hardhat/anvil, whose keys are public); this address book is for chain ${chainId}.`,
      );
    return [];
  }
  const list = keys ?? Array.from({ length: 20 }, (_, i): DevKey => ({ key: devKey(i), label: `dev account ${i}` }));
  return list.map((k, i) => {
    const { key, label } = typeof k === "string" ? { key: k, label: undefined } : k;
    return { key, address: privateKeyToAccount(key).address, label: label ?? `dev account ${i}` };
  });
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));

/** Forwards one JSON-RPC POST to the chain; a chain that does not answer is a 502 naming it. */
async function proxyRpc(upstream: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") return void json(res, 405, { error: "JSON-RPC over POST only" });
  const body = await readBody(req, 8 * 1024 * 1024);
  if (body === undefined) return void json(res, 413, { error: "request too large" });
  try {
    const answer = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json", "cache-control": "no-store" });
    res.end(Buffer.from(await answer.arrayBuffer()));
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    json(res, 502, {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32603, message: `Cannot reach the chain's JSON-RPC endpoint ${upstream} (${reason}).` },
    });
  }
}

/** Serves a file of the build; unknown paths without an extension get the page (one-page app). */
async function serveStatic(distDir: string, urlPath: string, res: ServerResponse): Promise<void> {
  const clean = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  let file = path.resolve(distDir, `.${clean === "/" ? "/index.html" : clean}`);
  if (!file.startsWith(distDir + path.sep)) return void json(res, 403, { error: "outside the app" });
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile() && path.extname(file) === "") {
    file = path.join(distDir, "index.html");
    info = await stat(file).catch(() => undefined);
  }
  if (!info?.isFile()) return void json(res, 404, { error: `no ${clean}` });
  const immutable = clean.startsWith("/assets/");
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
    "content-length": info.size,
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
  });
  createReadStream(file).pipe(res);
}

/**
 * Starts the app against a chain and its address book: builds the page if needed and serves it
 * with `/config.json`, `/rpc` (proxy to `rpcUrl`) and `/api/loss` (the loss reports).
 *
 * @example
 * const app = await startApp({ rpcUrl: "http://127.0.0.1:8545", deployments, port: 0 });
 * console.log(`open ${app.url}`); // ... later: await app.close()
 */
export async function startApp(options: StartAppOptions): Promise<RunningApp> {
  const distDir = path.resolve(options.distDir ?? defaultDistDir);
  const { deployments, rpcUrl } = options;
  const config: AppConfigJson = {
    chainId: deployments.chainId,
    deployments,
    rpc: { path: "/rpc", upstream: rpcUrl },
    devAccounts: devAccounts(deployments.chainId, options.devKeys),
  };
  await ensureAppBuilt({ distDir, rebuild: options.rebuild, log: options.log });
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    const route = url.split("?")[0];
    const handle = async () => {
      if (route === "/rpc") return proxyRpc(rpcUrl, req, res);
      if (route === "/config.json") return json(res, 200, config);
      if (route === "/api/loss")
        return json(res, 200, { reports: await readLossReports({ files: options.lossFiles, runsDir: options.runsDir }) });
      if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "GET only" });
      return serveStatic(distDir, url, res);
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
