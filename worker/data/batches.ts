import type { Address } from "viem";
import { microbatchSeed } from "../../sdk/protocol/seed.ts";
import { randomFromSeed } from "../model/random.ts";
import { loadBrownText } from "./corpus.ts";
import { charTokenizer, type CharTokenizer } from "./vocab.ts";

/** One batch of `batchSize` sequences of `contextLength` characters, row-major `[B, T]`. */
export interface TokenBatch {
  readonly batchSize: number;
  readonly contextLength: number;
  /** Token ids, int32 `[B, T]`. */
  readonly inputs: Int32Array;
  /** The next character of every input position, int32 `[B, T]`. */
  readonly targets: Int32Array;
}

/** What the data pipeline needs to know about a model (a subset of `ModelSpec`). */
export interface DataParameters {
  readonly vocab: string;
  readonly contextLength: number;
  readonly microbatchSize: number;
  /** Share of the corpus (its tail) held out for evaluation, in (0, 0.5]. */
  readonly evalFraction: number;
}

/** The tokenized corpus split into a training head and a held-out tail. */
export interface TokenizedCorpus {
  readonly tokenizer: CharTokenizer;
  readonly tokens: Int32Array;
  /** Tokens [0, trainLength) are training data; the rest is held out. */
  readonly trainLength: number;
}

/**
 * The head of a pipeline that has no staking address (local benchmarks, calibration and tests
 * that run without a chain): the zero address. Any real pipeline's data is drawn for its
 * stage-0 worker's address instead.
 */
export const LOCAL_HEAD: Address = "0x0000000000000000000000000000000000000000";

const corpora = new Map<string, TokenizedCorpus>();

/** Tokenizes the Brown Corpus once per (vocabulary, eval fraction) and caches the result. */
export function tokenizedCorpus(vocab: string, evalFraction: number): TokenizedCorpus {
  if (!(evalFraction > 0 && evalFraction <= 0.5)) throw new Error(`evalFraction must be in (0, 0.5], got ${evalFraction}`);
  const key = `${evalFraction}\u0000${vocab}`;
  const hit = corpora.get(key);
  if (hit) return hit;
  const tokenizer = charTokenizer(vocab);
  const tokens = tokenizer.encode(loadBrownText());
  const corpus = { tokenizer, tokens, trainLength: Math.floor(tokens.length * (1 - evalFraction)) };
  corpora.set(key, corpus);
  return corpus;
}

function windowsAt(tokens: Int32Array, offsets: readonly number[], contextLength: number): TokenBatch {
  const inputs = new Int32Array(offsets.length * contextLength);
  const targets = new Int32Array(offsets.length * contextLength);
  offsets.forEach((offset, row) => {
    inputs.set(tokens.subarray(offset, offset + contextLength), row * contextLength);
    targets.set(tokens.subarray(offset + 1, offset + contextLength + 1), row * contextLength);
  });
  return { batchSize: offsets.length, contextLength, inputs, targets };
}

/**
 * Microbatch `index` of round `round` of model `modelId` in the pipeline headed by `head` (the
 * stage-0 worker's staking address; docs/PROTOCOL.md "Deterministic data"): the seed
 * `microbatchSeed(modelId, round, head, index)` drives xoshiro128** (see `randomFromSeed`),
 * which draws `microbatchSize` window starts uniformly from the training part of the corpus.
 */
export function trainingMicrobatch(params: DataParameters, modelId: bigint, round: bigint, head: Address, index: number): TokenBatch {
  const corpus = tokenizedCorpus(params.vocab, params.evalFraction);
  const span = corpus.trainLength - params.contextLength - 1;
  if (span <= 0) throw new Error(`context length ${params.contextLength} exceeds the training corpus`);
  const random = randomFromSeed(microbatchSeed(modelId, round, head, index));
  const offsets = Array.from({ length: params.microbatchSize }, () => random.nextInt(span));
  return windowsAt(corpus.tokens, offsets, params.contextLength);
}

/**
 * The held-out evaluation batch: `sequences` windows evenly spaced over the corpus tail, the same
 * for every round and worker, so eval losses are comparable across rounds.
 */
export function evalBatch(params: DataParameters, sequences: number): TokenBatch {
  if (!Number.isSafeInteger(sequences) || sequences <= 0) throw new Error(`sequences must be a positive integer, got ${sequences}`);
  const corpus = tokenizedCorpus(params.vocab, params.evalFraction);
  const span = corpus.tokens.length - corpus.trainLength - params.contextLength - 1;
  if (span <= 0) throw new Error(`context length ${params.contextLength} exceeds the held-out corpus`);
  const offsets = Array.from({ length: sequences }, (_, i) => corpus.trainLength + Math.floor((i * span) / sequences));
  return windowsAt(corpus.tokens, offsets, params.contextLength);
}
