import * as tf from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import { type Address, hexToBytes, keccak256, stringToBytes } from "viem";
import { microbatchSeed } from "../../sdk/protocol/seed.ts";
import type { StageModelConfig } from "../../worker/pipeline/config.ts";
import type { LoadedStage } from "../../worker/pipeline/models.ts";
import type { MicrobatchData, PipelineStage } from "../../worker/pipeline/types.ts";
import { seededRandom } from "../../scripts/lib/seededRandom.ts";

/**
 * A toy model for pipeline tests (dev only: the shipped worker knows only the transformer and model modules): stage 0 embeds token ids
 * (one-hot x table, then tanh), middle stages are tanh dense layers, the last stage a dense
 * layer to vocabulary logits with mean softmax cross-entropy. Plain SGD on the mean gradient.
 */
export type ToySpec = { vocab: number; width: number; batch: number; seqLen: number; stages: number; seed: number; learningRate: number };

function initValues(size: number, scale: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

/** Parameter shapes of a stage, in canonical order. */
export function toyStageShapes(spec: ToySpec, index: number): { name: string; shape: number[] }[] {
  const last = index === spec.stages - 1;
  const inWidth = index === 0 ? spec.vocab : spec.width;
  const outWidth = last ? spec.vocab : spec.width;
  return [
    { name: `toy/stage${index}/kernel`, shape: [inWidth, outWidth] },
    { name: `toy/stage${index}/bias`, shape: [outWidth] },
  ];
}

export function createToyStage(spec: ToySpec, index: number): PipelineStage {
  if (spec.stages < 2) throw new RangeError("the toy model needs at least 2 stages");
  const last = index === spec.stages - 1;
  const first = index === 0;
  const vars = toyStageShapes(spec, index).map(({ shape }, k) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const scale = k === 0 ? 1 / Math.sqrt(shape[0] as number) : 0;
    // Unnamed: replicas of one stage live side by side in a process (tfjs names must be unique).
    return tf.variable(tf.tensor(initValues(size, scale, spec.seed * 1000 + index * 10 + k), shape), true);
  });
  const parameterCount = vars.reduce((n, v) => n + v.size, 0);
  const inputs = new Map<number, { input: tf.Tensor; targets?: tf.Tensor | undefined }>();
  /** Each microbatch's parameter gradient since the last step. */
  const pending = new Map<number, Float32Array>();

  const apply = (input: tf.Tensor, targets: tf.Tensor | undefined, kernel: tf.Tensor, bias: tf.Tensor, logits = false): tf.Tensor => {
    const [b, t] = input.shape as [number, number];
    const x = first ? tf.oneHot(tf.cast(input, "int32").reshape([-1]), spec.vocab) : input.reshape([-1, spec.width]);
    const z = tf.add(tf.matMul(x, kernel), bias);
    if (!last) return tf.tanh(z).reshape([b, t, spec.width]);
    if (logits) return z.reshape([b, t, spec.vocab]);
    const labels = tf.oneHot(tf.cast(targets as tf.Tensor, "int32").reshape([-1]), spec.vocab);
    return tf.losses.softmaxCrossEntropy(labels, z);
  };

  return {
    index,
    count: spec.stages,
    parameterCount,
    forward(microbatch, input, targets) {
      inputs.set(microbatch, { input, targets });
      return tf.tidy(() => apply(input, targets, vars[0] as tf.Variable, vars[1] as tf.Variable));
    },
    infer(input) {
      return tf.tidy(() => apply(input, undefined, vars[0] as tf.Variable, vars[1] as tf.Variable, true));
    },
    backward(microbatch, outputGrad) {
      const cached = inputs.get(microbatch);
      if (!cached) throw new Error(`no forward cached for microbatch ${microbatch}`);
      inputs.delete(microbatch);
      const { input, targets } = cached;
      const [kernel, bias] = vars as [tf.Variable, tf.Variable];
      const grads = tf.tidy(() => {
        const dy = outputGrad ?? tf.scalar(1);
        const wrt = first ? [kernel, bias] : [input, kernel, bias];
        const f = (...xs: tf.Tensor[]) =>
          first
            ? apply(input, targets, xs[0] as tf.Tensor, xs[1] as tf.Tensor)
            : apply(xs[0] as tf.Tensor, targets, xs[1] as tf.Tensor, xs[2] as tf.Tensor);
        return tf.grads(f)(wrt, dy);
      });
      const paramGrads = first ? grads : grads.slice(1);
      const parameterGradient = new Float32Array(parameterCount);
      let at = 0;
      for (const g of paramGrads) {
        parameterGradient.set(g.dataSync(), at);
        at += g.size;
        g.dispose();
      }
      const earlier = pending.get(microbatch);
      if (earlier) for (let i = 0; i < parameterCount; i++) (earlier[i] as number) += parameterGradient[i] as number;
      else pending.set(microbatch, parameterGradient.slice());
      return { ...(first ? {} : { inputGrad: grads[0] }), parameterGradient };
    },
    step() {
      if (pending.size === 0) return;
      // Summed in ascending microbatch order, whatever order backward ran in (as the transformer does).
      const accumulated = new Float32Array(parameterCount);
      for (const m of [...pending.keys()].sort((a, b) => a - b)) {
        const g = pending.get(m) as Float32Array;
        for (let i = 0; i < parameterCount; i++) (accumulated[i] as number) += g[i] as number;
      }
      const weights = this.exportWeights();
      for (let i = 0; i < weights.length; i++) (weights[i] as number) -= (spec.learningRate * (accumulated[i] as number)) / pending.size;
      this.importWeights(weights);
      pending.clear();
    },
    discard(microbatch) {
      inputs.delete(microbatch);
      pending.delete(microbatch);
    },
    exportWeights() {
      const out = new Float32Array(parameterCount);
      let at = 0;
      for (const v of vars) {
        out.set(v.dataSync(), at);
        at += v.size;
      }
      return out;
    },
    importWeights(values) {
      let at = 0;
      for (const v of vars) {
        const t = tf.tensor(values.subarray(at, at + v.size), v.shape);
        v.assign(t);
        t.dispose();
        at += v.size;
      }
    },
    dispose() {
      for (const v of vars) v.dispose();
      inputs.clear();
    },
  };
}

/**
 * Deterministic toy data per (modelId, round, head, index): random ids, each target the next id
 * in a fixed permutation of the vocabulary, so the model can learn it and the loss falls.
 */
export function toyMicrobatch(spec: ToySpec, modelId: bigint, round: bigint, head: Address, index: number): MicrobatchData {
  const seedBytes = hexToBytes(microbatchSeed(modelId, round, head, index));
  const next = seededRandom(new DataView(seedBytes.buffer).getUint32(0, true));
  const n = spec.batch * spec.seqLen;
  const ids = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = Math.floor(next() * spec.vocab);
    targets[i] = ((ids[i] as number) * 7 + 3) % spec.vocab;
  }
  return { ids: tf.tensor(ids, [spec.batch, spec.seqLen], "int32"), targets: tf.tensor(targets, [spec.batch, spec.seqLen], "int32") };
}

/** Toy text mapping: ids 0..vocab-1 are the letters a, b, c, ...; other characters wrap around. */
function toyTokenizer(vocab: number): LoadedStage["tokenizer"] {
  return {
    encode: (text) => Int32Array.from(text, (c) => (c.charCodeAt(0) - 97 + 26 * vocab) % vocab),
    decode: (ids) => Array.from(ids, (id) => String.fromCharCode(97 + id)).join(""),
  };
}

/** The toy model as a stage model module (`{ kind: "module" }` configs, see {@link toyModel}). */
export function loadStage(options: unknown, stageIndex: number, modelId: bigint): LoadedStage {
  const toy = options as ToySpec;
  return {
    stage: createToyStage(toy, stageIndex),
    data: (head, round, index) => toyMicrobatch(toy, modelId, round, head, index),
    modelKey: keccak256(stringToBytes(`toy:${JSON.stringify(toy)}`)),
    wireShape: [toy.batch, toy.seqLen, toy.width],
    vocabSize: toy.vocab,
    stageCount: toy.stages,
    microbatchesPerStep: 4,
    stepsPerRound: 1,
    evalMicrobatches: 0,
    contextLength: toy.seqLen,
    tokenizer: toyTokenizer(toy.vocab),
  };
}

/** The stage-process model config that runs the toy model of `toy`. */
export function toyModel(toy: ToySpec): StageModelConfig {
  return { kind: "module", module: fileURLToPath(import.meta.url), options: toy };
}
