import type { Stream } from "@libp2p/interface";
import type { Address } from "viem";
import { FrameFormatError, LinkClosedError, PeerTimeoutError } from "./errors.ts";
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  type FrameKind,
  type FrameLimits,
  FRAME_HEADER_BYTES,
  UNBOUNDED_FRAME_LIMITS,
} from "./frames.ts";
import { MAX_HELLO_BYTES } from "./hello.ts";
import { adaptivePacker, type PayloadCodec } from "./wire.ts";

/** What a link saw: counted on the application stream (length prefix + frame), before noise/yamux. */
export type LinkStats = { bytesSent: number; bytesReceived: number; framesSent: number; framesReceived: number };

/** Received frames of one kind, as recorded for audits (which tensors this process ever received). */
export type ReceivedKindRecord = { count: number; payloadBytes: number };

/**
 * What a link reads before its peer is authenticated: one hello frame of at most
 * `MAX_HELLO_BYTES`, uncompressed, and nothing else (see {@link PipeLink.authenticate}).
 */
export const HELLO_FRAME_LIMITS: FrameLimits = {
  maxFrameBytes: FRAME_HEADER_BYTES + MAX_HELLO_BYTES,
  maxPayloadBytes: MAX_HELLO_BYTES,
  kinds: new Set<FrameKind>(["hello"]),
};

export type PipeLinkOptions = {
  /** What the link accepts once authenticated; default {@link UNBOUNDED_FRAME_LIMITS}. */
  limits?: FrameLimits | undefined;
  /**
   * Start unauthenticated: read only the peer's hello (within {@link HELLO_FRAME_LIMITS}) and
   * decode nothing more until {@link PipeLink.authenticate}. Default false (a trusted stream).
   */
  requireHello?: boolean | undefined;
  /**
   * Most payload bytes held for frames nobody awaits yet; a peer that runs further ahead than
   * this is treated as corrupt. Default: 64 frames of the largest payload, at most 256 MiB.
   */
  maxMailboxBytes?: number | undefined;
  /** Per-message timeout (see {@link PipeLink.receive}); default `DEFAULT_MESSAGE_TIMEOUT_MS`. */
  messageTimeoutMs?: number | undefined;
  /**
   * Lossless compression of outgoing tensor frames: "adaptive" (default, {@link adaptivePacker})
   * or "off" (every frame as it is: the baseline benchmarks compare with). Receivers accept any
   * codec either way, so the two ends need not agree.
   */
  compression?: LinkCompression | undefined;
};

/** Whether a link compresses what it sends (see {@link PipeLinkOptions.compression}). */
export type LinkCompression = "adaptive" | "off";

const uncompressed = (payload: Uint8Array): { codec: "none"; bytes: Uint8Array } => ({ codec: "none", bytes: payload });

type Waiter = { resolve: (frame: Frame) => void; reject: (err: Error) => void };

/**
 * Default per-message timeout: generous, because a neighbour may legitimately be busy for a whole
 * round of compute plus a chain submission between two frames, yet finite so that a peer that
 * holds the connection open but went silent cannot hang a stage forever.
 */
export const DEFAULT_MESSAGE_TIMEOUT_MS = 300_000;

const keyOf = (kind: FrameKind, round: bigint, microbatch: number): string => `${kind}:${round}:${microbatch}`;

/**
 * A framed, counted, bidirectional channel over one libp2p 3 stream. Frames are delivered into
 * a mailbox keyed by (kind, round, microbatch), so a schedule can await exactly the tensor it
 * needs next regardless of arrival order.
 */
export class PipeLink {
  readonly stats: LinkStats = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  /** This link's tensors are compressed only while compressing them pays (or never, with compression "off"). */
  readonly #pack: (payload: Uint8Array) => { codec: PayloadCodec; bytes: Uint8Array };
  /** Frames received per kind (a summary: a per-frame list would grow for the life of the link). */
  readonly received = new Map<FrameKind, ReceivedKindRecord>();
  private readonly mailbox = new Map<string, Frame>();
  private mailboxBytes = 0;
  private readonly maxMailboxBytes: number;
  private readonly limits: FrameLimits;
  /** The staked worker the peer's signed hello named (undefined on trusted, hello-less links). */
  peerWorker: Address | undefined;
  /** The signing key the peer's hello recovered to: the key its link receipts must be signed with. */
  peerSigner: Address | undefined;
  /** Before authentication only the hello is read; undefined once authenticated. */
  private awaitingHello: "hello" | "held" | undefined;
  private readonly waiters = new Map<string, Waiter>();
  private readonly nextWaiters = new Map<FrameKind, Waiter>();
  private readonly decoder: FrameDecoder;
  private closedError: Error | undefined;
  private readsEnded: Error | undefined;
  /** The remote finished sending cleanly (half-close or a clean close), not by reset or failure. */
  private remoteFinished = false;
  private endWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** Longest wait for one awaited frame, or for one send to drain. */
  readonly messageTimeoutMs: number;

  constructor(
    readonly stream: Stream,
    options: PipeLinkOptions = {},
  ) {
    this.messageTimeoutMs = options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS;
    this.#pack = options.compression === "off" ? uncompressed : adaptivePacker();
    this.limits = options.limits ?? UNBOUNDED_FRAME_LIMITS;
    this.maxMailboxBytes = options.maxMailboxBytes ?? Math.min(256 * 1024 * 1024, 64 * this.limits.maxPayloadBytes);
    this.awaitingHello = options.requireHello ? "hello" : undefined;
    this.decoder = new FrameDecoder(options.requireHello ? HELLO_FRAME_LIMITS : this.limits);
    // A whole GPipe round of activations may queue here before it is consumed.
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, this.limits.maxFrameBytes);
    stream.addEventListener("message", (event) => {
      const chunk = event.data.subarray();
      this.stats.bytesReceived += chunk.length;
      this.pump(chunk);
    });
    stream.addEventListener("close", (event) => {
      const error = new LinkClosedError({ reason: event.error ? "stream reset" : "stream closed", cause: event.error });
      if (!event.error && !this.readsEnded) this.remoteFinished = true;
      this.closedError ??= error;
      this.endReads(error);
    });
    // Emitted once the remote closed its writable end and every byte was delivered: nothing more
    // will arrive, though we may still send.
    stream.addEventListener("end", () => {
      if (!this.readsEnded) this.remoteFinished = true;
      this.endReads(new LinkClosedError({ reason: "the remote end finished sending" }));
    });
  }

  /**
   * The peer's hello checked out: lift the hello-only limits to the link's own and decode what
   * it sent meanwhile. Only then can tensors reach the mailbox. `peerWorker` is the staked worker
   * the hello named: the neighbour this stage's commitments name (docs/PROTOCOL.md, "Pipeline links").
   */
  authenticate(peerWorker?: Address, peerSigner?: Address): void {
    if (this.awaitingHello === undefined) return;
    this.awaitingHello = undefined;
    this.peerWorker = peerWorker;
    this.peerSigner = peerSigner;
    this.decoder.limits = this.limits;
    this.pump(new Uint8Array(0));
  }

  /**
   * Drops the link for a fault of the peer (a malformed tensor, a refused hello): resets the
   * stream and fails every waiter with `error`. The process goes on; the neighbour reconnects.
   */
  drop(error: Error): void {
    this.fail(error);
    this.stream.abort(error);
  }

  private pump(chunk: Uint8Array): void {
    if (this.readsEnded && this.closedError) return;
    try {
      if (this.awaitingHello === "held") {
        // The peer must wait for our hello before it sends more; anything it sends meanwhile is
        // kept raw (at most one hello frame's worth), never decoded.
        if (chunk.length) this.decoder.push(chunk, 0);
        if (this.decoder.pendingBytes > HELLO_FRAME_LIMITS.maxFrameBytes)
          throw new FrameFormatError("the peer sent more than its hello before it was authenticated");
        return;
      }
      const frames = this.decoder.push(chunk, this.awaitingHello ? 1 : Number.POSITIVE_INFINITY);
      if (this.awaitingHello && frames.length) this.awaitingHello = "held";
      for (const frame of frames) this.deliver(frame);
    } catch (err) {
      this.drop(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Why this link can no longer deliver frames (closed, reset, corrupt or timed out), if it cannot. */
  get ended(): Error | undefined {
    return this.readsEnded ?? this.closedError;
  }

  /**
   * Sends a frame, waiting for the stream to drain when its write buffer is full; a peer that
   * stopped reading fails the send with {@link PeerTimeoutError} after `messageTimeoutMs`.
   */
  async send(frame: Frame): Promise<void> {
    if (this.closedError) throw this.closedError;
    if (this.stream.writeStatus !== "writable") throw new LinkClosedError({ reason: `cannot send, our end is ${this.stream.writeStatus}` });
    const bytes = encodeFrame(frame, this.#pack);
    this.stats.bytesSent += bytes.length;
    this.stats.framesSent++;
    if (this.stream.send(bytes)) return;
    try {
      await this.stream.onDrain({ signal: AbortSignal.timeout(this.messageTimeoutMs) });
    } catch (err) {
      // The close listener may have set it while we waited (TypeScript still holds it undefined, from the check above).
      const closed = this.closedError as Error | undefined;
      if (closed) throw closed;
      if ((err as Error).name !== "TimeoutError" && (err as Error).name !== "AbortError") throw err;
      throw this.timedOut(
        new PeerTimeoutError({
          operation: "send",
          what: `${frame.kind} ${frame.round}/${frame.microbatch}`,
          timeoutMs: this.messageTimeoutMs,
        }),
      );
    }
  }

  /**
   * Resolves with the frame of that (kind, round, microbatch), now or when it arrives; rejects
   * with {@link PeerTimeoutError} (and aborts the link) when it does not arrive in time.
   */
  receive(kind: FrameKind, round: bigint, microbatch: number, timeoutMs = this.messageTimeoutMs): Promise<Frame> {
    const key = keyOf(kind, round, microbatch);
    const ready = this.mailbox.get(key);
    if (ready) {
      this.mailbox.delete(key);
      this.mailboxBytes -= ready.payload.length;
      return Promise.resolve(ready);
    }
    if (this.readsEnded) return Promise.reject(this.readsEnded);
    if (this.waiters.has(key)) return Promise.reject(new Error(`already waiting for ${key}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(
          this.timedOut(new PeerTimeoutError({ operation: "receive", what: `${kind} ${round}/${microbatch} from the peer`, timeoutMs })),
        );
      }, timeoutMs);
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
      this.waiters.set(key, { resolve: settle(resolve), reject: settle(reject) });
    });
  }

  /**
   * Resolves with the oldest unclaimed frame of `kind` (frames of one stream arrive in order),
   * for consumers that do not know the next (round, microbatch), such as a serving loop.
   */
  receiveNext(kind: FrameKind): Promise<Frame> {
    for (const [key, frame] of this.mailbox) {
      if (frame.kind !== kind) continue;
      this.mailbox.delete(key);
      this.mailboxBytes -= frame.payload.length;
      return Promise.resolve(frame);
    }
    if (this.readsEnded) return Promise.reject(this.readsEnded);
    if (this.nextWaiters.has(kind)) return Promise.reject(new Error(`already waiting for the next ${kind}`));
    return new Promise((resolve, reject) => this.nextWaiters.set(kind, { resolve, reject }));
  }

  /**
   * Resolves once the remote closed its sending side cleanly (it finished its work); rejects when
   * the link fails first (reset, corrupt, timed out) or with {@link PeerTimeoutError} after
   * `timeoutMs`. Lets a stage that finished stay reachable until its neighbour has finished too.
   */
  remoteDone(timeoutMs = this.messageTimeoutMs): Promise<void> {
    if (this.readsEnded) return this.remoteFinished ? Promise.resolve() : Promise.reject(this.readsEnded);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.endWaiters = this.endWaiters.filter((w) => w !== waiter);
        reject(this.timedOut(new PeerTimeoutError({ operation: "receive", what: "end of stream from the peer", timeoutMs })));
      }, timeoutMs);
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.endWaiters.push(waiter);
    });
  }

  /** Closes our writable end after pending bytes are flushed. */
  async close(): Promise<void> {
    try {
      await this.stream.close();
    } catch {
      this.stream.abort(new Error("close failed"));
    }
  }

  private deliver(frame: Frame): void {
    this.stats.framesReceived++;
    const seen = this.received.get(frame.kind) ?? { count: 0, payloadBytes: 0 };
    seen.count++;
    seen.payloadBytes += frame.payload.length;
    this.received.set(frame.kind, seen);
    const key = keyOf(frame.kind, frame.round, frame.microbatch);
    const waiter = this.waiters.get(key);
    if (waiter) {
      this.waiters.delete(key);
      waiter.resolve(frame);
      return;
    }
    const next = this.nextWaiters.get(frame.kind);
    if (next) {
      this.nextWaiters.delete(frame.kind);
      next.resolve(frame);
      return;
    }
    if (this.mailbox.has(key)) throw new FrameFormatError(`duplicate frame ${key}`);
    if (this.mailboxBytes + frame.payload.length > this.maxMailboxBytes)
      throw new FrameFormatError(
        `the peer ran ${this.mailboxBytes + frame.payload.length} bytes of unclaimed frames ahead (limit ${this.maxMailboxBytes})`,
      );
    this.mailbox.set(key, frame);
    this.mailboxBytes += frame.payload.length;
  }

  /**
   * A silent peer is treated as gone: abort the stream so the neighbour's side fails fast too,
   * and fail every other waiter with the same error.
   */
  private timedOut(error: PeerTimeoutError): PeerTimeoutError {
    this.drop(error);
    return error;
  }

  /** A corrupt stream: nothing more can be sent or received. */
  private fail(error: Error): void {
    this.closedError ??= error;
    // Nothing of a corrupt peer's is consumed any more: release what it queued.
    this.mailbox.clear();
    this.mailboxBytes = 0;
    this.endReads(error);
  }

  /** No frame will arrive any more: waiters and later receives of absent frames reject. */
  private endReads(error: Error): void {
    this.readsEnded ??= error;
    for (const waiter of [...this.waiters.values(), ...this.nextWaiters.values()]) waiter.reject(this.readsEnded);
    this.waiters.clear();
    this.nextWaiters.clear();
    for (const waiter of this.endWaiters) {
      if (this.remoteFinished) waiter.resolve();
      else waiter.reject(this.readsEnded);
    }
    this.endWaiters = [];
  }
}
