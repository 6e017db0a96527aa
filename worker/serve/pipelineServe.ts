// Serving over the stage pipeline: forward-only, one request at a time, greedy or seeded sampling.
// Stage 0 owns the prompt and the generated ids; activations go forward hop by hop as
// `inferActivation` frames; the last stage picks the token and sends it back as `inferToken`,
// which every middle stage relays towards stage 0 (links only join neighbours).
import * as tf from "@tensorflow/tfjs";
import { type DecodingModel, decodingModel, nextToken, type SamplingParameters, tokenWindow } from "../model/generate.ts";
import type { ModelSpec } from "../model/spec.ts";
import { FrameFormatError, LinkClosedError } from "../p2p/errors.ts";
import type { Frame } from "../p2p/frames.ts";
import type { PipeLink } from "../p2p/link.ts";
import type { StagePipe } from "../p2p/pipe.ts";
import { decodeWireTensor, encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import type { PipelineStage } from "../pipeline/types.ts";

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

async function sendActivation(link: PipeLink, y: tf.Tensor, seq: bigint, position: number, wire: WireFormat): Promise<void> {
  const { bytes } = encodeWireTensor(y.shape, y.dataSync() as Float32Array, wire);
  await link.send({ kind: "inferActivation", round: seq, microbatch: position, payload: bytes });
}

/**
 * Runs one received activation through this stage; the last stage answers with the next token
 * (greedy, or drawn for (`seq`, `position`)), sent back upstream; any other stage forwards its output downstream.
 */
async function handleActivation(
  stage: PipelineStage,
  pipe: StagePipe,
  wire: WireFormat,
  seq: bigint,
  position: number,
  payload: Uint8Array,
  sampling?: SamplingParameters,
): Promise<void> {
  const { shape, values } = decodeWireTensor(payload);
  const x = tf.tensor(values, shape, "float32");
  const y = stage.infer(x);
  x.dispose();
  try {
    if (pipe.next) await sendActivation(pipe.next, y, seq, position, wire);
    else
      await (pipe.prev as PipeLink).send({
        kind: "inferToken",
        round: seq,
        microbatch: position,
        payload: encodeTokenPayload(nextToken(y, sampling, seq, position)),
      });
  } finally {
    y.dispose();
  }
}

/** Reads frames of `kind` until the link closes; any other failure (corrupt frame, timeout) is thrown. */
async function untilClosed(link: PipeLink, kind: "inferActivation" | "inferToken", handle: (frame: Frame) => Promise<void>): Promise<void> {
  for (;;) {
    let frame: Frame;
    try {
      frame = await link.receiveNext(kind);
    } catch (err) {
      if (err instanceof LinkClosedError) return;
      throw err;
    }
    await handle(frame);
  }
}

/**
 * Serves a stage s > 0 until its upstream link closes: forward loop for activations and, on a
 * middle stage, a relay loop for tokens coming back. Resolves when the pipeline shuts down, with
 * how many activations it ran and how many tokens it relayed towards stage 0.
 */
export async function serveDownstreamStage({
  stage,
  pipe,
  wire,
  sampling,
}: {
  stage: PipelineStage;
  pipe: StagePipe;
  wire: WireFormat;
  sampling?: SamplingParameters | undefined;
}): Promise<{ served: number; relayed: number }> {
  const prev = pipe.prev;
  if (!prev) throw new Error("serveDownstreamStage runs on stages after the first");
  let served = 0;
  let relayed = 0;
  const forward = untilClosed(prev, "inferActivation", async (frame) => {
    await handleActivation(stage, pipe, wire, frame.round, frame.microbatch, frame.payload, sampling);
    served++;
  });
  const next = pipe.next;
  const relay = next
    ? untilClosed(next, "inferToken", async (frame) => {
        // Stage 0 gone while a token was on its way back: the forward loop ends on the same close.
        await prev.send(frame).catch((err: unknown) => {
          if (!(err instanceof LinkClosedError)) throw err;
        });
        relayed++;
      })
    : Promise.resolve();
  // Stage 0 closes only after its last token came back, so nothing is left to relay then.
  await forward;
  await next?.close();
  await relay;
  return { served, relayed };
}

/** Stage 0's end of a serving pipeline: its shard, its link downstream, and how tokens are chosen. */
export type PipelineHead = { stage: PipelineStage; pipe: StagePipe; wire: WireFormat; sampling?: SamplingParameters | undefined };

/**
 * Generates `maxNewTokens` token ids after `prompt` as request `seq`, every position through every
 * stage process: stage 0 runs the window, the last stage picks the token (greedy, or drawn for
 * (`seq`, position)) and it comes back as an `inferToken` frame. Equals `generateTokens` of
 * worker/model/generate.ts on the same stages with the same `wire`.
 * Requests on one pipe must not overlap (frames are keyed by `seq` and position).
 *
 * @example
 * const ids = await generateThroughPipeline({ stage, pipe, wire: "int8" }, decodingModel(spec), tokenizer.encode("The jury"), 12, 0n)
 */
export async function generateThroughPipeline(
  head: PipelineHead,
  model: DecodingModel,
  prompt: ArrayLike<number>,
  maxNewTokens: number,
  seq: bigint,
  onToken?: (token: number) => void,
): Promise<number[]> {
  const { stage, pipe, wire, sampling } = head;
  if (stage.index !== 0) throw new Error("generation is driven by stage 0");
  const ids = Array.from(prompt);
  const generated: number[] = [];
  for (let position = 0; position < maxNewTokens; position++) {
    const x = tokenWindow(model, ids);
    const y = stage.infer(x);
    x.dispose();
    let token: number;
    if (!pipe.next) {
      token = nextToken(y, sampling, seq, position);
      y.dispose();
    } else {
      // Waiting before sending: the answer may arrive before `send` resolves.
      const answer = pipe.next.receive("inferToken", seq, position);
      try {
        await sendActivation(pipe.next, y, seq, position, wire);
      } finally {
        y.dispose();
      }
      token = decodeTokenPayload((await answer).payload);
    }
    ids.push(token);
    generated.push(token);
    onToken?.(token);
  }
  return generated;
}

/**
 * Stage 0 of a serving pipeline: generates text for a prompt through every stage process.
 * Requests are serialized (sequence numbers identify their frames).
 */
export class PipelineGenerator {
  private seq = 0n;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly model: DecodingModel;

  constructor(private readonly head: PipelineHead & { spec: ModelSpec }) {
    if (head.stage.index !== 0) throw new Error("PipelineGenerator runs on stage 0");
    this.model = decodingModel(head.spec);
  }

  /**
   * Continuation of `prompt`, `maxNewTokens` characters long (greedy unless the head samples);
   * `onText` sees each token's text as soon as the last stage picked it.
   */
  generate(prompt: string, maxNewTokens: number, onText?: (text: string) => void): Promise<string> {
    const run = this.queue.then(() => this.run(prompt, maxNewTokens, onText));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(prompt: string, maxNewTokens: number, onText?: (text: string) => void): Promise<string> {
    const { tokenizer } = this.model;
    const onToken = onText && ((token: number) => onText(tokenizer.decode([token])));
    const ids = await generateThroughPipeline(this.head, this.model, tokenizer.encode(prompt), maxNewTokens, this.seq++, onToken);
    return tokenizer.decode(ids);
  }
}
