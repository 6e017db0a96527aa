import type { ModelSpec } from "./spec.ts";

/** How a parameter starts: scaled uniform noise, ones (norm gains) or zeros (biases). */
export type ParameterInit = { readonly kind: "uniform"; readonly std: number } | { readonly kind: "ones" } | { readonly kind: "zeros" };

/** One named parameter tensor of the model. */
export interface ParameterInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParameterInit;
}

const INIT_STD = 0.02;

function blockParameters(spec: ModelSpec, layer: number): ParameterInfo[] {
  const d = spec.dModel;
  const f = spec.dFeedForward;
  // GPT-2's residual scaling: projections that write into the residual stream start 1/sqrt(2L) smaller.
  const residualStd = INIT_STD / Math.sqrt(2 * spec.layers);
  const p = `block.${layer}.`;
  return [
    { name: `${p}ln1.gain`, shape: [d], init: { kind: "ones" } },
    { name: `${p}ln1.bias`, shape: [d], init: { kind: "zeros" } },
    { name: `${p}attn.qkv`, shape: [d, 3 * d], init: { kind: "uniform", std: INIT_STD } },
    { name: `${p}attn.out`, shape: [d, d], init: { kind: "uniform", std: residualStd } },
    { name: `${p}ln2.gain`, shape: [d], init: { kind: "ones" } },
    { name: `${p}ln2.bias`, shape: [d], init: { kind: "zeros" } },
    { name: `${p}mlp.in`, shape: [d, f], init: { kind: "uniform", std: INIT_STD } },
    { name: `${p}mlp.inBias`, shape: [f], init: { kind: "zeros" } },
    { name: `${p}mlp.out`, shape: [f, d], init: { kind: "uniform", std: residualStd } },
    { name: `${p}mlp.outBias`, shape: [d], init: { kind: "zeros" } },
  ];
}

/**
 * The parameters of stage `stage` in canonical order: embeddings (stage 0), then the stage's
 * blocks in layer order, each in the order above, then final norm and head (last stage). Weights
 * roots, gradient roots and checkpoints flatten the parameters in exactly this order.
 */
export function stageParameters(spec: ModelSpec, stage: number): ParameterInfo[] {
  const range = spec.stages[stage];
  if (!range) throw new RangeError(`stage ${stage} does not exist (the spec has ${spec.stages.length})`);
  const v = spec.vocab.length;
  const d = spec.dModel;
  const out: ParameterInfo[] = [];
  if (stage === 0) {
    out.push({ name: "embed.token", shape: [v, d], init: { kind: "uniform", std: INIT_STD } });
    out.push({ name: "embed.position", shape: [spec.contextLength, d], init: { kind: "uniform", std: INIT_STD } });
  }
  for (let layer = range[0]; layer < range[1]; layer++) out.push(...blockParameters(spec, layer));
  if (stage === spec.stages.length - 1) {
    out.push({ name: "final.ln.gain", shape: [d], init: { kind: "ones" } });
    out.push({ name: "final.ln.bias", shape: [d], init: { kind: "zeros" } });
    out.push({ name: "head.weight", shape: [d, v], init: { kind: "uniform", std: INIT_STD } });
    out.push({ name: "head.bias", shape: [v], init: { kind: "zeros" } });
  }
  return out;
}

/** Number of scalars in a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Number of parameters stage `stage` holds. */
export function stageParameterCount(spec: ModelSpec, stage: number): number {
  return stageParameters(spec, stage).reduce((n, p) => n + sizeOf(p.shape), 0);
}

/**
 * Training FLOPs of stage `stage` for one microbatch (forward + backward, no recomputation):
 * 6 per matmul weight per token (forward 2, backward 4) plus attention scores and mixing,
 * 12 * T * d per token per layer (QK^T and PV, forward 4Td, backward 8Td, causal mask not exploited).
 * The embedding is counted as a matmul because it runs as one (one-hot times table).
 */
export function stageTrainingFlops(spec: ModelSpec, stage: number): number {
  const tokens = spec.microbatchSize * spec.contextLength;
  const range = spec.stages[stage];
  if (!range) throw new RangeError(`stage ${stage} does not exist`);
  const matmulWeights = stageParameters(spec, stage)
    .filter((p) => p.shape.length === 2 && p.name !== "embed.position")
    .reduce((n, p) => n + sizeOf(p.shape), 0);
  const layers = range[1] - range[0];
  return tokens * (6 * matmulWeights + 12 * spec.contextLength * spec.dModel * layers);
}

/** Training FLOPs of one microbatch through all stages. */
export function modelTrainingFlops(spec: ModelSpec): number {
  return spec.stages.reduce((n, _, s) => n + stageTrainingFlops(spec, s), 0);
}

/**
 * Compute units of one microbatch on stage `stage`, for the registry's `unitsPerMicrobatch`:
 * the stage's training FLOPs in MFLOP, rounded up. Derived from the spec alone, never measured.
 */
export function stageComputeUnits(spec: ModelSpec, stage: number): number {
  return Math.ceil(stageTrainingFlops(spec, stage) / 1e6);
}
