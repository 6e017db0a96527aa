import * as tf from "@tensorflow/tfjs";
import { stageParameters } from "./layout.ts";
import { block, blockWeightsOf, crossEntropy, embedOneHot, layerNorm, linear } from "./ops.ts";
import type { ModelSpec } from "./spec.ts";

/** What the last stage returns: the mean loss (training) or the logits `[B, T, V]` (serving). */
export type StageOutput = "loss" | "logits";

/**
 * The forward function of one stage as a pure function of its parameters (canonical order).
 * Stage 0 takes int32 ids `[B, T]`, other stages float32 activations `[B, T, d]`; non-last
 * stages return `[B, T, d]`, the last returns the scalar mean loss (needs `targets`) or logits.
 */
export type StageForward = (
  params: readonly tf.Tensor[],
  input: tf.Tensor,
  targets: tf.Tensor | undefined,
  output: StageOutput,
) => tf.Tensor;

/** Builds stage `stage`'s forward function; `mask` is the [T, T] causal mask of `causalMask`. */
export function stageForward(spec: ModelSpec, stage: number, mask: tf.Tensor): StageForward {
  const infos = stageParameters(spec, stage);
  const index = new Map(infos.map((p, i) => [p.name, i]));
  const range = spec.stages[stage] as readonly [number, number];
  const isFirst = stage === 0;
  const isLast = stage === spec.stages.length - 1;
  const d = spec.dModel;
  return (params, input, targets, output) => {
    const get = (name: string): tf.Tensor => {
      const i = index.get(name);
      const p = i === undefined ? undefined : params[i];
      if (!p) throw new Error(`stage ${stage} has no parameter ${name}`);
      return p;
    };
    const [batch, time] = input.shape as [number, number];
    const stepMask = time === spec.contextLength ? mask : tf.slice(mask, [0, 0], [time, time]);
    let x: tf.Tensor;
    if (isFirst) {
      const oneHot = tf.oneHot(tf.reshape<tf.Rank.R1>(input, [-1]), spec.vocab.length).toFloat();
      const tokens = tf.reshape(embedOneHot(oneHot, get("embed.token")), [batch, time, d]);
      x = tf.reshape(tf.add(tokens, tf.slice(get("embed.position"), [0, 0], [time, d])), [batch * time, d]);
    } else {
      x = tf.reshape(input, [batch * time, d]);
    }
    for (let layer = range[0]; layer < range[1]; layer++) {
      x = block(x, blockWeightsOf(get, layer), batch, time, spec.heads, stepMask);
    }
    if (!isLast) return tf.reshape(x, [batch, time, d]);
    const logits = linear(layerNorm(x, get("final.ln.gain"), get("final.ln.bias")), get("head.weight"), get("head.bias"));
    if (output === "logits") return tf.reshape(logits, [batch, time, spec.vocab.length]);
    if (!targets) throw new Error("the last stage needs targets to compute the loss");
    return crossEntropy(logits, targets);
  };
}
