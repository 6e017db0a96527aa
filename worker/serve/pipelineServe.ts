// Serving over the stage pipeline: forward-only, one request at a time, greedy decoding.
// Stage 0 owns the prompt and the generated ids; activations go forward hop by hop as
// `inferActivation` frames; the last stage picks the token and sends it back as `inferToken`,
// which every middle stage relays towards stage 0 (links only join neighbours).
import * as tf from "@tensorflow/tfjs";
import { charTokenizer } from "../data/vocab.ts";
import { nextToken, promptWindow, type SamplingParameters } from "../model/generate.ts";
import type { ModelSpec } from "../model/spec.ts";
import type { PipeLink } from "../p2p/link.ts";
import type { StagePipe } from "../p2p/pipe.ts";
import { decodeWireTensor, encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import type { PipelineStage } from "../pipeline/types.ts";

/** `u32 LE` token id: the payload of an `inferToken` frame. */
export function encodeTokenPayload(token: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, token, true);
  return out;
}

export function decodeTokenPayload(payload: Uint8Array): number {
  if (payload.length !== 4) throw new Error(`inferToken payload of ${payload.length} bytes, expected 4`);
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
}

async function sendActivation(link: PipeLink, y: tf.Tensor, seq: bigint, position: number, wire: WireFormat): Promise<void> {
  const { bytes } = encodeWireTensor(y.shape, y.dataSync() as Float32Array, wire);
  await link.send({ kind: "inferActivation", round: seq, microbatch: position, payload: bytes });
}

/**
 * Runs one received activation through this stage; the last stage answers with the greedy token
 * (sent back upstream), any other stage forwards its output downstream.
 */
async function handleActivation(stage: PipelineStage, pipe: StagePipe, wire: WireFormat, seq: bigint, position: number, payload: Uint8Array, sampling?: SamplingParameters): Promise<void> {
  const { shape, values } = decodeWireTensor(payload);
  const x = tf.tensor(values, shape, "float32");
  const y = stage.infer(x);
  x.dispose();
  try {
    if (pipe.next) await sendActivation(pipe.next, y, seq, position, wire);
    else await (pipe.prev as PipeLink).send({ kind: "inferToken", round: seq, microbatch: position, payload: encodeTokenPayload(nextToken(y, sampling, seq, position)) });
  } finally {
    y.dispose();
  }
}

/**
 * Serves a stage s > 0 until its upstream link closes: forward loop for activations and, on a
 * middle stage, a relay loop for tokens coming back. Resolves when the pipeline shuts down.
 */
export async function serveDownstreamStage({ stage, pipe, wire, sampling }: { stage: PipelineStage; pipe: StagePipe; wire: WireFormat; sampling?: SamplingParameters | undefined }): Promise<{ served: number }> {
  const prev = pipe.prev;
  if (!prev) throw new Error("serveDownstreamStage runs on stages after the first");
  let served = 0;
  const forward = (async () => {
    for (;;) {
      const frame = await prev.receiveNext("inferActivation").catch(() => undefined);
      if (!frame) return;
      await handleActivation(stage, pipe, wire, frame.round, frame.microbatch, frame.payload, sampling);
      served++;
    }
  })();
  const relay = (async () => {
    const next = pipe.next;
    if (!next) return;
    for (;;) {
      const frame = await next.receiveNext("inferToken").catch(() => undefined);
      if (!frame) return;
      await prev.send(frame).catch(() => undefined);
    }
  })();
  await forward;
  await pipe.next?.close();
  await relay;
  return { served };
}

/**
 * Stage 0 of a serving pipeline: generates text for a prompt through every stage process.
 * Requests are serialized (sequence numbers identify their frames).
 */
export class PipelineGenerator {
  private seq = 0n;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly p: { spec: ModelSpec; stage: PipelineStage; pipe: StagePipe; wire: WireFormat; sampling?: SamplingParameters | undefined },
  ) {
    if (p.stage.index !== 0) throw new Error("PipelineGenerator runs on stage 0");
  }

  /** Greedy continuation of `prompt`, `maxNewTokens` characters long. */
  generate(prompt: string, maxNewTokens: number): Promise<string> {
    const run = this.queue.then(() => this.run(prompt, maxNewTokens));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(prompt: string, maxNewTokens: number): Promise<string> {
    const { spec, stage, pipe, wire } = this.p;
    const tokenizer = charTokenizer(spec.vocab);
    const ids = Array.from(tokenizer.encode(prompt));
    const generated: number[] = [];
    const seq = this.seq++;
    for (let position = 0; position < maxNewTokens; position++) {
      const x = promptWindow(spec, ids);
      const y = stage.infer(x);
      x.dispose();
      let token: number;
      if (!pipe.next) {
        token = nextToken(y, this.p.sampling, seq, position);
        y.dispose();
      } else {
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
    }
    return tokenizer.decode(generated);
  }
}
