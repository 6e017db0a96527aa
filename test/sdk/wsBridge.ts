import { WebSocketServer, type WebSocket } from "ws";

type Provider = { request(args: { method: string; params?: unknown[] | object }): Promise<unknown> };
type Call = { id: number | string | null; method: string; params?: unknown[] };

const toJson = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x));

/**
 * A JSON-RPC WebSocket server on loopback in front of an in-process chain, with `eth_subscribe`
 * for `newHeads` (the in-process provider has no push, so heads are detected by polling it).
 */
export async function serveWebSocketRpc(provider: Provider, { pollMs = 20 } = {}) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const timers = new Set<ReturnType<typeof setInterval>>();
  let nextSubscription = 1;
  server.on("connection", (socket: WebSocket) => {
    const mine = new Map<string, ReturnType<typeof setInterval>>();
    const onMessage = async (raw: Buffer) => {
      const call = JSON.parse(raw.toString()) as Call;
      const reply = (body: object) => socket.send(toJson({ jsonrpc: "2.0", id: call.id, ...body }));
      try {
        if (call.method === "eth_subscribe" && call.params?.[0] === "newHeads") {
          const id = `0x${(nextSubscription++).toString(16)}`;
          let last = await provider.request({ method: "eth_blockNumber" });
          const poll = async () => {
            const now = await provider.request({ method: "eth_blockNumber" });
            if (now === last) return;
            last = now;
            const head = await provider.request({ method: "eth_getBlockByNumber", params: [now, false] });
            socket.send(toJson({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: id, result: head } }));
          };
          const timer = setInterval(() => void poll().catch(() => socket.close()), pollMs);
          mine.set(id, timer);
          timers.add(timer);
          reply({ result: id });
        } else if (call.method === "eth_unsubscribe") {
          const id = String(call.params?.[0]);
          const timer = mine.get(id);
          if (timer) clearInterval(timer);
          mine.delete(id);
          reply({ result: timer !== undefined });
        } else {
          reply({ result: (await provider.request({ method: call.method, params: call.params ?? [] })) ?? null });
        }
      } catch (error) {
        const e = error as { code?: number; message?: string; data?: unknown };
        reply({ error: { code: e.code ?? -32603, message: e.message ?? String(error), data: e.data } });
      }
    };
    // A message that fails outside the JSON-RPC error reply (a call that is not JSON) closes the socket.
    socket.on("message", (raw: Buffer) => void onMessage(raw).catch(() => socket.close()));
    socket.on("close", () => {
      for (const t of mine.values()) clearInterval(t);
    });
  });
  const address = server.address();
  const port = typeof address === "string" ? 0 : address.port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const c of server.clients) c.close();
        server.close(() => resolve());
      }),
  };
}
