import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { relativeL2 } from "../validator/tolerance.ts";
import { selectBackend } from "../backend/select.ts";
import { LOCAL_HEAD, trainingMicrobatch } from "../data/batches.ts";
import { createFullModel } from "../../dev/model/full.ts";
import { generateText } from "./generate.ts";
import { initialStageWeights } from "./init.ts";
import { stageComputeUnits, stageParameters, stageParameterCount, stageTrainingFlops } from "./layout.ts";
import { batchTensors, runLocalStep } from "../../dev/model/local.ts";
import { dataParameters, defaultModelSpec, evenStages, type ModelSpec } from "./spec.ts";
import { createStage, StageUsageError } from "./stage.ts";

/** Pipeline vs single-process gradients: same ops, same backend, so float32 rounding is the only slack. */
const GRADIENT_RELATIVE_L2_TOLERANCE = 1e-5;
const LOSS_ABSOLUTE_TOLERANCE = 1e-5;

function tinySpec(stageCount: number, layers = 3): ModelSpec {
  return {
    ...defaultModelSpec({ dModel: 32, heads: 2, layers, contextLength: 16, microbatchSize: 4, microbatchesPerStep: 2, stageCount }),
  };
}

function registeredVariableNames(): Set<string> {
  return new Set(Object.keys(tf.engine().state.registeredVariables));
}

beforeAll(async () => {
  await selectBackend({ backend: "wasm" });
});

describe("staged transformer", () => {
  for (const stageCount of [2, 3]) {
    it(`matches the full model's loss and gradients with ${stageCount} stages`, () => {
      const spec = tinySpec(stageCount, 4);
      const batch = trainingMicrobatch(dataParameters(spec), 7n, 3n, LOCAL_HEAD, 1);
      const full = createFullModel(spec);
      const { inputs, targets } = batchTensors(batch);
      const reference = full.lossAndGradients(inputs, targets);
      tf.dispose([inputs, targets]);
      full.dispose();

      const stages = spec.stages.map((_, s) => createStage(spec, s));
      const { loss, gradients } = runLocalStep(stages, [batch]);
      expect(Math.abs(loss - reference.loss)).toBeLessThan(LOSS_ABSOLUTE_TOLERANCE);
      expect(loss).toBeGreaterThan(4); // ~ln(95) at initialization: the loss is real, not zero.
      stages.forEach((stage, s) => {
        const got = gradients[0]?.[s] as Float32Array;
        const want = reference.stageGradients[s] as Float32Array;
        expect(got.length).toBe(stage.parameterCount);
        expect(want.length).toBe(stage.parameterCount);
        expect(want.some((g) => g !== 0)).toBe(true);
        expect(relativeL2(got, want)).toBeLessThan(GRADIENT_RELATIVE_L2_TOLERANCE);
        stage.dispose();
      });
    });
  }

  it("detects a perturbed gradient (the tolerance separates honest from altered)", () => {
    const spec = tinySpec(2);
    const batch = trainingMicrobatch(dataParameters(spec), 1n, 0n, LOCAL_HEAD, 0);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    const honest = runLocalStep(stages, [batch]).gradients[0]?.[1] as Float32Array;
    const altered = honest.map((g, i) => (i % 97 === 0 ? g * 1.01 : g));
    expect(relativeL2(altered, honest)).toBeGreaterThan(GRADIENT_RELATIVE_L2_TOLERANCE);
    for (const stage of stages) stage.dispose();
  });

  it("creates only its own stage's parameters", () => {
    const spec = tinySpec(3);
    for (let s = 0; s < 3; s++) {
      const before = registeredVariableNames();
      const tensorsBefore = tf.memory().numTensors;
      const stage = createStage(spec, s);
      const created = [...registeredVariableNames()].filter((name) => !before.has(name)).map((name) => name.split("/").slice(1).join("/"));
      expect(created.sort()).toEqual(
        stageParameters(spec, s)
          .map((p) => p.name)
          .sort(),
      );
      const others = spec.stages.flatMap((_, o) => (o === s ? [] : stageParameters(spec, o).map((p) => p.name)));
      expect(created.some((name) => others.includes(name))).toBe(false);
      // parameters + Adam moments (2 per parameter) + the causal mask: nothing else is allocated.
      expect(tf.memory().numTensors - tensorsBefore).toBe(3 * created.length + 1);
      expect(stage.parameterCount).toBe(stageParameterCount(spec, s));
      expect(stage.exportWeights()).toEqual(initialStageWeights(spec, s));
      expect(stageComputeUnits(spec, s)).toBe(Math.ceil(stageTrainingFlops(spec, s) / 1e6));
      stage.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    }
  });

  it("does not grow the tensor count over steps", () => {
    const spec = tinySpec(3);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    const batches = (round: number) => [0, 1].map((i) => trainingMicrobatch(dataParameters(spec), 1n, BigInt(round), LOCAL_HEAD, i));
    runLocalStep(stages, batches(0));
    const count = tf.memory().numTensors;
    for (let round = 1; round < 4; round++) {
      runLocalStep(stages, batches(round));
      expect(tf.memory().numTensors).toBe(count);
    }
    for (const stage of stages) stage.dispose();
  });

  it("is bitwise deterministic from the seed and differs for another seed", () => {
    const spec = tinySpec(2);
    const batches = [0, 1].map((i) => trainingMicrobatch(dataParameters(spec), 1n, 0n, LOCAL_HEAD, i));
    const run = (initSeed: number) => {
      const stages = spec.stages.map((_, s) => createStage({ ...spec, initSeed }, s));
      const initial = stages.map((st) => st.exportWeights());
      const { gradients } = runLocalStep(stages, batches);
      const after = stages.map((st) => st.exportWeights());
      for (const st of stages) st.dispose();
      return { initial, gradients, after };
    };
    const a = run(1);
    const b = run(1);
    const c = run(2);
    expect(b.initial).toEqual(a.initial);
    expect(b.gradients).toEqual(a.gradients);
    expect(b.after).toEqual(a.after);
    expect(c.initial[0]).not.toEqual(a.initial[0]);
  });

  it("learns: the loss falls by over 20% in 30 steps of a tiny model", () => {
    const spec = tinySpec(3);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    const losses: number[] = [];
    for (let round = 0; round < 30; round++) {
      const batches = [0, 1].map((i) => trainingMicrobatch(dataParameters(spec), 1n, BigInt(round), LOCAL_HEAD, i));
      losses.push(runLocalStep(stages, batches).loss);
    }
    const first = losses[0] as number;
    const last = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(last).toBeLessThan(0.8 * first);
    for (const stage of stages) stage.dispose();
  });

  it("round-trips weights and optimizer state into a fresh stage", () => {
    const spec = tinySpec(2);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    runLocalStep(stages, [trainingMicrobatch(dataParameters(spec), 1n, 0n, LOCAL_HEAD, 0)]);
    const copies = spec.stages.map((_, s) => createStage(spec, s));
    copies.forEach((copy, s) => {
      copy.importWeights((stages[s] as (typeof stages)[number]).exportWeights());
      copy.importOptimizerState((stages[s] as (typeof stages)[number]).exportOptimizerState());
    });
    const next = [trainingMicrobatch(dataParameters(spec), 1n, 1n, LOCAL_HEAD, 0)];
    expect(runLocalStep(copies, next)).toEqual(runLocalStep(stages, next));
    expect(copies[1]?.exportWeights()).toEqual(stages[1]?.exportWeights());
    expect(() => copies[0]?.importWeights(new Float32Array(3))).toThrow(StageUsageError);
    for (const stage of [...stages, ...copies]) stage.dispose();
  });

  it("rejects inputs that do not fit the stage", () => {
    const spec = tinySpec(2);
    const [first, last] = spec.stages.map((_, s) => createStage(spec, s)) as [
      ReturnType<typeof createStage>,
      ReturnType<typeof createStage>,
    ];
    const activations = tf.zeros([2, 16, 32]);
    const ids = tf.zeros([2, 16], "int32");
    expect(() => first.forward(0, activations)).toThrow(StageUsageError);
    expect(() => last.forward(0, ids, ids)).toThrow(StageUsageError);
    expect(() => last.forward(0, activations)).toThrow(/targets/);
    expect(() => first.backward(5, activations)).toThrow(/no forward pending/);
    expect(() => createStage(spec, 2)).toThrow(StageUsageError);
    tf.dispose([activations, ids]);
    first.dispose();
    last.dispose();
  });

  it("serves logits [B, T, V] through the stages", () => {
    const spec = tinySpec(2);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    const ids = tf.tensor2d([[40, 41, 42]], [1, 3], "int32");
    const hidden = stages[0]?.infer(ids) as tf.Tensor;
    const logits = stages[1]?.infer(hidden) as tf.Tensor;
    expect(logits.shape).toEqual([1, 3, spec.vocab.length]);
    tf.dispose([ids, hidden, logits]);
    for (const stage of stages) stage.dispose();
  });
});

describe("stage layout", () => {
  it("splits layers evenly and puts embeddings first and the head last", () => {
    expect(evenStages(4, 3)).toEqual([
      [0, 2],
      [2, 3],
      [3, 4],
    ]);
    const spec = tinySpec(3);
    expect(
      stageParameters(spec, 0)
        .map((p) => p.name)
        .slice(0, 2),
    ).toEqual(["embed.token", "embed.position"]);
    expect(
      stageParameters(spec, 2)
        .map((p) => p.name)
        .slice(-2),
    ).toEqual(["head.weight", "head.bias"]);
    expect(stageParameters(spec, 1).every((p) => p.name.startsWith("block.1."))).toBe(true);
  });
});

describe("generation", () => {
  it("generates the same text greedily on every run and a different one after training", () => {
    const spec = tinySpec(2);
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    const before = generateText(spec, stages, "The jury", 12);
    expect(before).toHaveLength(12);
    expect(generateText(spec, stages, "The jury", 12)).toBe(before);
    const tensors = tf.memory().numTensors;
    generateText(spec, stages, "", 3);
    expect(tf.memory().numTensors).toBe(tensors);
    for (let round = 0; round < 10; round++)
      runLocalStep(stages, [trainingMicrobatch(dataParameters(spec), 1n, BigInt(round), LOCAL_HEAD, 0)]);
    expect(generateText(spec, stages, "The jury", 12)).not.toBe(before);
    for (const stage of stages) stage.dispose();
  });
});

describe("gradient accumulation order", () => {
  it("step_gpipeAndOneFOneB_bitwiseEqualWeights", () => {
    const spec = tinySpec(2);
    const batches = [0, 1, 2, 3].map((i) => trainingMicrobatch(dataParameters(spec), 1n, 0n, LOCAL_HEAD, i));
    const train = (backwardOrder: readonly number[]) => {
      const stages = spec.stages.map((_, s) => createStage(spec, s));
      const outputs = batches.map((batch, mb) => {
        const { inputs, targets } = batchTensors(batch);
        const hidden = stages[0]?.forward(mb, inputs) as tf.Tensor;
        const loss = stages[1]?.forward(mb, hidden, targets) as tf.Tensor;
        tf.dispose([inputs, targets, loss]);
        return hidden;
      });
      for (const mb of backwardOrder) {
        const { inputGrad } = stages[1]?.backward(mb) as { inputGrad: tf.Tensor };
        stages[0]?.backward(mb, inputGrad);
        tf.dispose([inputGrad, outputs[mb]]);
      }
      for (const stage of stages) stage.step();
      const weights = stages.map((stage) => stage.exportWeights());
      for (const stage of stages) stage.dispose();
      return weights;
    };
    // GPipe finishes backwards last-first, 1F1B first-first; a shuffled order must not matter either.
    const gpipe = train([3, 2, 1, 0]);
    const oneFOneB = train([0, 1, 2, 3]);
    const shuffled = train([2, 0, 3, 1]);
    const initial = spec.stages.map((_, s) => initialStageWeights(spec, s));
    for (let s = 0; s < 2; s++) {
      expect(gpipe[s]).not.toEqual(initial[s]);
      expect(Buffer.from((gpipe[s] as Float32Array).buffer).equals(Buffer.from((oneFOneB[s] as Float32Array).buffer))).toBe(true);
      expect(Buffer.from((gpipe[s] as Float32Array).buffer).equals(Buffer.from((shuffled[s] as Float32Array).buffer))).toBe(true);
    }
  });
});
