import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { type Address, type Hex, zeroAddress } from "viem";
import type { PipelineNeighbours } from "../journal/records.ts";
import { backoffDelayMs, dialConnectionWithRetry, type DialRetryOptions } from "./node.ts";
import { LinkClosedError, PeerTimeoutError, UnexpectedPeerError } from "./errors.ts";
import { type FrameLimits, PIPE_PROTOCOL } from "./frames.ts";
import { type PipeAuth, signHello, verifyHello } from "./hello.ts";
import { DEFAULT_MESSAGE_TIMEOUT_MS, type LinkCompression, PipeLink } from "./link.ts";

export type OpenPipeParameters = {
  node: Libp2p;
  stageIndex: number;
  stageCount: number;
  /** The model's spec hash (bytes32); both ends must agree, and it is signed into the hello. */
  modelKey: Hex;
  /** Who this stage is and which neighbours it accepts (docs/PROTOCOL.md, "Stage links"). */
  auth: PipeAuth;
  /** What the links accept once authenticated: e.g. `tensorFrameLimits([microbatch, context, dModel])`. */
  limits: FrameLimits;
  /** Most bytes of frames a neighbour may queue ahead of their use (see {@link PipeLink}); default 64 frames. */
  maxMailboxBytes?: number | undefined;
  /** Multiaddr of stage `stageIndex + 1`; required unless this is the last stage. */
  nextAddress?: string | undefined;
  dial?: DialRetryOptions | undefined;
  /** Per-message timeout of both links (see {@link PipeLink}); default `DEFAULT_MESSAGE_TIMEOUT_MS`. */
  messageTimeoutMs?: number | undefined;
  /** Lossless compression of what this stage sends; default "adaptive" (see `PipeLinkOptions`). */
  compression?: LinkCompression | undefined;
  /** Give up waiting for stage s-1 to connect after this long ({@link PeerTimeoutError}); default: wait. */
  acceptTimeoutMs?: number | undefined;
  /** How long a connecting peer has to present its hello before it is dropped; default 60 s (the dialer waits `messageTimeoutMs` for the listener's, which may ask the chain first). */
  helloTimeoutMs?: number | undefined;
  /** Abort waiting for the upstream neighbour. */
  signal?: AbortSignal | undefined;
  /** Called when an inbound link is refused (bad hello, wrong stage or model, second upstream link); the stage keeps waiting. */
  onRefused?: ((error: Error) => void) | undefined;
};

/** The links of one stage: `prev` to stage s-1 (absent on stage 0), `next` to s+1 (absent on the last). */
export type StagePipe = { prev?: PipeLink | undefined; next?: PipeLink | undefined };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const DEFAULT_HELLO_TIMEOUT_MS = 60_000;

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

function newLink(stream: Stream, parameters: Omit<OpenPipeParameters, "nextAddress">): PipeLink {
  return new PipeLink(stream, {
    limits: parameters.limits,
    requireHello: true,
    messageTimeoutMs: parameters.messageTimeoutMs,
    maxMailboxBytes: parameters.maxMailboxBytes,
    compression: parameters.compression,
  });
}

async function sendHello(link: PipeLink, node: Libp2p, parameters: Omit<OpenPipeParameters, "nextAddress">): Promise<void> {
  const { auth } = parameters;
  const payload = await signHello(auth.signer, auth.domain, {
    modelId: auth.modelId,
    specHash: parameters.modelKey,
    stage: parameters.stageIndex,
    worker: auth.worker,
    peerId: node.peerId.toMultihash().bytes,
  });
  await link.send({ kind: "hello", round: 0n, microbatch: 0, payload });
}

/** Waits for the peer's hello on `link`, checks it, and only then lets the link decode more. */
async function receiveHello(
  link: PipeLink,
  connection: Connection,
  stage: number,
  parameters: Omit<OpenPipeParameters, "nextAddress">,
  timeoutMs: number,
): Promise<void> {
  const frame = await link.receive("hello", 0n, 0, timeoutMs);
  const hello = await verifyHello(parameters.auth, {
    payload: frame.payload,
    specHash: parameters.modelKey,
    stage,
    remotePeer: connection.remotePeer,
  });
  link.authenticate(hello.worker, hello.signer);
}

/**
 * Connects a stage to its neighbours: accepts one inbound link from stage s-1 and dials stage
 * s+1 with retries. Both ends open with a signed hello (docs/PROTOCOL.md, "Stage links"):
 * the dialer sends its own, the listener checks it and answers with its own, which the dialer
 * checks; until then a link decodes nothing but that one small frame. Stage s dials s+1, so
 * starting the processes from the last stage backwards needs no retries, but any order works.
 *
 * @example
 * const { prev, next } = await openPipe({ node, stageIndex: 1, stageCount: 3, modelKey, auth, limits: tensorFrameLimits([16, 64, 128]), nextAddress })
 */
export async function openPipe(parameters: OpenPipeParameters): Promise<StagePipe> {
  const { stageIndex, stageCount } = parameters;
  const isFirst = stageIndex === 0;
  const isLast = stageIndex === stageCount - 1;
  const prevPromise = isFirst ? Promise.resolve(undefined) : acceptPrev(parameters);
  // Settled here so a failed dial below does not leave an unhandled rejection behind.
  prevPromise.catch(() => undefined);
  let next: PipeLink | undefined;
  if (!isLast) {
    if (!parameters.nextAddress) throw new UnexpectedPeerError(`stage ${stageIndex} of ${stageCount} needs the next stage's address`);
    next = await dialNext(parameters, parameters.nextAddress);
  }
  const prev = await prevPromise;
  return { prev, next };
}

/**
 * Dials every member of stage s+1 (one authenticated link each) when that stage has replicas:
 * the stage routes each microbatch to one of them (worker/pipeline/replicas.ts). Each replica
 * accepts this stage as its one upstream link, as in {@link openPipe}.
 *
 * @example
 * const replicas = await dialReplicas({ node, stageIndex: 0, stageCount: 2, modelKey, auth, limits }, [addressA, addressB])
 */
export async function dialReplicas(parameters: Omit<OpenPipeParameters, "nextAddress">, addresses: readonly string[]): Promise<PipeLink[]> {
  return Promise.all(addresses.map((address) => dialNext(parameters, address)));
}

/**
 * Dials stage s+1 and exchanges hellos. A link the listener resets before answering (it still
 * holds a stale upstream link, or restarted) is dialled again within the dial budget; a hello
 * that fails verification is a misconfiguration and fails at once.
 */
async function dialNext(parameters: Omit<OpenPipeParameters, "nextAddress">, address: string): Promise<PipeLink> {
  const dial = parameters.dial ?? {};
  const attempts = dial.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    const { stream, connection } = await dialConnectionWithRetry(parameters.node, address, PIPE_PROTOCOL, dial);
    const link = newLink(stream, parameters);
    try {
      await sendHello(link, parameters.node, parameters);
      // The listener answers after checking our hello (on a chain, for a real stage): give it the
      // per-message timeout, like any frame a busy neighbour owes us.
      await receiveHello(
        link,
        connection,
        parameters.stageIndex + 1,
        parameters,
        parameters.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS,
      );
      return link;
    } catch (err) {
      const error = asError(err);
      link.drop(error);
      const retryable = error instanceof LinkClosedError || error instanceof PeerTimeoutError;
      if (!retryable || attempt >= attempts) throw error;
      const delayMs = backoffDelayMs(attempt, dial.baseDelayMs ?? 100, dial.maxDelayMs ?? 2000);
      dial.onRetry?.({ attempt, delayMs, error });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Accepts the one upstream link of a stage (the hello exchange of {@link openPipe}) without
 * dialing anything: a replica of the last stage, or a stage that dials its replicas itself.
 */
export function acceptUpstream(parameters: Omit<OpenPipeParameters, "nextAddress">): Promise<PipeLink> {
  return acceptPrev(parameters);
}

function acceptPrev(parameters: Omit<OpenPipeParameters, "nextAddress">): Promise<PipeLink> {
  const { node, stageIndex } = parameters;
  return new Promise<PipeLink>((resolve, reject) => {
    let accepted = false;
    parameters.signal?.addEventListener("abort", () => reject(parameters.signal?.reason));
    const { acceptTimeoutMs } = parameters;
    const timer =
      acceptTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (!accepted)
              reject(new PeerTimeoutError({ operation: "receive", what: `link from stage ${stageIndex - 1}`, timeoutMs: acceptTimeoutMs }));
          }, acceptTimeoutMs);
    node
      .handle(PIPE_PROTOCOL, async (stream, connection) => {
        const link = newLink(stream, parameters);
        try {
          if (accepted) throw new UnexpectedPeerError(`stage ${stageIndex} already has an upstream link`);
          await receiveHello(link, connection, stageIndex - 1, parameters, parameters.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
          if (accepted) throw new UnexpectedPeerError(`stage ${stageIndex} already has an upstream link`);
          accepted = true;
          clearTimeout(timer);
          // A failed answer leaves a dropped link, which the caller sees on first use (a lost peer).
          await sendHello(link, node, parameters).catch((err: unknown) => link.drop(asError(err)));
          resolve(link);
        } catch (err) {
          // A stranger or a misconfigured peer must not take the stage down: refuse and keep waiting.
          const error = asError(err);
          link.drop(error);
          parameters.onRefused?.(error);
        }
      })
      .catch(reject);
  });
}

/** Round-agreement frames ride on the hello kind, keyed apart from the opening hello (microbatch 0). */
const AGREE_UP = 1;
const AGREE_DOWN = 2;

async function sendRound(link: PipeLink, microbatch: number, round: bigint): Promise<void> {
  await link.send({ kind: "hello", round: 0n, microbatch, payload: encoder.encode(JSON.stringify({ round: round.toString() })) });
}

async function receiveRound(link: PipeLink, microbatch: number): Promise<bigint> {
  const frame = await link.receive("hello", 0n, microbatch);
  const body = JSON.parse(decoder.decode(frame.payload)) as { round?: unknown };
  if (typeof body.round !== "string" || !/^\d+$/.test(body.round))
    throw new UnexpectedPeerError(`round agreement frame without a round: ${decoder.decode(frame.payload)}`);
  return BigInt(body.round);
}

/**
 * Agrees on the first round every stage of the pipeline runs: the minimum of the stages' `need`
 * (each stage's first round that is not durable in its own journal). The minimum travels from
 * stage 0 to the last stage and the result back, so all stages, not only neighbours, agree.
 * A stage that already holds the agreed round durably reruns it in lockstep without journaling.
 *
 * @example
 * const first = await agreeFirstRound(pipe, 4n)
 */
export async function agreeFirstRound(pipe: StagePipe, need: bigint): Promise<bigint> {
  let low = need;
  if (pipe.prev) {
    const upstream = await receiveRound(pipe.prev, AGREE_UP);
    if (upstream < low) low = upstream;
  }
  if (pipe.next) {
    await sendRound(pipe.next, AGREE_UP, low);
    low = await receiveRound(pipe.next, AGREE_DOWN);
  }
  if (pipe.prev) await sendRound(pipe.prev, AGREE_DOWN, low);
  return low;
}

/** End-of-work markers, on the hello kind like the agreement: "every stage below me is durable" travels up, "every stage is durable" down. */
const DONE_BELOW = 3;
const DONE_ALL = 4;

/**
 * Waits until every stage of the pipeline has made its last round durable, passing two markers:
 * "this stage and every one after it is done" from the last stage to stage 0, then "all are
 * done" from stage 0 back down. A closed or reset stream is never read as "finished" (a
 * neighbour killed in the last round closes its connection too, and must find us there when it
 * restarts to rerun that round): only the markers end a session, and a link that fails before
 * they arrive is a lost peer like any other (the caller reconnects). Resolves on every stage
 * only after all of them reported done, so nobody leaves while another may still need a rerun.
 *
 * @example
 * await finishPipeline(pipe) // after trainRounds, before closing the links
 */
export async function finishPipeline(pipe: StagePipe): Promise<void> {
  if (pipe.next) await receiveRound(pipe.next, DONE_BELOW);
  if (pipe.prev) {
    await sendRound(pipe.prev, DONE_BELOW, 0n);
    await receiveRound(pipe.prev, DONE_ALL);
  }
  if (pipe.next) await sendRound(pipe.next, DONE_ALL, 0n);
}

/**
 * The staked workers behind a pipe's links, from their signed hellos: what the round's commitment
 * names as `upstream`/`downstream` (docs/PROTOCOL.md, "Pipeline links"); the zero address where the
 * stage is an end of the pipeline.
 *
 * @example
 * const { upstream, downstream } = pipeNeighbours(pipe)
 */
export function pipeNeighbours(pipe: StagePipe): PipelineNeighbours {
  const named = (link: PipeLink | undefined, side: string): Address => {
    if (!link) return zeroAddress;
    if (!link.peerWorker) throw new Error(`the ${side} link has no authenticated worker to name in the commitment`);
    return link.peerWorker;
  };
  return { upstream: named(pipe.prev, "upstream"), downstream: named(pipe.next, "downstream") };
}
