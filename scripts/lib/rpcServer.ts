import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAsync } from "../../worker/serve/http.ts";

/** The one method of an EIP-1193 provider the server needs. */
export interface RequestProvider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[] | object;
}

/** A JSON-RPC HTTP server on loopback in front of an in-process chain. */
export interface RpcServer {
  readonly url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function errorMessage(error: unknown): { code: number; message: string; data?: unknown } {
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  return {
    code: typeof e.code === "number" ? e.code : -32603,
    message: typeof e.message === "string" ? e.message : String(error),
    ...(e.data !== undefined ? { data: e.data } : {}),
  };
}

async function answer(provider: RequestProvider, call: JsonRpcRequest) {
  try {
    const result = await provider.request(
      call.params === undefined ? { method: call.method } : { method: call.method, params: call.params },
    );
    return { jsonrpc: "2.0", id: call.id, result: result ?? null };
  } catch (error) {
    return { jsonrpc: "2.0", id: call.id, error: errorMessage(error) };
  }
}

/**
 * Serves `provider` over HTTP JSON-RPC (single and batch calls) on `host:port` (port 0 picks a
 * free one). Hardhat 3 keeps its own node server internal, and the devnet needs the in-process
 * chain reachable from the miner processes, so this small bridge stands in front of it.
 */
export async function serveRpc(provider: RequestProvider, { host = "127.0.0.1", port = 0 } = {}): Promise<RpcServer> {
  const server: Server = createServer(
    handleAsync(async (req, res) => {
      if (req.method !== "POST") {
        res.writeHead(405, { "content-type": "text/plain" }).end("JSON-RPC over POST only\n");
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }));
        return;
      }
      const reply = Array.isArray(body)
        ? await Promise.all(body.map((call) => answer(provider, call as JsonRpcRequest)))
        : await answer(provider, body as JsonRpcRequest);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(reply, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
    }),
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
