import * as tf from "@tensorflow/tfjs";
import { stageParameters } from "./layout.ts";
import {
  type BlockTape,
  type BlockWeightsT,
  blockBackward,
  blockForward,
  embedBackward,
  embedForward,
  headBackward,
  headForward,
} from "./manual.ts";
import { blockWeightsOf } from "./ops.ts";
import type { ModelSpec } from "./spec.ts";

/** Everything one microbatch's backward needs on one stage (all tensors owned by the tape). */
export interface StageTape {
  readonly batch: number;
  readonly time: number;
  readonly oneHot?: tf.Tensor;
  readonly blocks: BlockTape[];
  readonly head?: { xhat: tf.Tensor; rstd: tf.Tensor; h: tf.Tensor; dlogits: tf.Tensor };
}

/** Forward that records a tape, and the matching backward, for one stage. */
export interface TapedStage {
  /** Returns the output (activations or scalar loss) and the tape; the caller disposes both. */
  forward(params: readonly tf.Tensor[], input: tf.Tensor, targets: tf.Tensor | undefined): { output: tf.Tensor; tape: StageTape };
  /** Returns dInput (undefined on stage 0) and the parameter gradients in canonical order. */
  backward(params: readonly tf.Tensor[], tape: StageTape, outputGrad: tf.Tensor | undefined): { inputGrad?: tf.Tensor; grads: tf.Tensor[] };
  /**
   * Frees the weight views cached per step (transposed matrices, qkv column blocks); call whenever the parameters change
   * (optimizer step, weights import) and on disposal.
   */
  invalidate(): void;
}

/** All tensors a tape holds (for disposal). */
export function tapeTensors(tape: StageTape): tf.Tensor[] {
  return [
    ...(tape.oneHot ? [tape.oneHot] : []),
    ...tape.blocks.flatMap((b) => Object.values(b)),
    ...(tape.head ? Object.values(tape.head) : []),
  ];
}

/** Builds the taped forward/backward of stage `stage`; `mask` is the [T, T] causal mask. */
export function tapedStage(spec: ModelSpec, stage: number, mask: tf.Tensor): TapedStage {
  const names = stageParameters(spec, stage).map((p) => p.name);
  const index = new Map(names.map((name, i) => [name, i]));
  const range = spec.stages[stage] as readonly [number, number];
  const isFirst = stage === 0;
  const isLast = stage === spec.stages.length - 1;
  const d = spec.dModel;
  const getter =
    (params: readonly tf.Tensor[]) =>
    (name: string): tf.Tensor => {
      const p = params[index.get(name) ?? -1];
      if (!p) throw new Error(`stage ${stage} has no parameter ${name}`);
      return p;
    };
  // Transposed weight matrices, made on first use after each invalidate(): backward multiplies
  // every microbatch's gradient by the same W^T, so one transpose (and one XNNPACK packing) per step.
  const transposed = new Map<string, tf.Tensor>();
  const transposedOf = (get: (name: string) => tf.Tensor, name: string): tf.Tensor => {
    let t = transposed.get(name);
    if (!t) {
      t = tf.keep(tf.transpose(get(name)));
      transposed.set(name, t);
    }
    return t;
  };
  // attn.qkv's q, k and v column blocks, cached the same way for the forward.
  const qkvParts = new Map<string, tf.Tensor[]>();
  const qkvPartsOf = (get: (name: string) => tf.Tensor, layer: number): tf.Tensor[] => {
    const name = `block.${layer}.attn.qkv`;
    let parts = qkvParts.get(name);
    if (!parts) {
      parts = tf.split(get(name), 3, 1).map((p) => tf.keep(p));
      qkvParts.set(name, parts);
    }
    return parts;
  };
  const blockWeightsT = (get: (name: string) => tf.Tensor, layer: number): BlockWeightsT => ({
    qkv: transposedOf(get, `block.${layer}.attn.qkv`),
    out: transposedOf(get, `block.${layer}.attn.out`),
    mlpIn: transposedOf(get, `block.${layer}.mlp.in`),
    mlpOut: transposedOf(get, `block.${layer}.mlp.out`),
  });
  const maskFor = (time: number) => (time === spec.contextLength ? mask : tf.slice(mask, [0, 0], [time, time]));

  return {
    forward(params, input, targets) {
      const get = getter(params);
      const [batch, time] = input.shape as [number, number];
      const stepMask = maskFor(time);
      let x: tf.Tensor;
      let oneHot: tf.Tensor | undefined;
      if (isFirst) {
        ({ x, oneHot } = embedForward(input, get("embed.token"), get("embed.position"), d));
      } else {
        x = tf.reshape(input, [batch * time, d]);
      }
      const blocks: BlockTape[] = [];
      for (let layer = range[0]; layer < range[1]; layer++) {
        const { y, tape } = blockForward(x, blockWeightsOf(get, layer), qkvPartsOf(get, layer), batch, time, spec.heads, stepMask);
        blocks.push(tape);
        x = y;
      }
      if (!isLast) return { output: tf.reshape(x, [batch, time, d]), tape: { batch, time, blocks, ...(oneHot ? { oneHot } : {}) } };
      if (!targets) throw new Error("the last stage needs targets to compute the loss");
      const head = headForward(x, get("final.ln.gain"), get("final.ln.bias"), get("head.weight"), get("head.bias"), targets);
      return { output: head.loss, tape: { batch, time, blocks, head: head.tape, ...(oneHot ? { oneHot } : {}) } };
    },

    backward(params, tape, outputGrad) {
      const get = getter(params);
      const { batch, time } = tape;
      let headGrads: tf.Tensor[] = [];
      let dx: tf.Tensor;
      if (isLast) {
        if (!tape.head) throw new Error("tape has no head");
        const head = headBackward(tape.head, get("final.ln.gain"), transposedOf(get, "head.weight"));
        dx = head.dx;
        headGrads = head.grads;
      } else {
        if (!outputGrad) throw new Error(`stage ${stage} needs the output gradient`);
        dx = tf.reshape(outputGrad, [batch * time, d]);
      }
      const blockGrads: tf.Tensor[][] = [];
      for (let layer = range[1] - 1; layer >= range[0]; layer--) {
        const back = blockBackward(
          dx,
          blockWeightsOf(get, layer),
          blockWeightsT(get, layer),
          tape.blocks[layer - range[0]] as BlockTape,
          batch,
          time,
          spec.heads,
        );
        dx = back.dx;
        blockGrads.unshift(back.grads);
      }
      if (isFirst) {
        if (!tape.oneHot) throw new Error("tape has no one-hot input");
        const embedGrads = embedBackward(dx, tape.oneHot, get("embed.position"), batch, time);
        return { grads: [...embedGrads, ...blockGrads.flat(), ...headGrads] };
      }
      return { inputGrad: tf.reshape(dx, [batch, time, d]), grads: [...blockGrads.flat(), ...headGrads] };
    },

    invalidate() {
      tf.dispose([...transposed.values(), ...[...qkvParts.values()].flat()]);
      transposed.clear();
      qkvParts.clear();
    },
  };
}
