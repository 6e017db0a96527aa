// Off-chain side of an inference: the escrow only stores `inputHash`, and `fulfill` only the
// `outputHash`. The serving operator runs this small content-addressed HTTP store, speaking the
// endpoint protocol of sdk/protocol/servingEndpoint.ts (the client uploads before paying), and
// announces its URL in the ServingDirectory. Both hashes are keccak256 of the UTF-8 bytes, so
// either side can check what it received.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { endpointPaths, MAX_PROMPT_BYTES, textHash } from "../../sdk/protocol/servingEndpoint.ts";

/** Prompts by input hash and outputs by request id; bounded so a flood cannot grow it forever. */
export class ContentStore {
  private readonly inputs = new Map<Hex, string>();
  private readonly outputs = new Map<string, { output: string; outputHash: Hex }>();
  private readonly waiters = new Map<Hex, ((prompt: string) => void)[]>();

  constructor(private readonly maxEntries = 10_000) {}

  putInput(prompt: string): Hex {
    const hash = textHash(prompt);
    if (this.inputs.size >= this.maxEntries) this.inputs.delete(this.inputs.keys().next().value as Hex);
    this.inputs.set(hash, prompt);
    for (const resolve of this.waiters.get(hash) ?? []) resolve(prompt);
    this.waiters.delete(hash);
    return hash;
  }

  /** The prompt of `inputHash`, waiting up to `timeoutMs` for the client to upload it. */
  waitInput(inputHash: Hex, timeoutMs: number): Promise<string | undefined> {
    const known = this.inputs.get(inputHash.toLowerCase() as Hex);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const key = inputHash.toLowerCase() as Hex;
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const list = this.waiters.get(key) ?? [];
      list.push((p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.waiters.set(key, list);
    });
  }

  putOutput(requestId: bigint, output: string): Hex {
    const outputHash = textHash(output);
    if (this.outputs.size >= this.maxEntries) this.outputs.delete(this.outputs.keys().next().value as string);
    this.outputs.set(requestId.toString(), { output, outputHash });
    return outputHash;
  }

  getOutput(requestId: bigint): { output: string; outputHash: Hex } | undefined {
    return this.outputs.get(requestId.toString());
  }
}

async function readBody(req: IncomingMessage, limitBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Serves `store` over HTTP (default: loopback, port 0 = any free port). */
export async function serveContentStore(store: ContentStore, { host = "127.0.0.1", port = 0, maxPromptBytes = MAX_PROMPT_BYTES } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server: Server = createServer(async (req, res) => {
    const url = req.url ?? "/";
    if (req.method === "GET" && url === endpointPaths.health) return json(res, 200, { maxPromptBytes });
    if (req.method === "PUT" && url === endpointPaths.inputs) {
      const body = await readBody(req, maxPromptBytes);
      if (body === undefined) return json(res, 413, { error: `prompt longer than ${maxPromptBytes} bytes` });
      return json(res, 200, { inputHash: store.putInput(body) });
    }
    const match = /^\/outputs\/(\d+)$/.exec(url);
    if (req.method === "GET" && match) {
      const requestId = BigInt(match[1] as string);
      const found = store.getOutput(requestId);
      return found ? json(res, 200, { requestId: requestId.toString(), ...found }) : json(res, 404, { error: "not fulfilled here" });
    }
    json(res, 404, { error: "PUT /inputs, GET /outputs/<requestId> or GET /health" });
  });
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
