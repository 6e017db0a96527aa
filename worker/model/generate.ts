import * as tf from "@tensorflow/tfjs";
import { charTokenizer } from "../data/vocab.ts";
import type { ModelSpec } from "./spec.ts";
import type { PipelineStage } from "./stage.ts";

/**
 * The window of a prompt the model sees: its last `contextLength` token ids as int32 `[1, T]`.
 * An empty prompt becomes a single space (the model needs at least one position).
 */
export function promptWindow(spec: ModelSpec, ids: ArrayLike<number>): tf.Tensor2D {
  const all = ids.length > 0 ? Array.from(ids) : [charTokenizer(spec.vocab).encode(" ")[0] as number];
  const window = all.slice(-spec.contextLength);
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

/**
 * Generates `maxNewTokens` characters after `prompt` by running all `stages` in this process
 * (`infer` on each, in order). The multi-process server does the same hop by hop.
 */
export function generateText(spec: ModelSpec, stages: readonly PipelineStage[], prompt: string, maxNewTokens: number): string {
  const tokenizer = charTokenizer(spec.vocab);
  const ids = Array.from(tokenizer.encode(prompt));
  const generated: number[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    let x: tf.Tensor = promptWindow(spec, ids);
    for (const stage of stages) {
      const y = stage.infer(x);
      x.dispose();
      x = y;
    }
    const next = greedyNextToken(x);
    x.dispose();
    ids.push(next);
    generated.push(next);
  }
  return tokenizer.decode(generated);
}
