import { type Hex, keccak256, toBytes } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { BROWN_CORPUS } from "../data/corpus.ts";
import type { DataParameters } from "../data/batches.ts";
import { PRINTABLE_ASCII_VOCAB } from "../data/vocab.ts";

/** Format tag of the spec; bump it when the meaning of a field or the architecture changes. */
export const MODEL_SPEC_FORMAT = "shardholder/char-transformer@2";

/**
 * A model, fully described: the registry stores `specHash(spec)`, and every worker derives the
 * architecture, its stage's parameters, their initial values and the data from it alone.
 * Architecture: pre-LayerNorm decoder-only transformer over characters, learned token and
 * position embeddings, fused QKV attention without biases, ReLU MLP, untied output head.
 */
export interface ModelSpec {
  readonly format: typeof MODEL_SPEC_FORMAT;
  readonly name: string;
  /** The tokenizer: one token per character of this string (id = index). */
  readonly vocab: string;
  readonly dModel: number;
  readonly heads: number;
  /** Hidden width of the MLP. */
  readonly dFeedForward: number;
  readonly layers: number;
  /** Sequence length T of every microbatch (and the maximum prompt window when serving). */
  readonly contextLength: number;
  /** Stage boundaries: stage s holds blocks [start, end); stage 0 adds the embeddings, the last stage the final norm and head. */
  readonly stages: readonly (readonly [number, number])[];
  /** Seed of the deterministic initialization (uint32). */
  readonly initSeed: number;
  readonly optimizer: {
    readonly name: "adam";
    readonly learningRate: number;
    readonly beta1: number;
    readonly beta2: number;
    readonly epsilon: number;
  };
  /** Sequences per microbatch (B). */
  readonly microbatchSize: number;
  /** Microbatches whose gradients are averaged into one optimizer step (M). */
  readonly microbatchesPerStep: number;
  /**
   * Optimizer steps per on-chain round (K): a round holds `K * M` microbatches (the registry's
   * `microbatchesPerRound`), microbatch `i` belongs to step `floor(i / M)`, and one commitment per
   * stage covers them all, so the chain's cost per round stays flat as K grows.
   */
  readonly stepsPerRound: number;
  readonly dataset: { readonly name: string; readonly version: string; readonly evalFraction: number };
}

/** A spec that breaks a structural rule (the message names the field). */
export class InvalidModelSpecError extends BaseError {
  constructor(reason: string) {
    super(`Invalid model spec: ${reason}`, { name: "InvalidModelSpecError" });
  }
}

/** Splits `layers` blocks as evenly as possible over `stageCount` stages (earlier stages get the remainder). */
export function evenStages(layers: number, stageCount: number): [number, number][] {
  const base = Math.floor(layers / stageCount);
  const extra = layers % stageCount;
  const out: [number, number][] = [];
  let start = 0;
  for (let s = 0; s < stageCount; s++) {
    const end = start + base + (s < extra ? 1 : 0);
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** Options of `defaultModelSpec`; every field overrides the recommended default. */
export type DefaultModelSpecParameters = Partial<Omit<ModelSpec, "format" | "stages" | "optimizer" | "dataset">> & {
  stageCount?: number;
  learningRate?: number;
};

/**
 * The recommended demo model with optional overrides: 3 stages of one block each, d=128, 4 heads,
 * T=64, microbatches of 16 sequences, 4 microbatches per step, Adam 3e-3 (626k parameters,
 * 4.08 GFLOP of training per microbatch). Measured on 2 cores, wasm, all stages in one process:
 * 1.6 s/step, 10.2 GFLOP/s (raw 512^2 matmul 23.5, model-sized matmuls 20-25); the training loss
 * falls from 4.57 (ln 95) below 3.2 (-30%) after 5 steps, plateaus near 3.1 until ~step 14 and
 * reaches ~2.7 (-41%) after 40 steps. Microbatches of 8 learn as fast per step but run at ~6 GFLOP/s.
 */
export function defaultModelSpec(overrides: DefaultModelSpecParameters = {}): ModelSpec {
  const { stageCount = 3, learningRate = 3e-3, ...rest } = overrides;
  const layers = rest.layers ?? 3;
  const spec: ModelSpec = {
    format: MODEL_SPEC_FORMAT,
    name: rest.name ?? "shardholder-brown-char",
    vocab: rest.vocab ?? PRINTABLE_ASCII_VOCAB,
    dModel: rest.dModel ?? 128,
    heads: rest.heads ?? 4,
    dFeedForward: rest.dFeedForward ?? 4 * (rest.dModel ?? 128),
    layers,
    contextLength: rest.contextLength ?? 64,
    stages: evenStages(layers, stageCount),
    initSeed: rest.initSeed ?? 1,
    optimizer: { name: "adam", learningRate, beta1: 0.9, beta2: 0.99, epsilon: 1e-8 },
    microbatchSize: rest.microbatchSize ?? 16,
    microbatchesPerStep: rest.microbatchesPerStep ?? 4,
    stepsPerRound: rest.stepsPerRound ?? 1,
    dataset: { name: BROWN_CORPUS.name, version: BROWN_CORPUS.version, evalFraction: 0.05 },
  };
  validateModelSpec(spec);
  return spec;
}

function positiveInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidModelSpecError(`${field} must be a positive integer, got ${value}`);
}

/** Throws `InvalidModelSpecError` unless the spec describes a buildable model. */
export function validateModelSpec(spec: ModelSpec): void {
  if (spec.format !== MODEL_SPEC_FORMAT) throw new InvalidModelSpecError(`format must be ${MODEL_SPEC_FORMAT}`);
  for (const field of [
    "dModel",
    "heads",
    "dFeedForward",
    "layers",
    "contextLength",
    "microbatchSize",
    "microbatchesPerStep",
    "stepsPerRound",
  ] as const) {
    positiveInteger(spec[field], field);
  }
  if (spec.dModel % spec.heads !== 0) throw new InvalidModelSpecError(`dModel ${spec.dModel} is not divisible by heads ${spec.heads}`);
  if (new Set(Array.from(spec.vocab)).size !== Array.from(spec.vocab).length || spec.vocab.length < 2) {
    throw new InvalidModelSpecError("vocab must hold at least two distinct characters");
  }
  if (!Number.isSafeInteger(spec.initSeed) || spec.initSeed < 0 || spec.initSeed > 0xffffffff) {
    throw new InvalidModelSpecError(`initSeed must be a uint32, got ${spec.initSeed}`);
  }
  if (spec.stages.length === 0) throw new InvalidModelSpecError("stages must not be empty");
  let next = 0;
  spec.stages.forEach(([start, end], s) => {
    if (start !== next || end < start)
      throw new InvalidModelSpecError(`stage ${s} range [${start}, ${end}) does not continue at layer ${next}`);
    next = end;
  });
  if (next !== spec.layers) throw new InvalidModelSpecError(`stages cover ${next} layers, spec has ${spec.layers}`);
  const { learningRate, beta1, beta2, epsilon } = spec.optimizer;
  if (spec.optimizer.name !== "adam") throw new InvalidModelSpecError(`unknown optimizer ${spec.optimizer.name}`);
  if (!(learningRate > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
    throw new InvalidModelSpecError("optimizer hyperparameters out of range");
  }
  if (!(spec.dataset.evalFraction > 0 && spec.dataset.evalFraction <= 0.5)) {
    throw new InvalidModelSpecError(`dataset.evalFraction must be in (0, 0.5], got ${spec.dataset.evalFraction}`);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new InvalidModelSpecError("numbers must be finite");
  return value;
}

/**
 * The canonical JSON of a spec: object keys sorted (code-unit order) at every depth, no
 * whitespace, numbers and strings as `JSON.stringify` writes them.
 */
export function canonicalSpecJson(spec: ModelSpec): string {
  return JSON.stringify(sortKeys(spec));
}

/** `keccak256(utf8(canonicalSpecJson(spec)))`: the hash the model registry stores. */
export function specHash(spec: ModelSpec): Hex {
  return keccak256(toBytes(canonicalSpecJson(spec)));
}

/** Parses and validates a spec from JSON text (e.g. a file named on the command line). */
export function parseModelSpec(json: string): ModelSpec {
  const spec = JSON.parse(json) as ModelSpec;
  validateModelSpec(spec);
  return spec;
}

/** The data-pipeline view of a spec. */
export function dataParameters(spec: ModelSpec): DataParameters {
  return {
    vocab: spec.vocab,
    contextLength: spec.contextLength,
    microbatchSize: spec.microbatchSize,
    evalFraction: spec.dataset.evalFraction,
  };
}
