// Serving over the stage pipeline: forward-only, one request at a time, every frame signed
// (docs/PROTOCOL.md "Verified inference"). Stage 0 owns the prompt and the generated ids: it opens a
// request with `inferBegin` (its input hash and positions), sends activations forward hop by hop as
// `inferActivation`; the last stage draws the token with the request's seed and sends it back as
// `inferToken`, which every middle stage relays unchanged towards stage 0 (links only join
// neighbours). After its last position each stage signs its ServingCommitment and sends it back
// (`inferCommitment`, relayed too); stage 0 gathers them, in stage order, for the fulfilment.
import * as tf from "@tensorflow/tfjs";
import { type Hex, hexToBytes } from "viem";
import { NO_SAMPLING, type ServingCommitment, signServingCommitment } from "../../sdk/protocol/serving.ts";
import { type DecodingModel, decodingModel, nextToken, tokenWindow } from "../model/generate.ts";
import type { ModelSpec } from "../model/spec.ts";
import { FrameFormatError, LinkClosedError } from "../p2p/errors.ts";
import type { Frame } from "../p2p/frames.ts";
import type { PipeLink } from "../p2p/link.ts";
import type { StagePipe } from "../p2p/pipe.ts";
import { decodeWireTensor, encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import type { PipelineStage } from "../pipeline/types.ts";
import { requestSampling, type SamplingTerms } from "./sampling.ts";
import {
  BEGIN_POSITION,
  checkFrameSignature,
  checkServingKey,
  decodeBeginPayload,
  encodeCommitmentPayload,
  readCommitment,
  ServingFrameRefusedError,
  type ServingIdentity,
  signedFrame,
} from "./servingFrames.ts";
import { commitmentOf, ServingLog, type ServingRecord } from "./servingRecord.ts";

/** `u32 LE` token id: the payload of an `inferToken` frame (exactly 4 bytes). */
export function encodeTokenPayload(token: number): Uint8Array {
  if (!Number.isInteger(token) || token < 0 || token > 0xffff_ffff) throw new RangeError(`token id ${token} is not a u32`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, token, true);
  return out;
}

/** The token id of an `inferToken` payload; throws `FrameFormatError` unless it is 4 bytes. */
export function decodeTokenPayload(payload: Uint8Array): number {
  if (payload.length !== 4) throw new FrameFormatError(`inferToken payload of ${payload.length} bytes, expected 4 (u32 LE)`);
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
}

/** One serving stage: its shard, its links, its signing identity and what it keeps. */
export type ServingStage = {
  stage: PipelineStage;
  pipe: StagePipe;
  wire: WireFormat;
  identity: ServingIdentity;
  /** How the stage that holds the logits (the last) draws; greedy when absent. The seed is the request's. */
  sampling?: SamplingTerms | undefined;
  /** Where the stage records what it served (default: a log of the last request only). */
  log?: ServingLog | undefined;
  /** Told of every frame or commitment refused (bad or missing signature, malformed). */
  onRefused?: ((error: ServingFrameRefusedError) => void) | undefined;
};

/** The canonical wire bytes of an activation: the payload sent, signed and committed. */
function activationPayload(y: tf.Tensor, wire: WireFormat): Uint8Array {
  return encodeWireTensor(y.shape, y.dataSync() as Float32Array, wire).bytes;
}

/** Signs and records stage `s`'s commitment over `record`. */
async function commit(p: ServingStage, record: ServingRecord, sampling: Hex): Promise<{ commitment: ServingCommitment; signature: Hex }> {
  const { identity } = p;
  const commitment = commitmentOf(record, { weightsRoot: identity.weightsRoot, sampling });
  const signature = await signServingCommitment(identity.account, identity.context, record.requestId, record.stage, commitment);
  p.log?.committed(record.requestId, commitment, signature);
  return { commitment, signature };
}

/** `check`, reporting a refusal to `onRefused` before rethrowing it. */
async function reporting<T>(p: Pick<ServingStage, "onRefused">, check: Promise<T>): Promise<T> {
  try {
    return await check;
  } catch (err) {
    if (err instanceof ServingFrameRefusedError) p.onRefused?.(err);
    throw err;
  }
}

/** The next frame of `kind`, or undefined once the link closed. */
async function nextOrClosed(link: PipeLink, kind: Frame["kind"]): Promise<Frame | undefined> {
  try {
    return await link.receiveNext(kind);
  } catch (err) {
    if (err instanceof LinkClosedError) return undefined;
    throw err;
  }
}

/**
 * Serves one request on stage s > 0 from its checked `inferBegin`: relays the begin, runs each
 * position's activation (signed by stage s-1's operator), sends its output (forward, or the drawn
 * token back on the last stage) signed, then its signed commitment upstream.
 */
async function serveRequest(p: ServingStage, log: ServingLog, begin: Frame, onServed: () => void): Promise<void> {
  const { identity, pipe, stage, wire } = p;
  const s = stage.index;
  const prev = pipe.prev as PipeLink;
  const next = pipe.next;
  await checkFrameSignature(identity, begin, 0, BEGIN_POSITION);
  const inputHash = decodeBeginPayload(begin);
  const { round: requestId, microbatch: positions } = begin;
  if (next) await next.send(begin);
  const record = log.begin(requestId, s, inputHash);
  const sampling = next ? undefined : requestSampling(p.sampling, requestId, inputHash);
  for (let position = 0; position < positions; position++) {
    const frame = await prev.receive("inferActivation", requestId, position);
    await checkFrameSignature(identity, frame, s - 1, position);
    const { shape, values } = decodeWireTensor(frame.payload);
    const x = tf.tensor(values, shape, "float32");
    const y = stage.infer(x);
    x.dispose();
    let out: Frame;
    try {
      out = next
        ? await signedFrame(identity, s, "inferActivation", requestId, position, activationPayload(y, wire))
        : await signedFrame(
            identity,
            s,
            "inferToken",
            requestId,
            position,
            encodeTokenPayload(nextToken(y, sampling?.parameters, requestId, position)),
          );
    } finally {
      y.dispose();
    }
    log.served(requestId, frame.payload, out.payload);
    await (next ?? prev).send(out);
    onServed();
  }
  const { commitment, signature } = await commit({ ...p, log }, record, sampling?.hash ?? NO_SAMPLING);
  await prev.send({ kind: "inferCommitment", round: requestId, microbatch: s, payload: encodeCommitmentPayload(commitment, signature) });
}

/**
 * Serves a stage s > 0 until its upstream link closes: one request after another from their
 * `inferBegin`, and, on a middle stage, relays the last stage's tokens (checked) and the
 * downstream commitments towards stage 0. A refused frame (not signed by the operator it must
 * come from) is reported to `onRefused` and drops both links: the pipeline cannot go on with a
 * neighbour that sends it. Resolves with how many activations it ran, how many tokens it relayed
 * and how many frames it refused.
 */
export async function serveDownstreamStage(p: ServingStage): Promise<{ served: number; relayed: number; refused: number }> {
  const { pipe, identity, stage } = p;
  const prev = pipe.prev;
  if (!prev) throw new Error("serveDownstreamStage runs on stages after the first");
  checkServingKey(identity, stage.index);
  const log = p.log ?? new ServingLog(1);
  const last = identity.stageOperators.length - 1;
  const next = pipe.next;
  let served = 0;
  let relayed = 0;
  let refused = 0;
  const refuse = (err: ServingFrameRefusedError): void => {
    refused++;
    p.onRefused?.(err);
    prev.drop(err);
    next?.drop(err);
  };
  const forward = async (): Promise<void> => {
    for (;;) {
      try {
        const begin = await nextOrClosed(prev, "inferBegin");
        if (!begin) return;
        await serveRequest(p, log, begin, () => served++);
      } catch (err) {
        if (refused > 0) return; // the links were dropped over a refused frame (here or in a relay)
        if (err instanceof ServingFrameRefusedError) return refuse(err);
        if (err instanceof LinkClosedError || prev.ended) return;
        throw err;
      }
    }
  };
  // Stage 0 gone while something was on its way back: the forward loop ends on the same close.
  const toPrev = (frame: Frame) =>
    prev.send(frame).catch((err: unknown) => {
      if (!(err instanceof LinkClosedError)) throw err;
    });
  const relayTokens = async (link: PipeLink): Promise<void> => {
    for (let frame = await nextOrClosed(link, "inferToken"); frame; frame = await nextOrClosed(link, "inferToken")) {
      try {
        await checkFrameSignature(identity, frame, last, frame.microbatch);
      } catch (err) {
        if (err instanceof ServingFrameRefusedError && refused === 0) return refuse(err);
        throw err;
      }
      await toPrev(frame);
      relayed++;
    }
  };
  const relayCommitments = async (link: PipeLink): Promise<void> => {
    for (let frame = await nextOrClosed(link, "inferCommitment"); frame; frame = await nextOrClosed(link, "inferCommitment"))
      await toPrev(frame);
  };
  // Once this stage dropped its links over a refused frame, the loops end on that error: not a failure.
  const relays = next
    ? Promise.all([relayTokens(next), relayCommitments(next)]).then(
        () => undefined,
        (err: unknown) => {
          if (refused === 0) throw err;
        },
      )
    : Promise.resolve();
  // Stage 0 closes only after every commitment came back, so nothing is left to relay then.
  await forward();
  await next?.close();
  await relays;
  // Done both ways: the stage before sees this link end (a middle stage's relays end on it).
  await prev.close();
  return { served, relayed, refused };
}

/** A request as stage 0 serves it: its id (the frames' `round`), its input hash and its prompt's token ids. */
export type ServingRequest = { requestId: bigint; inputHash: Hex; prompt: ArrayLike<number> };

/** What stage 0 gets for a request: the generated ids and every stage's signed commitment, in stage order. */
export type PipelineAnswer = { tokens: number[]; commitments: ServingCommitment[]; signatures: Hex[] };

/**
 * Generates `maxNewTokens` token ids after the request's prompt, every position through every
 * stage process: stage 0 runs the window, the last stage draws the token with the request's seed
 * (greedy without sampling terms) and it comes back as a signed `inferToken` frame, checked
 * against the last stage's operator. Then gathers every stage's commitment, each checked against
 * its operator. Equals `generateTokens` of worker/model/generate.ts on the same stages with the
 * same `wire` and the request's sampling. Requests on one pipe must not overlap.
 * Throws {@link ServingFrameRefusedError} (also told to `onRefused`) for a frame or commitment not
 * signed by the operator it must come from.
 *
 * @example
 * const { tokens, commitments, signatures } = await generateThroughPipeline(head, decodingModel(spec), { requestId, inputHash, prompt }, 12)
 */
export async function generateThroughPipeline(
  head: ServingStage,
  model: DecodingModel,
  request: ServingRequest,
  maxNewTokens: number,
  onToken?: (token: number) => void,
): Promise<PipelineAnswer> {
  const { stage, pipe, wire, identity } = head;
  if (stage.index !== 0) throw new Error("generation is driven by stage 0");
  checkServingKey(identity, 0);
  const { requestId, inputHash } = request;
  const last = identity.stageOperators.length - 1;
  const log = head.log ?? new ServingLog(1);
  const record = log.begin(requestId, 0, inputHash);
  const next = pipe.next;
  const sampling = requestSampling(head.sampling, requestId, inputHash);
  if (next) await next.send(await signedFrame(identity, 0, "inferBegin", requestId, BEGIN_POSITION, hexToBytes(inputHash), maxNewTokens));
  const ids = Array.from(request.prompt);
  const generated: number[] = [];
  for (let position = 0; position < maxNewTokens; position++) {
    const x = tokenWindow(model, ids);
    const y = stage.infer(x);
    x.dispose();
    let token: number;
    if (!next) {
      token = nextToken(y, sampling.parameters, requestId, position);
      y.dispose();
      log.served(requestId, undefined, encodeTokenPayload(token));
    } else {
      let payload: Uint8Array;
      try {
        payload = activationPayload(y, wire);
      } finally {
        y.dispose();
      }
      const frame = await signedFrame(identity, 0, "inferActivation", requestId, position, payload);
      // Waiting before sending: the answer may arrive before `send` resolves.
      const answer = next.receive("inferToken", requestId, position);
      await next.send(frame);
      log.served(requestId, undefined, payload);
      const back = await answer;
      await reporting(head, checkFrameSignature(identity, back, last, position));
      token = decodeTokenPayload(back.payload);
    }
    ids.push(token);
    generated.push(token);
    onToken?.(token);
  }
  const own = await commit({ ...head, log }, record, next ? NO_SAMPLING : sampling.hash);
  const commitments = [own.commitment];
  const signatures = [own.signature];
  for (let s = 1; s <= last; s++) {
    const frame = await (next as PipeLink).receive("inferCommitment", requestId, s);
    const { commitment, signature } = await reporting(head, readCommitment(identity, frame, maxNewTokens));
    commitments.push(commitment);
    signatures.push(signature);
  }
  return { tokens: generated, commitments, signatures };
}

/** Text generated for a request, with every stage's signed commitment (what `fulfillInference` takes). */
export type GeneratedAnswer = { text: string; commitments: ServingCommitment[]; signatures: Hex[] };

/**
 * Stage 0 of a serving pipeline: generates text for a request through every stage process.
 * Requests are serialized (their ids key their frames).
 */
export class PipelineGenerator {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly model: DecodingModel;

  constructor(private readonly head: ServingStage & { spec: ModelSpec }) {
    if (head.stage.index !== 0) throw new Error("PipelineGenerator runs on stage 0");
    this.model = decodingModel(head.spec);
  }

  /**
   * Continuation of the request's `prompt`, `maxNewTokens` characters long (drawn with the request's
   * seed, greedy without sampling terms); `onText` sees each token's text as soon as the last stage picked it.
   */
  generate(
    request: { requestId: bigint; inputHash: Hex; prompt: string },
    maxNewTokens: number,
    onText?: (text: string) => void,
  ): Promise<GeneratedAnswer> {
    const run = this.queue.then(() => this.run(request, maxNewTokens, onText));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(
    request: { requestId: bigint; inputHash: Hex; prompt: string },
    maxNewTokens: number,
    onText?: (text: string) => void,
  ): Promise<GeneratedAnswer> {
    const { tokenizer } = this.model;
    const onToken = onText && ((token: number) => onText(tokenizer.decode([token])));
    const { tokens, commitments, signatures } = await generateThroughPipeline(
      this.head,
      this.model,
      { ...request, prompt: tokenizer.encode(request.prompt) },
      maxNewTokens,
      onToken,
    );
    return { text: tokenizer.decode(tokens), commitments, signatures };
  }
}
