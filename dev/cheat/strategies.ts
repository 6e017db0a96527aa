import * as tf from "@tensorflow/tfjs";
import { sizeOf, stageParameters } from "../../worker/model/layout.ts";
import type { ModelSpec } from "../../worker/model/spec.ts";
import type { PipelineStage } from "../../worker/pipeline/types.ts";

/**
 * Cheating behaviours of a miner's stage, as wrappers of a real {@link PipelineStage}: the
 * pipeline runner, the links and the commitment code stay untouched, so what a cheater commits
 * and sends is exactly what these wrappers return.
 */
export type StageCheat = (inner: PipelineStage, spec: ModelSpec) => PipelineStage;

/** Delegates everything; wrappers override what they fake. */
class Delegating implements PipelineStage {
  constructor(readonly inner: PipelineStage) {}
  get index(): number {
    return this.inner.index;
  }
  get count(): number {
    return this.inner.count;
  }
  get parameterCount(): number {
    return this.inner.parameterCount;
  }
  forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor {
    return this.inner.forward(microbatch, input, targets);
  }
  backward(microbatch: number, outputGrad?: tf.Tensor): { inputGrad?: tf.Tensor; parameterGradient: Float32Array } {
    return this.inner.backward(microbatch, outputGrad);
  }
  step(): void {
    this.inner.step();
  }
  discard(microbatch: number): void {
    this.inner.discard(microbatch);
  }
  infer(input: tf.Tensor): tf.Tensor {
    return this.inner.infer(input);
  }
  exportWeights(): Float32Array {
    return this.inner.exportWeights();
  }
  importWeights(values: Float32Array): void {
    this.inner.importWeights(values);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

/**
 * Forwards under fresh inner microbatch ids, so a cheater that skips some backwards never
 * collides with the activations the inner stage still keeps for them (they are freed on dispose).
 */
class SkippingDelegate extends Delegating {
  readonly #ids = new Map<number, number>();
  readonly inputShapes = new Map<number, number[]>();
  #next = 0;
  override forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor {
    const id = this.#next++;
    this.#ids.set(microbatch, id);
    this.inputShapes.set(microbatch, input.shape);
    return this.inner.forward(id, input, targets);
  }
  /** The honest backward of `microbatch`. */
  honestBackward(microbatch: number, outputGrad?: tf.Tensor): { inputGrad?: tf.Tensor; parameterGradient: Float32Array } {
    return this.inner.backward(this.#ids.get(microbatch) as number, outputGrad);
  }
}

/** Skips backward and makes gradients up: `fake(size)` gives the values (zeros, noise). */
class SkippedBackward extends SkippingDelegate {
  constructor(
    inner: PipelineStage,
    readonly fake: (size: number) => Float32Array,
  ) {
    super(inner);
  }
  override backward(microbatch: number): { inputGrad?: tf.Tensor; parameterGradient: Float32Array } {
    const shape = this.inputShapes.get(microbatch) as number[];
    const parameterGradient = this.fake(this.parameterCount);
    if (this.index === 0) return { parameterGradient };
    return { inputGrad: tf.tensor(this.fake(sizeOf(shape)), shape, "float32"), parameterGradient };
  }
}

/** Deterministic pseudo-random normal-ish values (sum of uniforms), scaled like small gradients. */
function noise(seed: number): (size: number) => Float32Array {
  let s = seed >>> 0;
  return (size) => {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = (s / 2 ** 32 - 0.5) * 2e-2;
    }
    return out;
  };
}

/** Random gradients instead of backward. */
export const randomGradients: StageCheat = (inner) => new SkippedBackward(inner, noise(7));

/** Skipped backward pass reported as zero gradients. */
export const zeroGradients: StageCheat = (inner) => new SkippedBackward(inner, (n) => new Float32Array(n));

/**
 * Computes the first round honestly, then skips backward in every later round and re-sends the
 * first round's gradients of the same microbatch index (stale gradients).
 */
export const staleGradients: StageCheat = (inner) => {
  const stale = new Map<number, { inputGrad?: Float32Array; shape?: number[]; parameterGradient: Float32Array }>();
  let rounds = 0;
  return new (class extends SkippingDelegate {
    override backward(microbatch: number, outputGrad?: tf.Tensor) {
      const old = stale.get(microbatch);
      if (rounds === 0 || !old) {
        const r = this.honestBackward(microbatch, outputGrad);
        stale.set(microbatch, {
          parameterGradient: r.parameterGradient,
          ...(r.inputGrad ? { inputGrad: r.inputGrad.dataSync() as Float32Array, shape: r.inputGrad.shape } : {}),
        });
        return r;
      }
      const parameterGradient = old.parameterGradient.slice();
      return old.inputGrad ? { inputGrad: tf.tensor(old.inputGrad, old.shape, "float32"), parameterGradient } : { parameterGradient };
    }
    override step(): void {
      rounds++;
      inner.step();
    }
  })(inner);
};

/** Honest backward, then every gradient multiplied by `factor` (e.g. to dominate the update). */
export function scaledGradients(factor: number): StageCheat {
  return (inner) =>
    new (class extends Delegating {
      override backward(microbatch: number, outputGrad?: tf.Tensor) {
        const r = inner.backward(microbatch, outputGrad);
        const parameterGradient = r.parameterGradient.map((g) => g * factor);
        if (!r.inputGrad) return { parameterGradient };
        const inputGrad = tf.mul(r.inputGrad, factor);
        r.inputGrad.dispose();
        return { inputGrad, parameterGradient };
      }
    })(inner);
}

/**
 * Computes with other weights than the committed ones (`transform` of the real weights) and
 * restores the real weights before the optimizer step, so the commitment's weights roots look
 * honest while activations and gradients come from a cheaper model.
 */
function computeWith(transform: (weights: Float32Array, spec: ModelSpec, stage: number) => Float32Array): StageCheat {
  return (inner, spec) => {
    let real: Float32Array | undefined;
    return new (class extends Delegating {
      override forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor {
        if (!real) {
          real = inner.exportWeights();
          inner.importWeights(transform(real, spec, inner.index));
        }
        return inner.forward(microbatch, input, targets);
      }
      override step(): void {
        if (real) inner.importWeights(real);
        real = undefined;
        inner.step();
      }
    })(inner);
  };
}

/** Weights rounded to bfloat16 (8 mantissa bits) for compute: lower precision than the spec's float32. */
export const lowerPrecision: StageCheat = computeWith((w) => {
  const bits = new Uint32Array(w.slice().buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = ((bits[i] as number) + 0x8000) & 0xffff0000;
  return new Float32Array(bits.buffer);
});

/**
 * Drops the stage's last transformer block: zeroing the projections that write into the residual
 * stream turns a pre-norm block into the identity (what a miner skipping the layer computes).
 */
export const fewerLayers: StageCheat = computeWith((w, spec, stage) => {
  const out = w.slice();
  const range = spec.stages[stage] as [number, number];
  const last = `block.${range[1] - 1}.`;
  let offset = 0;
  for (const p of stageParameters(spec, stage)) {
    const size = sizeOf(p.shape);
    if (p.name.startsWith(last) && /attn\.out|mlp\.out/.test(p.name)) out.fill(0, offset, offset + size);
    offset += size;
  }
  return out;
});
