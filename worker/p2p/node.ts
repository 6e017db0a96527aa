import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import type { Connection, Libp2p, PrivateKey, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { PeerUnreachableError } from "./errors.ts";

/** Loopback with an OS-assigned port: the default, so tests never leave 127.0.0.1. */
export const DEFAULT_LISTEN = "/ip4/127.0.0.1/tcp/0";

export type CreatePipeNodeParameters = {
  /** Multiaddrs to listen on; default {@link DEFAULT_LISTEN}. */
  listen?: string[] | undefined;
  /** Fixed libp2p identity; a fresh Ed25519 key when omitted. */
  privateKey?: PrivateKey | undefined;
};

/**
 * A libp2p node with exactly the stack the pipeline uses: TCP, noise encryption, yamux muxing.
 *
 * @example
 * const node = await createPipeNode({ listen: ["/ip4/127.0.0.1/tcp/0"] })
 * console.log(node.getMultiaddrs().map(String))
 */
export async function createPipeNode(parameters: CreatePipeNodeParameters = {}): Promise<Libp2p> {
  return createLibp2p({
    ...(parameters.privateKey ? { privateKey: parameters.privateKey } : {}),
    addresses: { listen: parameters.listen ?? [DEFAULT_LISTEN] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A stage blocks its event loop for seconds inside synchronous tfjs kernels, so heartbeat
    // pongs arrive late; libp2p's default then aborts the whole connection mid-round (seen in
    // the benchmark as "The operation was aborted due to timeout"). Keep measuring RTT, never
    // abort on it: a dead peer still shows up as a closed or reset stream.
    connectionMonitor: { abortConnectionOnPingFailure: false },
  });
}

export type DialRetryOptions = {
  /** Total attempts including the first; default 6. */
  attempts?: number | undefined;
  /** Delay before the second attempt, doubled after each failure; default 100 ms. */
  baseDelayMs?: number | undefined;
  /** Cap of the delay between attempts; default 2000 ms. */
  maxDelayMs?: number | undefined;
  /** Timeout of each single attempt; default 5000 ms. */
  attemptTimeoutMs?: number | undefined;
  /** Called after each failed attempt (for progress logs). */
  onRetry?: ((info: { attempt: number; delayMs: number; error: Error }) => void) | undefined;
};

/** Delay before attempt `attempt + 1` (1-based `attempt`): exponential, capped. */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
}

/**
 * Opens a stream of `protocol` to the peer at `address` (with or without a `/p2p/<id>` suffix),
 * retrying with exponential backoff; throws {@link PeerUnreachableError} when all attempts fail.
 *
 * @example
 * const stream = await dialWithRetry(node, "/ip4/127.0.0.1/tcp/4001", PIPE_PROTOCOL, { attempts: 8 })
 */
export async function dialWithRetry(node: Libp2p, address: string, protocol: string, options: DialRetryOptions = {}): Promise<Stream> {
  return (await dialConnectionWithRetry(node, address, protocol, options)).stream;
}

/**
 * {@link dialWithRetry} that also returns the connection, whose `remotePeer` noise authenticated
 * (the pipe's hello must name that peer id).
 */
export async function dialConnectionWithRetry(
  node: Libp2p,
  address: string,
  protocol: string,
  options: DialRetryOptions = {},
): Promise<{ stream: Stream; connection: Connection }> {
  const attempts = options.attempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 2000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
  const target = multiaddr(address);
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const signal = AbortSignal.timeout(attemptTimeoutMs);
      const connection = await node.dial(target, { signal });
      return { stream: await connection.newStream(protocol, { signal }), connection };
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (attempt === attempts) break;
      const delayMs = backoffDelayMs(attempt, baseDelayMs, maxDelayMs);
      options.onRetry?.({ attempt, delayMs, error: lastError });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  throw new PeerUnreachableError({ address, attempts, cause: lastError });
}
