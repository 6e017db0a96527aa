import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { relativeL2 } from "../validator/tolerance.ts";
import { type BackendName, selectBackend } from "../backend/select.ts";
import { LOCAL_HEAD, trainingMicrobatch } from "../data/batches.ts";
import { runLocalStep } from "../../dev/model/local.ts";
import { dataParameters, defaultModelSpec } from "./spec.ts";
import { createStage } from "./stage.ts";

/** Cross-backend tolerance for validators comparing wasm with cpu re-execution (calibrated below). */
const WASM_CPU_RELATIVE_L2_TOLERANCE = 1e-5;

describe("cross-backend calibration", () => {
  it("wasm and cpu gradients agree to float32 rounding", async () => {
    const spec = defaultModelSpec({ dModel: 32, heads: 2, layers: 2, contextLength: 16, microbatchSize: 4, stageCount: 2 });
    const batch = trainingMicrobatch(dataParameters(spec), 1n, 0n, LOCAL_HEAD, 0);
    const gradientsOn = async (backend: BackendName) => {
      await selectBackend({ backend });
      const stages = spec.stages.map((_, s) => createStage(spec, s));
      const { gradients } = runLocalStep(stages, [batch]);
      for (const stage of stages) stage.dispose();
      return gradients[0] as Float32Array[];
    };
    const wasm = await gradientsOn("wasm");
    const cpu = await gradientsOn("cpu");
    expect(tf.getBackend()).toBe("cpu");
    const errors = wasm.map((g, s) => relativeL2(g, cpu[s] as Float32Array));
    console.log(`wasm vs cpu gradient relative L2 per stage: ${errors.map((e) => e.toExponential(2)).join(", ")}`);
    for (const error of errors) expect(error).toBeLessThan(WASM_CPU_RELATIVE_L2_TOLERANCE);
  });
});
