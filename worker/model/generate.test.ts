// The single-process reference of serving (generateTokens) must feed each stage what a stage
// process would decode from the wire, and nothing else: int8 quantizes the inter-stage
// activations, float32 and "no wire" pass them unchanged. test/worker/pipelineServe.test.ts then
// compares it with the real multi-process pipeline.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../backend/select.ts";
import { decodingModel, type DecodeOptions, generateText, generateTokens } from "./generate.ts";
import { defaultModelSpec } from "./spec.ts";
import { createStage, type PipelineStage } from "./stage.ts";

const spec = defaultModelSpec({
  dModel: 32,
  heads: 2,
  layers: 2,
  contextLength: 16,
  microbatchSize: 4,
  microbatchesPerStep: 2,
  stageCount: 2,
});
const model = decodingModel(spec);
const prompt = model.tokenizer.encode("The jury said");
const NEW = 5;

beforeAll(async () => {
  await selectBackend({ backend: "wasm" });
});

/** Stage 0's outputs and stage 1's inputs of every position, as flat arrays. */
function recordHop(options: DecodeOptions): { sent: Float32Array[]; received: Float32Array[]; tokens: number[] } {
  const [first, second] = spec.stages.map((_, s) => createStage(spec, s)) as [PipelineStage, PipelineStage];
  const sent: Float32Array[] = [];
  const received: Float32Array[] = [];
  const recordingFirst = Object.assign(Object.create(first) as PipelineStage, {
    infer: (x: tf.Tensor): tf.Tensor => {
      const y = first.infer(x);
      sent.push(y.dataSync() as Float32Array);
      return y;
    },
  });
  const recordingSecond = Object.assign(Object.create(second) as PipelineStage, {
    infer: (x: tf.Tensor): tf.Tensor => {
      received.push(Float32Array.from(x.dataSync() as Float32Array));
      return second.infer(x);
    },
  });
  try {
    return { sent, received, tokens: generateTokens(model, [recordingFirst, recordingSecond], prompt, NEW, options) };
  } finally {
    first.dispose();
    second.dispose();
  }
}

describe("generateTokens: the single-process reference of the serving pipeline", () => {
  it("test_generateTokens_int8Wire_quantizesEveryInterStageActivation_float32AndNoWireDoNot", () => {
    const plain = recordHop({});
    const f32 = recordHop({ wire: "float32" });
    const int8 = recordHop({ wire: "int8" });
    for (const run of [plain, f32, int8]) expect(run.received).toHaveLength(NEW);
    for (const [i, sent] of plain.sent.entries()) expect(plain.received[i]).toEqual(sent);
    for (const [i, sent] of f32.sent.entries()) expect(f32.received[i]).toEqual(sent);
    expect(f32.tokens).toEqual(plain.tokens);
    // int8: stage 1 sees a quantized copy, close to stage 0's output but not equal to it.
    for (const [i, sent] of int8.sent.entries()) {
      const got = int8.received[i] as Float32Array;
      expect(got).toHaveLength(sent.length);
      expect(got).not.toEqual(sent);
      const maxAbs = sent.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const maxErr = sent.reduce((m, v, j) => Math.max(m, Math.abs(v - (got[j] as number))), 0);
      expect(maxErr).toBeGreaterThan(0);
      // Round to nearest on a grid of maxAbs / 127: at most half a step off (float32 slack).
      expect(maxErr).toBeLessThanOrEqual((maxAbs / 127 / 2) * (1 + 1e-5));
    }
  });

  it("test_generateText_withAndWithoutWire_leaksNoTensors_andIsDeterministic", () => {
    const stages = spec.stages.map((_, s) => createStage(spec, s));
    try {
      const before = tf.memory().numTensors;
      const a = generateText(spec, stages, "It was", NEW, { wire: "int8" });
      const b = generateText(spec, stages, "It was", NEW);
      expect(tf.memory().numTensors).toBe(before);
      expect(a).toHaveLength(NEW);
      expect(generateText(spec, stages, "It was", NEW, { wire: "int8" })).toBe(a);
      expect(generateText(spec, stages, "It was", NEW)).toBe(b);
    } finally {
      for (const s of stages) s.dispose();
    }
  });
});
