import * as tf from "@tensorflow/tfjs";
import { stageForward } from "../../worker/model/forward.ts";
import { initialValues } from "../../worker/model/init.ts";
import { sizeOf, stageParameters } from "../../worker/model/layout.ts";
import { causalMask } from "../../worker/model/ops.ts";
import { type ModelSpec, validateModelSpec } from "../../worker/model/spec.ts";

/**
 * The whole model in one process: the reference the pipeline is checked against. It holds every
 * stage's parameters, so it is dev-only (not shipped): tests check the stages against it; workers
 * use `createStage`.
 */
export interface FullModel {
  readonly parameterCount: number;
  /** Mean loss and the gradient of every stage (canonical order), by one autodiff pass through all stages. */
  lossAndGradients(inputs: tf.Tensor, targets: tf.Tensor): { loss: number; stageGradients: Float32Array[] };
  /** Mean loss only. */
  loss(inputs: tf.Tensor, targets: tf.Tensor): number;
  /** Loads one stage's flattened weights (e.g. from a pipeline checkpoint). */
  importStageWeights(stage: number, values: Float32Array): void;
  dispose(): void;
}

/** Builds the full reference model with the same deterministic initialization as the stages. */
export function createFullModel(spec: ModelSpec): FullModel {
  validateModelSpec(spec);
  const stages = spec.stages.map((_, s) => stageParameters(spec, s));
  const params = stages.map((infos) => infos.map((p) => tf.tensor(initialValues(spec.initSeed, p), [...p.shape], "float32")));
  const mask = causalMask(spec.contextLength);
  const runs = spec.stages.map((_, s) => stageForward(spec, s, mask));
  const sizes = stages.map((infos) => infos.reduce((n, p) => n + sizeOf(p.shape), 0));

  const chain = (flat: readonly tf.Tensor[], inputs: tf.Tensor, targets: tf.Tensor): tf.Tensor => {
    let offset = 0;
    let x = inputs;
    runs.forEach((run, s) => {
      const n = (stages[s] as unknown[]).length;
      x = run(flat.slice(offset, offset + n), x, targets, "loss");
      offset += n;
    });
    return x;
  };

  return {
    parameterCount: sizes.reduce((a, b) => a + b, 0),
    lossAndGradients(inputs, targets) {
      const flat = params.flat();
      const { value, grads } = tf.tidy(() => tf.valueAndGrads((...xs: tf.Tensor[]) => chain(xs, inputs, targets))(flat));
      const loss = value.dataSync()[0] as number;
      let offset = 0;
      const stageGradients = stages.map((infos, s) => {
        const out = new Float32Array(sizes[s] as number);
        let at = 0;
        infos.forEach(() => {
          const g = grads[offset++] as tf.Tensor;
          out.set(g.dataSync(), at);
          at += g.size;
        });
        return out;
      });
      tf.dispose([value, ...grads]);
      return { loss, stageGradients };
    },
    loss(inputs, targets) {
      return tf.tidy(() => chain(params.flat(), inputs, targets).dataSync()[0] as number);
    },
    importStageWeights(stage, values) {
      const infos = stages[stage];
      const current = params[stage];
      if (!infos || !current) throw new RangeError(`stage ${stage} does not exist`);
      if (values.length !== sizes[stage]) throw new RangeError(`stage ${stage} has ${sizes[stage]} parameters, got ${values.length}`);
      let offset = 0;
      infos.forEach((p, i) => {
        const size = sizeOf(p.shape);
        (current[i] as tf.Tensor).dispose();
        current[i] = tf.tensor(values.slice(offset, offset + size), [...p.shape], "float32");
        offset += size;
      });
    },
    dispose() {
      tf.dispose([...params.flat(), mask]);
    },
  };
}
