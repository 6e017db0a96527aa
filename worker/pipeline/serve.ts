import * as tf from "@tensorflow/tfjs";
import { decodeTensor, encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { FrameFormatError, LinkClosedError } from "../p2p/errors.ts";
import type { Frame } from "../p2p/frames.ts";
import type { PipeLink } from "../p2p/link.ts";
import { decodeWireTensor, encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import type { PipelineStage } from "./types.ts";

/** Greedy choice over the last position's logits; ties go to the lowest id (backend-independent). */
export function argmaxLastPosition(logits: tf.Tensor): number {
  const [, time, vocab] = logits.shape as [number, number, number];
  const values = logits.dataSync() as Float32Array;
  const row = values.subarray((time - 1) * vocab, time * vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

const tokenPayload = (token: number): Uint8Array => encodeTensor({ dtype: "int32", shape: [1], data: new Int32Array([token]) });

function tokenOf(frame: Frame): number {
  const t = decodeTensor(frame.payload);
  if (t.dtype !== "int32" || t.data.length !== 1) throw new FrameFormatError("an inferToken frame must carry one int32");
  return t.data[0] as number;
}

export type GenerateParameters = {
  /** Stage 0 of the model. */
  stage: PipelineStage;
  /** Link to stage 1 (absent only for a single-stage model). */
  next?: PipeLink | undefined;
  prompt: Int32Array;
  maxNewTokens: number;
  /** The model's context length: the input is the last `contextLength` ids. */
  contextLength: number;
  /** Sequence number of this request on the link (unique per link, e.g. 0, 1, 2, ...). */
  requestSeq: bigint;
  wire: WireFormat;
};

/**
 * Greedy generation driven by stage 0: each new token runs the window through every stage over
 * the pipe (`inferActivation` forward), and the last stage's choice comes back (`inferToken`).
 *
 * @example
 * const { tokens } = await generateTokens({ stage, next, prompt, maxNewTokens: 32, contextLength: 64, requestSeq: 0n, wire: "int8" })
 */
export async function generateTokens(parameters: GenerateParameters): Promise<{ tokens: number[]; ms: number }> {
  const { stage, next, maxNewTokens, contextLength, requestSeq, wire } = parameters;
  if (stage.index !== 0) throw new Error("generation is driven by stage 0");
  if (parameters.prompt.length === 0) throw new RangeError("the prompt must hold at least one token");
  const ids = Array.from(parameters.prompt);
  const tokens: number[] = [];
  const start = performance.now();
  for (let i = 0; i < maxNewTokens; i++) {
    const window = ids.slice(-contextLength);
    const input = tf.tensor(window, [1, window.length], "int32");
    const out = stage.infer(input);
    input.dispose();
    let token: number;
    if (stage.count === 1) token = argmaxLastPosition(out);
    else {
      if (!next) throw new Error("stage 0 of a multi-stage model needs its link to stage 1");
      const sent = encodeWireTensor(out.shape, out.dataSync() as Float32Array, wire);
      await next.send({ kind: "inferActivation", round: requestSeq, microbatch: i, payload: sent.bytes });
      token = tokenOf(await next.receive("inferToken", requestSeq, i));
    }
    out.dispose();
    ids.push(token);
    tokens.push(token);
  }
  return { tokens, ms: performance.now() - start };
}

/** What a serving stage (s >= 1) did until its upstream link closed. */
export type ServeLoopResult = { activations: number; tokensRelayed: number };

/**
 * Serving loop of stage s >= 1: runs every `inferActivation` from stage s-1 through the stage and
 * passes it on; the last stage picks the token and sends it back, middle stages relay tokens back.
 * Returns when the upstream link closes (stage 0 finished).
 */
export async function serveStageLoop(parameters: { stage: PipelineStage; prev: PipeLink; next?: PipeLink | undefined; wire: WireFormat }): Promise<ServeLoopResult> {
  const { stage, prev, next, wire } = parameters;
  const isLast = stage.index === stage.count - 1;
  const result: ServeLoopResult = { activations: 0, tokensRelayed: 0 };
  const untilClosed = async (loop: () => Promise<void>): Promise<void> => {
    try {
      for (;;) await loop();
    } catch (err) {
      if (!(err instanceof LinkClosedError)) throw err;
    }
  };
  const forward = untilClosed(async () => {
    const frame = await prev.receiveNext("inferActivation");
    const decoded = decodeWireTensor(frame.payload);
    const input = tf.tensor(decoded.values, decoded.shape, "float32");
    const out = stage.infer(input);
    input.dispose();
    try {
      if (isLast) await prev.send({ kind: "inferToken", round: frame.round, microbatch: frame.microbatch, payload: tokenPayload(argmaxLastPosition(out)) });
      else {
        const sent = encodeWireTensor(out.shape, out.dataSync() as Float32Array, wire);
        await (next as PipeLink).send({ kind: "inferActivation", round: frame.round, microbatch: frame.microbatch, payload: sent.bytes });
      }
    } finally {
      out.dispose();
    }
    result.activations++;
  });
  const relay = isLast
    ? Promise.resolve()
    : untilClosed(async () => {
        const frame = await (next as PipeLink).receiveNext("inferToken");
        await prev.send(frame);
        result.tokensRelayed++;
      });
  await forward;
  // Stage 0 only closes after its last token came back, so nothing is left to relay.
  await next?.close();
  await relay;
  return result;
}

/**
 * Single-process reference of {@link generateTokens}: all stages chained here with the same wire
 * codec. A test and validation tool (it holds every stage).
 */
export function referenceGenerate(parameters: { stages: PipelineStage[]; prompt: Int32Array; maxNewTokens: number; contextLength: number; wire: WireFormat }): number[] {
  const ids = Array.from(parameters.prompt);
  const tokens: number[] = [];
  for (let i = 0; i < parameters.maxNewTokens; i++) {
    const window = ids.slice(-parameters.contextLength);
    let x: tf.Tensor = tf.tensor(window, [1, window.length], "int32");
    for (const stage of parameters.stages) {
      const out = stage.infer(x);
      x.dispose();
      if (stage.index === stage.count - 1) x = out;
      else {
        const got = decodeWireTensor(encodeWireTensor(out.shape, out.dataSync() as Float32Array, parameters.wire).bytes);
        out.dispose();
        x = tf.tensor(got.values, got.shape, "float32");
      }
    }
    const token = argmaxLastPosition(x);
    x.dispose();
    ids.push(token);
    tokens.push(token);
  }
  return tokens;
}
