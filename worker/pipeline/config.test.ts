import { describe, expect, it } from "vitest";
import { parseStageArgs, resolveStageConfig, StageConfigError } from "./config.ts";

const toy = { vocab: 16, width: 8, batch: 2, seqLen: 4, stages: 2, seed: 1, learningRate: 0.1 };
const base = { stage: 1, model: { kind: "toy" as const, toy }, modelId: "5" };

describe("stage process config", () => {
  it("fillsDefaults_loopbackListen_1f1b_int8_autoBackend", () => {
    const c = resolveStageConfig(base);
    expect(c.listen).toEqual(["/ip4/127.0.0.1/tcp/0"]);
    expect([c.schedule, c.wire, c.backend, c.rounds, c.startRound]).toEqual(["1f1b", "int8", "auto", 1, "0"]);
    expect(c.dial).toEqual({ attempts: 8, baseDelayMs: 100, maxDelayMs: 2000 });
  });

  it("argvOverridesJson", () => {
    const c = parseStageArgs(
      ["--config", "cfg.json", "--stage", "0", "--next", "/ip4/127.0.0.1/tcp/9", "--wire", "float32", "--rounds", "3", "--start-round", "12"],
      (path) => (path === "cfg.json" ? JSON.stringify(base) : ""),
    );
    expect([c.stage, c.next, c.wire, c.rounds, c.startRound, c.modelId]).toEqual([0, "/ip4/127.0.0.1/tcp/9", "float32", 3, "12", "5"]);
  });

  it("rejectsBadValuesNamingTheField", () => {
    expect(() => resolveStageConfig({ ...base, stage: -1 })).toThrow(/config\.stage/);
    expect(() => resolveStageConfig({ ...base, modelId: "0x1" })).toThrow(/config\.modelId/);
    expect(() => resolveStageConfig({ ...base, wire: "int4" as "int8" })).toThrow(/config\.wire/);
    expect(() => resolveStageConfig({ ...base, rounds: 0 })).toThrow(StageConfigError);
    expect(() => resolveStageConfig({ ...base, backend: "webgpu" as "wasm" })).toThrow(/config\.backend/);
    expect(() => resolveStageConfig({ ...base, model: { kind: "transformer" } })).toThrow(/config\.model needs spec/);
    expect(() => parseStageArgs(["--bogus", "1"], () => "")).toThrow(/unknown flag --bogus/);
    expect(() => parseStageArgs(["--stage"], () => "")).toThrow(/needs a value/);
  });
});
