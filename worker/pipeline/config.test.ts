import { describe, expect, it } from "vitest";
import { parseStageArgs, resolveStageConfig, StageConfigError } from "./config.ts";

const base = { stage: 1, model: { kind: "module" as const, module: "/models/research.ts", options: { width: 8 } }, modelId: "5" };

describe("stage process config", () => {
  it("fillsDefaults_loopbackListen_1f1b_int8_autoBackend", () => {
    const c = resolveStageConfig(base);
    expect(c.listen).toEqual(["/ip4/127.0.0.1/tcp/0"]);
    expect([c.schedule, c.wire, c.backend, c.rounds, c.startRound]).toEqual(["1f1b", "int8", "auto", 1, "0"]);
    expect(c.dial).toEqual({ attempts: 8, baseDelayMs: 100, maxDelayMs: 2000 });
  });

  it("argvOverridesJson", () => {
    const c = parseStageArgs(
      [
        "--config",
        "cfg.json",
        "--stage",
        "0",
        "--next",
        "/ip4/127.0.0.1/tcp/9",
        "--wire",
        "float32",
        "--rounds",
        "3",
        "--start-round",
        "12",
      ],
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
    expect(() => resolveStageConfig({ ...base, model: { kind: "toy" } as unknown as typeof base.model })).toThrow(
      /config\.model\.kind must be "transformer" or "module"/,
    );
    expect(() => resolveStageConfig({ ...base, model: { kind: "module", module: "" } })).toThrow(
      /config\.model\.module must name a module path/,
    );
    expect(() => parseStageArgs(["--bogus", "1"], () => "")).toThrow(/unknown flag --bogus/);
    expect(() => parseStageArgs(["--stage"], () => "")).toThrow(/needs a value/);
  });
});
