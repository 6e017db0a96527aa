// The two pieces every small HTTP server of the project needs (the serving store, the devnet's
// spec server, the web app's server): a bounded request body, and listening with a clean close.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The request body, or undefined as soon as it passes `limitBytes` (the caller answers 413). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The request listener of an async handler. A handler that throws (a client that hangs up
 * mid-body, say) gets a 500, or its connection dropped if the answer had started, instead of an
 * unhandled rejection that would end the process.
 */
export function handleAsync(handler: (req: IncomingMessage, res: ServerResponse) => Promise<unknown>): RequestListener {
  return (req, res) => {
    handler(req, res).catch(() => {
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "internal error" }));
    });
  };
}

/** Listens on `host:port` (0: any free port) and returns the URL and a close that drops open connections. */
export async function listenHttp(server: Server, host: string, port: number): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
