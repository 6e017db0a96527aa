import type { Libp2p } from "@libp2p/interface";
import { dialWithRetry, type DialRetryOptions } from "./node.ts";
import { PeerTimeoutError, UnexpectedPeerError } from "./errors.ts";
import { PIPE_PROTOCOL } from "./frames.ts";
import { PipeLink } from "./link.ts";

/** Identity a stage announces when it opens a link to its downstream neighbour. */
export type PipeHello = { stage: number; modelKey: string };

export type OpenPipeParameters = {
  node: Libp2p;
  stageIndex: number;
  stageCount: number;
  /** Identifies the model (e.g. its spec hash); both ends must agree. */
  modelKey: string;
  /** Multiaddr of stage `stageIndex + 1`; required unless this is the last stage. */
  nextAddress?: string | undefined;
  dial?: DialRetryOptions | undefined;
  maxFrameBytes?: number | undefined;
  /** Per-message timeout of both links (see {@link PipeLink}); default `DEFAULT_MESSAGE_TIMEOUT_MS`. */
  messageTimeoutMs?: number | undefined;
  /** Give up waiting for stage s-1 to connect after this long ({@link PeerTimeoutError}); default: wait. */
  acceptTimeoutMs?: number | undefined;
  /** Abort waiting for the upstream neighbour. */
  signal?: AbortSignal | undefined;
  /** Called when an inbound link is refused (wrong stage or model); the stage keeps waiting. */
  onRefused?: ((error: Error) => void) | undefined;
};

/** The links of one stage: `prev` to stage s-1 (absent on stage 0), `next` to s+1 (absent on the last). */
export type StagePipe = { prev?: PipeLink | undefined; next?: PipeLink | undefined };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Connects a stage to its neighbours: accepts one inbound link from stage s-1 (checked by its
 * hello) and dials stage s+1 with retries. Stage s dials s+1, so starting the processes from
 * the last stage backwards needs no retries, but any order works with them.
 *
 * @example
 * const { prev, next } = await openPipe({ node, stageIndex: 1, stageCount: 3, modelKey, nextAddress })
 */
export async function openPipe(parameters: OpenPipeParameters): Promise<StagePipe> {
  const { node, stageIndex, stageCount, modelKey } = parameters;
  const isFirst = stageIndex === 0;
  const isLast = stageIndex === stageCount - 1;
  const prevPromise = isFirst ? Promise.resolve(undefined) : acceptPrev(parameters);
  let next: PipeLink | undefined;
  if (!isLast) {
    if (!parameters.nextAddress) throw new UnexpectedPeerError(`stage ${stageIndex} of ${stageCount} needs the next stage's address`);
    const stream = await dialWithRetry(node, parameters.nextAddress, PIPE_PROTOCOL, parameters.dial);
    next = new PipeLink(stream, { maxFrameBytes: parameters.maxFrameBytes, messageTimeoutMs: parameters.messageTimeoutMs });
    const hello: PipeHello = { stage: stageIndex, modelKey };
    await next.send({ kind: "hello", round: 0n, microbatch: 0, payload: encoder.encode(JSON.stringify(hello)) });
  }
  const prev = await prevPromise;
  return { prev, next };
}

function acceptPrev(parameters: OpenPipeParameters): Promise<PipeLink> {
  const { node, stageIndex, modelKey } = parameters;
  return new Promise<PipeLink>((resolve, reject) => {
    let accepted = false;
    parameters.signal?.addEventListener("abort", () => reject(parameters.signal?.reason));
    const { acceptTimeoutMs } = parameters;
    const timer =
      acceptTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (!accepted) reject(new PeerTimeoutError({ operation: "receive", what: `link from stage ${stageIndex - 1}`, timeoutMs: acceptTimeoutMs }));
          }, acceptTimeoutMs);
    node
      .handle(PIPE_PROTOCOL, async (stream) => {
        const link = new PipeLink(stream, { maxFrameBytes: parameters.maxFrameBytes, messageTimeoutMs: parameters.messageTimeoutMs });
        try {
          const frame = await link.receive("hello", 0n, 0);
          const hello = JSON.parse(decoder.decode(frame.payload)) as Partial<PipeHello>;
          if (hello.stage !== stageIndex - 1 || hello.modelKey !== modelKey)
            throw new UnexpectedPeerError(
              `stage ${stageIndex} expects stage ${stageIndex - 1} of model ${modelKey}, got stage ${hello.stage} of ${hello.modelKey}`,
            );
          if (accepted) throw new UnexpectedPeerError(`stage ${stageIndex} already has an upstream link`);
          accepted = true;
          clearTimeout(timer);
          resolve(link);
        } catch (err) {
          // A stranger or a misconfigured peer must not take the stage down: refuse and keep waiting.
          const error = err instanceof Error ? err : new Error(String(err));
          stream.abort(error);
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
  if (typeof body.round !== "string" || !/^\d+$/.test(body.round)) throw new UnexpectedPeerError(`round agreement frame without a round: ${decoder.decode(frame.payload)}`);
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
