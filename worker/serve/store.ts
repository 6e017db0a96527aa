// Off-chain side of an inference: the escrow only stores `inputHash`, and `fulfill` only the
// `outputHash`. The serving operator runs this small content-addressed HTTP store, speaking the
// endpoint protocol of sdk/protocol/servingEndpoint.ts (the client uploads before paying), and
// announces its URL in the ServingDirectory. Both hashes are keccak256 of the UTF-8 bytes, so
// either side can check what it received.
import { createServer, type Server, type ServerResponse } from "node:http";
import { specRoute } from "../model/specSource.ts";
import type { Hex } from "viem";
import { type EndpointStreamEvent, endpointPaths, MAX_PROMPT_BYTES, textHash } from "../../sdk/protocol/servingEndpoint.ts";
import { handleAsync, listenHttp, readBody } from "./http.ts";
import { OutputStreams } from "./outputStreams.ts";
import type { ServingLog } from "./servingRecord.ts";

/** Answers `GET /serving/<requestId>` and `GET /serving/payloads/<hash>` from `log`; false for any other path. */
function servingRoute(log: ServingLog, url: string, res: ServerResponse): boolean {
  const record = /^\/serving\/(\d+)$/.exec(url);
  const payload = /^\/serving\/payloads\/(0x[0-9a-fA-F]{64})$/.exec(url);
  if (!record && !payload) return false;
  const found = record ? log.record(BigInt(record[1] as string)) : undefined;
  const bytes = payload ? log.payload(payload[1] as Hex) : undefined;
  if (record && found) {
    const body = JSON.stringify(found, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  } else if (bytes) res.writeHead(200, { "content-type": "application/octet-stream" }).end(bytes);
  else res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not served here (or forgotten)" }));
  return true;
}

/** Prompts by input hash and outputs by request id; bounded so a flood cannot grow it forever. */
export class ContentStore {
  private readonly inputs = new Map<Hex, string>();
  private readonly outputs = new Map<string, { output: string; outputHash: Hex }>();
  private readonly waiters = new Map<Hex, ((prompt: string) => void)[]>();
  private readonly streams = new OutputStreams();

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
    this.streams.end(requestId, { done: true, outputHash });
    return outputHash;
  }

  getOutput(requestId: bigint): { output: string; outputHash: Hex } | undefined {
    return this.outputs.get(requestId.toString());
  }

  /** A piece of `requestId`'s text was generated (streamed to subscribers before the output is final). */
  appendPartial(requestId: bigint, text: string): void {
    this.streams.append(requestId, text);
  }

  /** The operator gave `requestId` up (e.g. its deadline passed): subscribers are told and the partial text dropped. */
  abandon(requestId: bigint, reason: string): void {
    this.streams.end(requestId, { abandoned: reason });
  }

  /**
   * Follows `requestId`'s text: replays a finished output at once, else what was generated so far
   * followed by every new piece and the end. Returns the unsubscribe function.
   */
  follow(requestId: bigint, listener: (event: EndpointStreamEvent) => void): () => void {
    const done = this.getOutput(requestId);
    if (done) {
      listener({ text: done.output });
      listener({ done: true, outputHash: done.outputHash });
      return () => {};
    }
    return this.streams.subscribe(requestId, listener);
  }
}

/** `GET /outputs/<id>/stream`: NDJSON lines of {@link EndpointStreamEvent} until the end, the client leaving or `maxStreamMs`. */
function streamOutput(store: ContentStore, requestId: bigint, res: ServerResponse, maxStreamMs: number): void {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  const finish = (): void => {
    clearTimeout(timer);
    unsubscribe();
    res.end();
  };
  const timer = setTimeout(finish, maxStreamMs);
  let ended = false;
  const unsubscribe = store.follow(requestId, (event) => {
    if (ended) return;
    res.write(`${JSON.stringify(event)}\n`);
    if (!("text" in event)) {
      ended = true;
      // After `follow` returned: a finished output replays synchronously, before `unsubscribe` exists.
      queueMicrotask(finish);
    }
  });
  res.on("close", () => {
    clearTimeout(timer);
    unsubscribe();
  });
}

/**
 * Browser dapps call the endpoint from their own origin: every answer allows any origin (the store
 * holds only public, content-addressed text and takes no credentials), and the preflight of a
 * `PUT /inputs` is answered.
 */
const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, PUT, OPTIONS",
  "access-control-allow-headers": "content-type",
  "access-control-max-age": "600",
} as const;

/**
 * Serves `store` over HTTP (default: loopback, port 0 = any free port). With `specs` (canonical
 * spec texts by lower-case hash) it also answers `GET /specs/<hash>.json`, so a miner can fetch
 * the model's spec from an announced endpoint and check it against the chain.
 */
export async function serveContentStore(
  store: ContentStore,
  {
    host = "127.0.0.1",
    port = 0,
    maxPromptBytes = MAX_PROMPT_BYTES,
    maxStreamMs = 300_000,
    specs,
    serving,
  }: {
    host?: string | undefined;
    port?: number | undefined;
    maxPromptBytes?: number;
    maxStreamMs?: number;
    specs?: ReadonlyMap<string, string> | undefined;
    /** Stage 0's serving records: `GET /serving/<requestId>` (JSON) and `GET /serving/payloads/<hash>` (bytes), for validators. */
    serving?: ServingLog | undefined;
  } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const spec = specs ? specRoute(specs) : undefined;
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const server: Server = createServer(
    handleAsync(async (req, res) => {
      const url = req.url ?? "/";
      for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
      if (req.method === "OPTIONS") return void res.writeHead(204).end();
      if (req.method === "GET" && url === endpointPaths.health) return json(res, 200, { maxPromptBytes });
      if (spec?.(req, res)) return;
      if (req.method === "PUT" && url === endpointPaths.inputs) {
        const body = (await readBody(req, maxPromptBytes))?.toString("utf8");
        if (body === undefined) return json(res, 413, { error: `prompt longer than ${maxPromptBytes} bytes` });
        return json(res, 200, { inputHash: store.putInput(body) });
      }
      if (serving && req.method === "GET" && servingRoute(serving, url, res)) return;
      const streamMatch = /^\/outputs\/(\d+)\/stream$/.exec(url);
      if (req.method === "GET" && streamMatch) return streamOutput(store, BigInt(streamMatch[1] as string), res, maxStreamMs);
      const match = /^\/outputs\/(\d+)$/.exec(url);
      if (req.method === "GET" && match) {
        const requestId = BigInt(match[1] as string);
        const found = store.getOutput(requestId);
        return found ? json(res, 200, { requestId: requestId.toString(), ...found }) : json(res, 404, { error: "not fulfilled here" });
      }
      json(res, 404, { error: "PUT /inputs, GET /outputs/<requestId>[/stream], GET /specs/<specHash>.json or GET /health" });
    }),
  );
  return listenHttp(server, host, port);
}
