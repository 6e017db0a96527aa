import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodingModel, generateTokens } from "../../worker/model/generate.ts";
import { defaultModelSpec } from "../../worker/model/spec.ts";
import { createStage } from "../../worker/model/stage.ts";
import { runStageProcesses, type StageEvent } from "../../worker/pipeline/launch.ts";

const spec = defaultModelSpec({
  stageCount: 3,
  layers: 3,
  dModel: 32,
  heads: 2,
  contextLength: 16,
  microbatchSize: 4,
  microbatchesPerStep: 2,
  learningRate: 1e-2,
});
const prompts = ["The jury said", "It was"];
const MAX_NEW = 6;
const dir = mkdtempSync(join(tmpdir(), "shardholder-serve-"));
const weightsFile = (s: number): string => join(dir, `stage${s}.f32`);

beforeAll(async () => {
  await tf.setBackend("wasm");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("serving through the multi-process pipeline", () => {
  it("threeStages_trainedWeights_generateGreedyText_sameTokensAsSingleProcessReference", async () => {
    const base = { model: { kind: "transformer" as const, spec }, modelId: "3", backend: "wasm" as const, wire: "int8" as const };
    await runStageProcesses(3, (s) => ({ ...base, rounds: 2, weightsOut: weightsFile(s) }));
    const procs = await runStageProcesses(3, (s) => ({
      ...base,
      mode: "serve",
      weightsIn: weightsFile(s),
      ...(s === 0 ? { prompts, maxNewTokens: MAX_NEW } : {}),
    }));
    const generated = procs[0]?.all("generated") as (StageEvent & { prompt: string; text: string; tokens: number[]; bytesSent: number })[];
    expect(generated.map((g) => g.prompt)).toEqual(prompts);

    // The same trained weights, all stages in this process, the same int8 codec between them.
    const stages = spec.stages.map((_, s) => {
      const stage = createStage(spec, s);
      const b = readFileSync(weightsFile(s));
      stage.importWeights(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
      return stage;
    });
    const model = decodingModel(spec);
    try {
      for (const g of generated) {
        const want = generateTokens(model, stages, model.tokenizer.encode(g.prompt), MAX_NEW, { wire: "int8" });
        expect(g.tokens).toEqual(want);
        expect(g.text).toBe(model.tokenizer.decode(want));
        expect(g.text).toHaveLength(MAX_NEW);
      }
    } finally {
      for (const s of stages) s.dispose();
    }

    // Stage 0 opens each request with a signed 32-byte begin frame, then sends one [1, T, d] int8
    // activation per token (no targets: serving frames are lone tensors) with its 64-byte signature;
    // T grows with the text. The lossless codec may shrink a frame, never grow it.
    const beginBytes = 4 + 13 + 32 + 64;
    const frameBytes = (t: number): number => 4 + 13 + 18 + t * spec.dModel + 64;
    generated.forEach((g) => {
      const promptLength = g.prompt.length;
      const expected = Array.from({ length: MAX_NEW }, (_, i) => frameBytes(Math.min(spec.contextLength, promptLength + i))).reduce(
        (a, b) => a + b,
        beginBytes,
      );
      expect(g.bytesSent).toBeLessThanOrEqual(expected);
      expect(g.bytesSent).toBeGreaterThan(0.9 * expected);
    });
    const served = procs.slice(1).map((p) => p.all("served")[0] as StageEvent);
    expect(served.map((s) => s.activations)).toEqual([prompts.length * MAX_NEW, prompts.length * MAX_NEW]);
    // The middle stage relays every token; only the last stage picks them.
    expect(served.map((s) => s.tokensRelayed)).toEqual([prompts.length * MAX_NEW, 0]);
    // inferToken payload: the token id as u32 LE, 4 bytes (what `shardholder serve` sends).
    const tokenFrames = (
      (procs[0]?.all("audit")[0] as StageEvent).received as { kind: string; count: number; payloadBytes: number }[]
    ).find((r) => r.kind === "inferToken");
    expect(tokenFrames).toEqual({ kind: "inferToken", count: prompts.length * MAX_NEW, payloadBytes: 4 * prompts.length * MAX_NEW });
    const kinds = procs.map((p) => ((p.all("audit")[0] as StageEvent).received as { kind: string }[]).map((r) => r.kind).sort());
    // Both ends of every link open with a signed hello; requests open with a begin and end with
    // each downstream stage's commitment, relayed to stage 0.
    expect(kinds).toEqual([
      ["hello", "inferCommitment", "inferToken"],
      ["hello", "inferActivation", "inferBegin", "inferCommitment", "inferToken"],
      ["hello", "inferActivation", "inferBegin"],
    ]);
    // Stage 0 gathered one commitment per stage for each request, each over MAX_NEW positions.
    for (const g of generated as unknown as { commitments: { positions: number }[] }[])
      expect(g.commitments.map((c) => c.positions)).toEqual([MAX_NEW, MAX_NEW, MAX_NEW]);
    for (const [s, p] of procs.entries()) {
      const variables = (p.all("audit")[0] as StageEvent).variables as { name: string }[];
      expect(variables.every((v) => v.name.startsWith(`stage${s}#`))).toBe(true);
    }
  });
});
