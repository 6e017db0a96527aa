import * as tf from "@tensorflow/tfjs";
import type { Hex } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { type StageForward, stageForward } from "./forward.ts";
import { initialValues } from "./init.ts";
import { type ParameterInfo, sizeOf, stageParameters } from "./layout.ts";
import { causalMask } from "./ops.ts";
import { type StageTape, type TapedStage, tapedStage, tapeTensors } from "./tape.ts";
import { type ModelSpec, validateModelSpec } from "./spec.ts";

/** One pipeline stage: holds only its own parameters and optimizer state. */
export interface PipelineStage {
  readonly index: number;
  readonly count: number;
  readonly parameterCount: number;
  /** This stage's parameter names in canonical order (see `stageParameters`). */
  readonly parameterNames: readonly string[];
  /**
   * Forward one microbatch. Stage 0 input: int32 [B,T] token ids; others: float32 [B,T,d] activations.
   * Returns the activations to send on (owned by the caller); the last stage returns the scalar mean
   * loss and needs `targets` (int32 [B,T]). Keeps the activations backward needs, keyed by
   * microbatch; the caller may dispose its input and targets afterwards.
   */
  forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor;
  /**
   * Backward one microbatch: `outputGrad` is the gradient w.r.t. this stage's output (undefined on
   * the last stage). Uses the activations forward kept (hand-written backward, no recomputation),
   * accumulates parameter gradients, returns the gradient w.r.t. the input (undefined on stage 0;
   * owned by the caller) and this microbatch's flattened parameter gradient in canonical order.
   * Frees what forward kept.
   */
  backward(microbatch: number, outputGrad?: tf.Tensor): { inputGrad?: tf.Tensor; parameterGradient: Float32Array };
  /**
   * Applies the accumulated gradients (mean over the microbatches since the last step, summed in
   * ascending microbatch index whatever order backward ran in) with Adam and clears them.
   */
  step(): void;
  /**
   * Forgets a microbatch: what its forward kept and its pending gradient, so the next step does
   * not count it (a replica whose microbatch its upstream re-routed elsewhere). No-op when unknown.
   */
  discard(microbatch: number): void;
  /** Forward without keeping anything (serving): the last stage returns logits [B,T,V]. */
  infer(input: tf.Tensor): tf.Tensor;
  /** Flattened parameters in canonical order (for weights roots and checkpoints) and loading them back. */
  exportWeights(): Float32Array;
  importWeights(values: Float32Array): void;
  /** Adam state (steps taken, first and second moments in canonical order) for exact resumption. */
  exportOptimizerState(): OptimizerState;
  importOptimizerState(state: OptimizerState): void;
  dispose(): void;
}

/** Adam's state of one stage. */
export interface OptimizerState {
  readonly step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/** A call that does not fit the stage's role or state (wrong shape, unknown microbatch, ...). */
export class StageUsageError extends BaseError {
  constructor(reason: string) {
    super(reason, { name: "StageUsageError" });
  }
}

let instances = 0;

function flatten(tensors: readonly tf.Tensor[], total: number): Float32Array {
  const out = new Float32Array(total);
  let offset = 0;
  for (const t of tensors) {
    out.set(t.dataSync(), offset);
    offset += t.size;
  }
  return out;
}

class TransformerStage implements PipelineStage {
  readonly index: number;
  readonly count: number;
  readonly parameterCount: number;
  readonly parameterNames: readonly string[];
  readonly #spec: ModelSpec;
  readonly #infos: ParameterInfo[];
  readonly #params: tf.Variable[];
  readonly #mask: tf.Tensor;
  readonly #run: StageForward;
  readonly #taped: TapedStage;
  readonly #kept = new Map<number, StageTape>();
  /**
   * Per-microbatch parameter gradients since the last step, by microbatch index. `step()` sums
   * them in ascending index order: float addition is not associative, and summing in arrival
   * order would make GPipe and 1F1B (which finish backwards in different orders) diverge bitwise.
   */
  readonly #pending = new Map<number, tf.Tensor[]>();
  #m: tf.Tensor[];
  #v: tf.Tensor[];
  #step = 0;
  #disposed = false;

  constructor(spec: ModelSpec, stage: number) {
    validateModelSpec(spec);
    if (!Number.isSafeInteger(stage) || stage < 0 || stage >= spec.stages.length) {
      throw new StageUsageError(`stage ${stage} does not exist: the spec has ${spec.stages.length} stages`);
    }
    this.#spec = spec;
    this.index = stage;
    this.count = spec.stages.length;
    this.#infos = stageParameters(spec, stage);
    this.parameterNames = this.#infos.map((p) => p.name);
    this.parameterCount = this.#infos.reduce((n, p) => n + sizeOf(p.shape), 0);
    const tag = `stage${stage}#${instances++}`;
    this.#params = this.#infos.map((p) => {
      const initial = tf.tensor(initialValues(spec.initSeed, p), [...p.shape], "float32");
      const variable = tf.variable(initial, true, `${tag}/${p.name}`);
      initial.dispose(); // the variable holds its own reference to the data
      return variable;
    });
    this.#m = this.#infos.map((p) => tf.zeros([...p.shape]));
    this.#v = this.#infos.map((p) => tf.zeros([...p.shape]));
    this.#mask = causalMask(spec.contextLength);
    this.#run = stageForward(spec, stage, this.#mask);
    this.#taped = tapedStage(spec, stage, this.#mask);
  }

  get #isFirst(): boolean {
    return this.index === 0;
  }

  get #isLast(): boolean {
    return this.index === this.count - 1;
  }

  #checkInput(input: tf.Tensor): void {
    if (this.#disposed) throw new StageUsageError(`stage ${this.index} is disposed`);
    const [batch, time, width] = input.shape;
    const okTime = time !== undefined && time > 0 && time <= this.#spec.contextLength && batch !== undefined && batch > 0;
    if (this.#isFirst) {
      if (input.rank !== 2 || input.dtype !== "int32" || !okTime) {
        throw new StageUsageError(
          `stage 0 expects int32 token ids [B, T<=${this.#spec.contextLength}], got ${input.dtype} [${input.shape}]`,
        );
      }
    } else if (input.rank !== 3 || input.dtype !== "float32" || !okTime || width !== this.#spec.dModel) {
      throw new StageUsageError(
        `stage ${this.index} expects float32 activations [B, T, ${this.#spec.dModel}], got ${input.dtype} [${input.shape}]`,
      );
    }
  }

  forward(microbatch: number, input: tf.Tensor, targets?: tf.Tensor): tf.Tensor {
    this.#checkInput(input);
    if (this.#kept.has(microbatch)) throw new StageUsageError(`microbatch ${microbatch} is already in flight on stage ${this.index}`);
    if (this.#isLast) {
      if (
        !targets ||
        targets.dtype !== "int32" ||
        targets.rank !== 2 ||
        targets.shape[0] !== input.shape[0] ||
        targets.shape[1] !== input.shape[1]
      ) {
        throw new StageUsageError(`the last stage needs int32 targets [${input.shape.slice(0, 2)}]`);
      }
    }
    const { output, tape } = tf.tidy(
      () => this.#taped.forward(this.#params, input, targets) as unknown as tf.TensorContainerObject,
    ) as unknown as {
      output: tf.Tensor;
      tape: StageTape;
    };
    this.#kept.set(microbatch, tape);
    return output;
  }

  backward(microbatch: number, outputGrad?: tf.Tensor): { inputGrad?: tf.Tensor; parameterGradient: Float32Array } {
    const tape = this.#kept.get(microbatch);
    if (!tape) throw new StageUsageError(`microbatch ${microbatch} has no forward pending on stage ${this.index}`);
    if (this.#isLast === (outputGrad !== undefined)) {
      throw new StageUsageError(this.#isLast ? "the last stage takes no output gradient" : `stage ${this.index} needs the output gradient`);
    }
    const { inputGrad, grads: paramGrads } = tf.tidy(
      () => this.#taped.backward(this.#params, tape, outputGrad) as unknown as tf.TensorContainerObject,
    ) as unknown as { inputGrad?: tf.Tensor; grads: tf.Tensor[] };
    this.#kept.delete(microbatch);
    tf.dispose(tapeTensors(tape));
    const parameterGradient = flatten(paramGrads, this.parameterCount);
    const earlier = this.#pending.get(microbatch);
    if (earlier) {
      // The same index twice before a step: both contributions count, in arrival order.
      this.#pending.set(
        microbatch,
        earlier.map((g, i) => tf.add(g, paramGrads[i] as tf.Tensor)),
      );
      tf.dispose([...earlier, ...paramGrads]);
    } else this.#pending.set(microbatch, paramGrads);
    return inputGrad ? { inputGrad, parameterGradient } : { parameterGradient };
  }

  discard(microbatch: number): void {
    const tape = this.#kept.get(microbatch);
    if (tape) tf.dispose(tapeTensors(tape));
    this.#kept.delete(microbatch);
    tf.dispose(this.#pending.get(microbatch) ?? []);
    this.#pending.delete(microbatch);
  }

  /** The pending gradients summed in ascending microbatch order (owned by the caller), and how many there were. */
  #sumPending(): { sum: tf.Tensor[]; count: number } | undefined {
    const order = [...this.#pending.keys()].sort((a, b) => a - b);
    const grads = order.map((m) => this.#pending.get(m) as tf.Tensor[]);
    this.#pending.clear();
    const [first, ...rest] = grads;
    if (!first) return undefined;
    if (rest.length === 0) return { sum: first, count: 1 };
    const sum = tf.tidy(() => first.map((g, i) => rest.reduce((acc, next) => tf.add(acc, next[i] as tf.Tensor), g)));
    tf.dispose(grads.flat());
    return { sum, count: grads.length };
  }

  step(): void {
    const pending = this.#sumPending();
    if (!pending) return;
    const accumulated = pending.sum;
    const { learningRate, beta1, beta2, epsilon } = this.#spec.optimizer;
    const t = ++this.#step;
    const scale = 1 / pending.count;
    const correction1 = 1 - beta1 ** t;
    const correction2 = 1 - beta2 ** t;
    const [m, v] = tf.tidy(() => {
      const ms: tf.Tensor[] = [];
      const vs: tf.Tensor[] = [];
      this.#params.forEach((param, i) => {
        const g = tf.mul(accumulated[i] as tf.Tensor, scale);
        const mi = tf.add(tf.mul(this.#m[i] as tf.Tensor, beta1), tf.mul(g, 1 - beta1));
        const vi = tf.add(tf.mul(this.#v[i] as tf.Tensor, beta2), tf.mul(tf.square(g), 1 - beta2));
        const update = tf.div(tf.div(mi, correction1), tf.add(tf.sqrt(tf.div(vi, correction2)), epsilon));
        param.assign(tf.sub(param, tf.mul(update, learningRate)));
        ms.push(mi);
        vs.push(vi);
      });
      return [ms, vs];
    });
    tf.dispose([...this.#m, ...this.#v, ...accumulated]);
    this.#m = m;
    this.#v = v;
    this.#taped.invalidate();
  }

  infer(input: tf.Tensor): tf.Tensor {
    this.#checkInput(input);
    return tf.tidy(() => this.#run(this.#params, input, undefined, "logits"));
  }

  exportWeights(): Float32Array {
    return flatten(this.#params, this.parameterCount);
  }

  #assignAll(targets: readonly tf.Variable[] | undefined, values: Float32Array): tf.Tensor[] {
    if (values.length !== this.parameterCount) {
      throw new StageUsageError(`stage ${this.index} has ${this.parameterCount} parameters, got ${values.length} values`);
    }
    let offset = 0;
    return this.#infos.map((p, i) => {
      const size = sizeOf(p.shape);
      const t = tf.tensor(values.slice(offset, offset + size), [...p.shape], "float32");
      offset += size;
      if (!targets) return t;
      (targets[i] as tf.Variable).assign(t);
      t.dispose();
      return targets[i] as tf.Variable;
    });
  }

  importWeights(values: Float32Array): void {
    this.#assignAll(this.#params, values);
    this.#taped.invalidate();
  }

  exportOptimizerState(): OptimizerState {
    return { step: this.#step, m: flatten(this.#m, this.parameterCount), v: flatten(this.#v, this.parameterCount) };
  }

  importOptimizerState(state: OptimizerState): void {
    if (!Number.isSafeInteger(state.step) || state.step < 0)
      throw new StageUsageError(`optimizer step must be a non-negative integer, got ${state.step}`);
    const m = this.#assignAll(undefined, state.m);
    const v = this.#assignAll(undefined, state.v);
    tf.dispose([...this.#m, ...this.#v]);
    this.#m = m;
    this.#v = v;
    this.#step = state.step;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const tape of this.#kept.values()) tf.dispose(tapeTensors(tape));
    this.#kept.clear();
    this.#taped.invalidate();
    tf.dispose([...this.#params, ...this.#m, ...this.#v, ...[...this.#pending.values()].flat(), this.#mask]);
    this.#pending.clear();
  }
}

/** Creates stage `stageIndex` of `spec`, initializing only that stage's parameters from the spec's seed. */
export function createStage(spec: ModelSpec, stageIndex: number): PipelineStage {
  return new TransformerStage(spec, stageIndex);
}

/** Weights root of each stage's deterministic initial weights (what a registry stores; built one stage at a time, then freed). */
export function initialWeightsRoots(spec: ModelSpec): Hex[] {
  return spec.stages.map((_, s) => {
    const stage = createStage(spec, s);
    try {
      return weightsRoot(stage.exportWeights());
    } finally {
      stage.dispose();
    }
  });
}
