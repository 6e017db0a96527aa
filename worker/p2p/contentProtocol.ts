import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import { bytesToHex, type Hex, hexToBytes } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { type ContentKind, contentKinds, contentMatches, type ContentStore } from "./content.ts";
import { backoffDelayMs, dialWithRetry, type DialRetryOptions } from "./node.ts";

/**
 * libp2p protocol id of content fetches: request `u8 kind | bytes32 key | u16 LE helloLength |
 * hello`, response `u8 status | u32 LE length | bytes` (docs/PROTOCOL.md).
 */
export const CONTENT_PROTOCOL = "/shardholder/fetch/2.0.0";

const STATUS_OK = 0;
const STATUS_NOT_FOUND = 1;
/** The content reveals the stage's weights and the requester did not prove membership of the stage. */
const STATUS_REFUSED = 2;
const REQUEST_HEAD_BYTES = 35;
/** Largest hello a request may carry (a hello is ~170 bytes). */
const MAX_REQUEST_HELLO_BYTES = 4096;

/** Content that reveals a stage's parameters: served only to members of that stage. */
export const STAGE_PRIVATE_KINDS: ReadonlySet<ContentKind> = new Set(["weights", "gradient"]);

/**
 * Decides whether a requester may have stage-private content: `hello` is the signed hello it sent
 * with the request (undefined when none), `remotePeer` the peer id noise authenticated.
 */
export type ContentGate = (request: { kind: ContentKind; hello: Uint8Array | undefined; remotePeer: PeerId }) => Promise<boolean>;
/** Largest response accepted (64 MiB): a bigger announced length is treated as hostile. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const kindByCode = new Map<number, ContentKind>(Object.entries(contentKinds).map(([k, v]) => [v, k as ContentKind]));

/** The miner did not serve the content (absent, withheld, unreachable, timed out, or wrong bytes). */
export class ContentUnavailableError extends BaseError {
  readonly reason: "not-found" | "refused" | "mismatch" | "unreachable" | "timeout" | "protocol";
  constructor({
    kind,
    key,
    reason,
    cause,
  }: {
    kind: ContentKind;
    key: Hex;
    reason: ContentUnavailableError["reason"];
    cause?: Error | undefined;
  }) {
    super(`The ${kind} content ${key} was not served: ${reason}.`, { name: "ContentUnavailableError", cause });
    this.reason = reason;
  }
}

/** Reads the whole stream into one buffer, stopping as soon as `complete` says enough arrived. */
function collect(stream: Stream, complete: (bytes: Uint8Array) => boolean, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let length = 0;
    const concat = (): Uint8Array => {
      const out = new Uint8Array(length);
      let offset = 0;
      for (const p of parts) {
        out.set(p, offset);
        offset += p.length;
      }
      return out;
    };
    const timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
    const done = (bytes: Uint8Array): void => {
      clearTimeout(timer);
      resolve(bytes);
    };
    stream.addEventListener("message", (event) => {
      const chunk = event.data.subarray();
      parts.push(chunk);
      length += chunk.length;
      const bytes = concat();
      if (complete(bytes)) done(bytes);
    });
    stream.addEventListener("close", () => {
      clearTimeout(timer);
      const bytes = concat();
      if (complete(bytes)) resolve(bytes);
      else reject(new Error("stream closed before a complete message"));
    });
  });
}

async function sendAll(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain();
}

/** Bytes of a request whose head is complete: the head plus its announced hello (0 while unknown). */
function requestLength(b: Uint8Array): number {
  if (b.length < REQUEST_HEAD_BYTES) return 0;
  const helloLength = new DataView(b.buffer, b.byteOffset).getUint16(33, true);
  if (helloLength > MAX_REQUEST_HELLO_BYTES) throw new Error(`a request hello of ${helloLength} bytes`);
  return REQUEST_HEAD_BYTES + helloLength;
}

/**
 * Serves `store` on {@link CONTENT_PROTOCOL}: one request per stream, answered with the bytes
 * (checked at insertion), "not found", or, for {@link STAGE_PRIVATE_KINDS} when `gate` refuses
 * the requester, "refused" (weights never leave their stage). Without a gate (tools without a
 * chain) everything is served.
 *
 * @example
 * await serveContent(node, store, { gate: stageContentGate({ ... }) })
 */
export async function serveContent(node: Libp2p, store: ContentStore, options: { gate?: ContentGate | undefined } = {}): Promise<void> {
  await node.handle(CONTENT_PROTOCOL, async (stream, connection) => {
    try {
      const request = await collect(stream, (b) => requestLength(b) !== 0 && b.length >= requestLength(b), 10_000);
      const kind = kindByCode.get(request[0] as number);
      const key = bytesToHex(request.subarray(1, 33));
      const helloBytes = request.subarray(REQUEST_HEAD_BYTES, requestLength(request));
      const hello = helloBytes.length ? helloBytes : undefined;
      const refused =
        kind !== undefined &&
        options.gate !== undefined &&
        STAGE_PRIVATE_KINDS.has(kind) &&
        !(await options.gate({ kind, hello, remotePeer: connection.remotePeer }));
      const bytes = kind && !refused ? store.get(kind, key) : undefined;
      const header = new Uint8Array(5);
      header[0] = refused ? STATUS_REFUSED : bytes ? STATUS_OK : STATUS_NOT_FOUND;
      new DataView(header.buffer).setUint32(1, bytes?.length ?? 0, true);
      await sendAll(stream, header);
      if (bytes) await sendAll(stream, bytes);
      await stream.close();
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

export type FetchContentParameters = {
  node: Libp2p;
  /** Multiaddr of the miner (with `/p2p/<id>`). */
  address: string;
  kind: ContentKind;
  key: Hex;
  timeoutMs?: number | undefined;
  dial?: DialRetryOptions | undefined;
  /**
   * This node's signed hello (`signHello`: its staking identity, stage and peer id), sent with the
   * request: a miner serves weights and gradients only to members of its own stage.
   */
  hello?: Uint8Array | undefined;
};

/**
 * Fetches (`kind`, `key`) from a miner and checks the bytes against the key; any failure is a
 * {@link ContentUnavailableError} (a miner that does not serve a committed input loses the dispute).
 *
 * @example
 * const bytes = await fetchContent({ node, address, kind: "tensor", key: leaf.inputActHash })
 */
export async function fetchContent(p: FetchContentParameters): Promise<Uint8Array> {
  const timeoutMs = p.timeoutMs ?? 10_000;
  let stream: Stream;
  try {
    stream = await dialWithRetry(p.node, p.address, CONTENT_PROTOCOL, p.dial ?? { attempts: 2, baseDelayMs: 50 });
  } catch (err) {
    throw new ContentUnavailableError({ kind: p.kind, key: p.key, reason: "unreachable", cause: err as Error });
  }
  const hello = p.hello ?? new Uint8Array(0);
  const request = new Uint8Array(REQUEST_HEAD_BYTES + hello.length);
  request[0] = contentKinds[p.kind];
  request.set(hexToBytes(p.key), 1);
  new DataView(request.buffer).setUint16(33, hello.length, true);
  request.set(hello, REQUEST_HEAD_BYTES);
  let response: Uint8Array;
  try {
    const reading = collect(
      stream,
      (b) => {
        if (b.length < 5) return false;
        if (b[0] !== STATUS_OK) return true;
        const length = new DataView(b.buffer, b.byteOffset).getUint32(1, true);
        if (length > MAX_RESPONSE_BYTES) throw new Error("response too large");
        return b.length >= 5 + length;
      },
      timeoutMs,
    );
    await sendAll(stream, request);
    response = await reading;
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)));
    const reason = err instanceof Error && err.message === "timeout" ? "timeout" : "protocol";
    throw new ContentUnavailableError({ kind: p.kind, key: p.key, reason, cause: err as Error });
  }
  await stream.close().catch(() => undefined);
  if (response[0] === STATUS_REFUSED) throw new ContentUnavailableError({ kind: p.kind, key: p.key, reason: "refused" });
  if (response[0] !== STATUS_OK) throw new ContentUnavailableError({ kind: p.kind, key: p.key, reason: "not-found" });
  const length = new DataView(response.buffer, response.byteOffset).getUint32(1, true);
  const bytes = response.slice(5, 5 + length);
  if (!contentMatches(p.kind, p.key, bytes)) throw new ContentUnavailableError({ kind: p.kind, key: p.key, reason: "mismatch" });
  return bytes;
}

/** Default time an auditor keeps asking before it judges content unavailable (see {@link fetchContentWithin}). */
export const DEFAULT_AVAILABILITY_DEADLINE_MS = 120_000;

export type FetchContentWithinParameters = FetchContentParameters & {
  /** Give up (and judge the content unavailable) this long after the first attempt; default 120 s. */
  deadlineMs?: number | undefined;
  /** Delay before the second attempt, doubled after each failure (with jitter); default 250 ms. */
  baseDelayMs?: number | undefined;
  /** Cap of the delay between attempts; default 10 s. */
  maxDelayMs?: number | undefined;
  /** Called after each failed attempt that will be retried (for progress logs). */
  onRetry?: ((info: { attempt: number; delayMs: number; error: ContentUnavailableError }) => void) | undefined;
  /** Source of jitter in [0, 1); default `Math.random` (tests pass a fixed one). */
  random?: (() => number) | undefined;
};

/**
 * {@link fetchContent} that rides out a miner's restart or a network blip: retries with
 * exponential backoff and jitter (each delay drawn in `[d/2, d]`) until `deadlineMs` after the
 * first attempt, each attempt's timeout cut to the time left. Only then is the content judged
 * unavailable: the last {@link ContentUnavailableError} is thrown. Bytes that do not match their
 * key (`mismatch`) are final at once: the miner answered, with the wrong content.
 *
 * @example
 * const bytes = await fetchContentWithin({ node, address, kind: "items", key, deadlineMs: 60_000, onRetry: ({ attempt, delayMs }) => log.warn({ attempt, delayMs }, "miner not serving yet") })
 */
export async function fetchContentWithin(p: FetchContentWithinParameters): Promise<Uint8Array> {
  const deadlineMs = p.deadlineMs ?? DEFAULT_AVAILABILITY_DEADLINE_MS;
  const baseDelayMs = p.baseDelayMs ?? 250;
  const maxDelayMs = p.maxDelayMs ?? 10_000;
  const random = p.random ?? Math.random;
  const deadline = performance.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - performance.now();
    try {
      // One dial per attempt: the backoff between attempts is ours, not the dialer's.
      return await fetchContent({
        ...p,
        timeoutMs: Math.max(1, Math.min(p.timeoutMs ?? 10_000, left)),
        dial: p.dial ?? { attempts: 1, attemptTimeoutMs: Math.max(1, Math.min(5_000, left)) },
      });
    } catch (err) {
      if (!(err instanceof ContentUnavailableError) || err.reason === "mismatch") throw err;
      const ceiling = backoffDelayMs(attempt, baseDelayMs, maxDelayMs);
      const delayMs = Math.round(ceiling / 2 + (random() * ceiling) / 2);
      if (performance.now() + delayMs >= deadline) throw err;
      p.onRetry?.({ attempt, delayMs, error: err });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
