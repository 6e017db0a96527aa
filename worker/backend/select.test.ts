import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { measureMatmulGflops } from "../../dev/backend/bench.ts";
import { BackendUnavailableError, describeBackendSelection, parseBackendName, selectBackend } from "./select.ts";

describe("backend selection", () => {
  it("falls back from the native backends to wasm and says why", async () => {
    const selection = await selectBackend();
    expect(selection.name).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(selection.tried.map((t) => [t.name, t.ok])).toEqual([
      ["tfjs-node-gpu", false],
      ["tfjs-node", false],
      ["wasm", true],
    ]);
    expect(selection.tried[0]?.reason).toMatch(/tfjs-node-gpu/);
    expect(describeBackendSelection(selection)).toMatch(/^backend wasm \(skipped tfjs-node-gpu: .*; tfjs-node: /);
  });

  it("runs a forced backend or fails with the reason", async () => {
    expect((await selectBackend({ backend: "cpu" })).name).toBe("cpu");
    expect(tf.getBackend()).toBe("cpu");
    await expect(selectBackend({ backend: "tfjs-node" })).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(() => parseBackendName("cuda")).toThrow(/Unknown backend/);
    expect((await selectBackend({ backend: parseBackendName("wasm") })).tfBackend).toBe("wasm");
  });

  it("measures the wasm matmul well above the pure-JS cpu backend", async () => {
    await selectBackend({ backend: "wasm" });
    const wasm = measureMatmulGflops(256, 256, 256, 0.2);
    await selectBackend({ backend: "cpu" });
    const cpu = measureMatmulGflops(256, 256, 256, 0.2);
    expect(wasm.gflops).toBeGreaterThan(2 * cpu.gflops);
  });
});
