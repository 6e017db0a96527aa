import * as tf from "@tensorflow/tfjs";
import { encodeAbiParameters, type Hex, keccak256 } from "viem";
import { charTokenizer } from "../data/vocab.ts";
import { decodeWireTensor, encodeWireTensor, type WireFormat } from "../p2p/wire.ts";
import { randomFromSeed } from "./random.ts";
import type { ModelSpec } from "./spec.ts";
import type { PipelineStage } from "./stage.ts";

/** Text <-> token ids: the char tokenizer of a spec, or a test model's own mapping. */
export type Tokenizer = { encode(text: string): Int32Array; decode(ids: ArrayLike<number>): string };

/** What decoding needs of a model besides its stages (a spec, or dev/pipeline's toy model). */
export type DecodingModel = { readonly contextLength: number; readonly tokenizer: Tokenizer };

/** The decoding view of a spec: its context length and char tokenizer. */
export function decodingModel(spec: ModelSpec): DecodingModel {
  return { contextLength: spec.contextLength, tokenizer: charTokenizer(spec.vocab) };
}

/**
 * The window of token ids the model sees: the last `contextLength` of them as int32 `[1, T]`.
 * No ids become a single space (the model needs at least one position).
 */
export function tokenWindow(model: DecodingModel, ids: ArrayLike<number>): tf.Tensor2D {
  const all = ids.length > 0 ? Array.from(ids) : [model.tokenizer.encode(" ")[0] as number];
  const window = all.slice(-model.contextLength);
  return tf.tensor2d(window, [1, window.length], "int32");
}

/**
 * Greedy decoding step: the id with the highest logit at the last position of `logits [1, T, V]`
 * (ties to the lowest id). Deterministic, so a validator re-running the prompt gets the same text.
 */
export function greedyNextToken(logits: tf.Tensor): number {
  const [, time, vocab] = logits.shape as [number, number, number];
  const values = logits.dataSync();
  const offset = (time - 1) * vocab;
  let best = 0;
  for (let v = 1; v < vocab; v++) if ((values[offset + v] as number) > (values[offset + best] as number)) best = v;
  return best;
}

/** How {@link generateTokens} decodes; every field optional (greedy, tensors passed as they are). */
export type DecodeOptions = {
  /** Draw tokens the way the serving pipeline draws them for request `request` (default 0); greedy without. */
  readonly sampling?: SamplingParameters | undefined;
  readonly request?: bigint | undefined;
  /**
   * Pass every activation between two stages through this wire codec (encode, then decode), as
   * the stage processes do: with "int8" the result equals the multi-process pipeline bit for bit.
   * Without, activations stay float32 tensors (what "float32" on the wire also gives).
   */
  readonly wire?: WireFormat | undefined;
};

/** `t` after a trip over the wire: what the next stage process decodes. Disposes `t`. */
function overTheWire(t: tf.Tensor, wire: WireFormat): tf.Tensor {
  const { shape, values } = decodeWireTensor(encodeWireTensor(t.shape, t.dataSync() as Float32Array, wire).bytes);
  t.dispose();
  return tf.tensor(values, shape, "float32");
}

/**
 * Generates `maxNewTokens` token ids after `prompt` by running all `stages` in this process
 * (`infer` on each, in order): the single-process reference of the serving pipeline
 * (worker/serve/pipelineServe.ts), which does the same hop by hop.
 *
 * @example
 * const ids = generateTokens(decodingModel(spec), stages, tokenizer.encode("The jury"), 12, { wire: "int8" })
 */
export function generateTokens(
  model: DecodingModel,
  stages: readonly PipelineStage[],
  prompt: ArrayLike<number>,
  maxNewTokens: number,
  options: DecodeOptions = {},
): number[] {
  const ids = Array.from(prompt);
  const generated: number[] = [];
  for (let position = 0; position < maxNewTokens; position++) {
    let x: tf.Tensor = tokenWindow(model, ids);
    for (const [s, stage] of stages.entries()) {
      const y = stage.infer(x);
      x.dispose();
      x = options.wire && s < stages.length - 1 ? overTheWire(y, options.wire) : y;
    }
    const next = nextToken(x, options.sampling, options.request ?? 0n, position);
    x.dispose();
    ids.push(next);
    generated.push(next);
  }
  return generated;
}

/** {@link generateTokens} from text to text, with the spec's char tokenizer. */
export function generateText(
  spec: ModelSpec,
  stages: readonly PipelineStage[],
  prompt: string,
  maxNewTokens: number,
  options: DecodeOptions = {},
): string {
  const model = decodingModel(spec);
  return model.tokenizer.decode(generateTokens(model, stages, model.tokenizer.encode(prompt), maxNewTokens, options));
}

/**
 * Sampled decoding: softmax of the `topK` largest logits divided by `temperature`, drawn with a
 * uniform derived from `seed`. The same seed, request and position give the same token on every
 * machine (a validator can replay it); greedy decoding of a barely trained char model repeats its
 * most frequent character (a space), sampling shows what it has learned.
 */
export type SamplingParameters = {
  /** > 0; lower is closer to greedy. */
  readonly temperature: number;
  /** How many of the most likely tokens may be drawn (>= 1; 1 is greedy). */
  readonly topK: number;
  /** 32-byte seed of the serving session. */
  readonly seed: Hex;
};

/** Throws `RangeError` unless `p` can sample (finite temperature > 0, integer topK >= 1, 32-byte seed). */
export function validateSampling(p: SamplingParameters): void {
  if (!(Number.isFinite(p.temperature) && p.temperature > 0)) throw new RangeError(`temperature must be > 0, got ${p.temperature}`);
  if (!Number.isSafeInteger(p.topK) || p.topK < 1) throw new RangeError(`topK must be an integer >= 1, got ${p.topK}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(p.seed)) throw new RangeError("seed must be 32 bytes of hex");
}

/**
 * The uniform in [0, 1) that picks token `position` of request `request`:
 * xoshiro128** seeded with `keccak256(abi.encode(bytes32 seed, uint64 request, uint32 position))`.
 * Stateless, so the stage that holds the logits needs only the frame's (request, position).
 */
export function samplingUniform(seed: Hex, request: bigint, position: number): number {
  const digest = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint64" }, { type: "uint32" }], [seed, request, position]));
  return randomFromSeed(digest).nextFloat();
}

/**
 * Draws from the last position's logits of `logits [1, T, V]`: keep the `topK` largest (ties to
 * the lower id), softmax at `temperature` in float64, pick by the cumulative weights with `u`.
 */
export function sampleFromLogits(logits: tf.Tensor, p: Pick<SamplingParameters, "temperature" | "topK">, u: number): number {
  const [, time, vocab] = logits.shape as [number, number, number];
  const row = (logits.dataSync() as Float32Array).subarray((time - 1) * vocab, time * vocab);
  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
  const top = order.slice(0, Math.min(p.topK, vocab));
  const max = row[top[0] as number] as number;
  const weights = top.map((id) => Math.exp(((row[id] as number) - max) / p.temperature));
  let rest = u * weights.reduce((a, w) => a + w, 0);
  for (const [i, w] of weights.entries()) {
    rest -= w;
    if (rest < 0) return top[i] as number;
  }
  return top[top.length - 1] as number;
}

/** The next token: greedy without `sampling`, else drawn for (`request`, `position`). */
export function nextToken(logits: tf.Tensor, sampling: SamplingParameters | undefined, request: bigint, position: number): number {
  if (!sampling) return greedyNextToken(logits);
  return sampleFromLogits(logits, sampling, samplingUniform(sampling.seed, request, position));
}
