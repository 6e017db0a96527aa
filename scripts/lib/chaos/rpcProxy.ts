// A JSON-RPC HTTP proxy on loopback in front of a real chain endpoint, which a test can make
// misbehave the way public endpoints do: hold every request (a stall), refuse connections (a
// restart), or forward a transaction and lose its answer (a reset after the node took it).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type RpcProxy = {
  readonly url: string;
  /** Hold every request until {@link RpcProxy.thaw} (they are answered then, late). */
  freeze(): void;
  thaw(): void;
  /** Stop listening and drop every connection: new connections are refused until {@link RpcProxy.accept}. */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  /** Forward the next `eth_sendRawTransaction` to the chain, then reset the client's connection instead of answering. */
  loseNextSendAnswer(): void;
  /** Requests received, by method. */
  readonly seen: Map<string, number>;
  close(): Promise<void>;
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function forward(target: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(target, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Starts a proxy to `targetUrl` on an OS-assigned loopback port (kept across refuse/accept). */
export async function startRpcProxy(targetUrl: string): Promise<RpcProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const held: Array<() => void> = [];
  const seen = new Map<string, number>();
  let frozen = false;
  let loseSend = false;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const method = (JSON.parse(body) as { method?: string }).method ?? "batch";
    seen.set(method, (seen.get(method) ?? 0) + 1);
    if (frozen) await new Promise<void>((resolve) => held.push(resolve));
    const reply = await forward(target, body).catch(() => undefined);
    if (reply === undefined || (method === "eth_sendRawTransaction" && loseSend)) {
      loseSend = false;
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(reply);
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    freeze: () => void (frozen = true),
    thaw: () => {
      frozen = false;
      for (const release of held.splice(0)) release();
    },
    refuse: stop,
    accept: () => (server.listening ? Promise.resolve() : listen(port)),
    loseNextSendAnswer: () => void (loseSend = true),
    close: async () => {
      frozen = false;
      for (const release of held.splice(0)) release();
      if (server.listening) await stop();
    },
  };
}
