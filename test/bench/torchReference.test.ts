// The PyTorch model of scripts/bench-torch.py is the same model as worker/model: trained from our
// exported initial weights on our batches, its losses equal ours. Step 0's loss checks the
// forward; step 1's (after one Adam update on averaged microbatch gradients) checks the backward
// and the optimizer. Needs python3 with torch (Debian's python3-torch); skipped where it is absent.
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../worker/backend/select.ts";
import { defaultModelSpec } from "../../worker/model/spec.ts";
import { measureTrainingThroughput } from "../../dev/model/throughput.ts";
import { probeTorch, removeReferenceInput, runTorch, writeReferenceInput } from "../../scripts/lib/torchReference.ts";

const probe = probeTorch();
const skipReason = probe.ok ? "" : probe.reason;

/**
 * float32 in two libraries with different summation orders. Measured on this spec: step 0 and
 * step 1 equal to the last bit, steps 2-3 within 6e-8 relative; 1e-4 leaves room for other BLAS builds.
 */
const RELATIVE_TOLERANCE = 1e-4;

describe("PyTorch reference model", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm" });
  });

  it.skipIf(!probe.ok)(`trains to our losses from our weights and batches${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
    const spec = defaultModelSpec({
      dModel: 32,
      heads: 2,
      layers: 2,
      stageCount: 2,
      contextLength: 16,
      microbatchSize: 4,
      microbatchesPerStep: 2,
    });
    const steps = 2;
    const ours = measureTrainingThroughput(spec, 1, 1).losses;
    const dir = writeReferenceInput(spec, steps);
    try {
      const torch = runTorch({
        python: probe.ok ? probe.python : "python3",
        input: dir,
        threads: 1,
        warmup: 0,
        matmulSeconds: 0,
        timeoutMs: 60_000,
      });
      const losses = torch.losses ?? [];
      expect(losses).toHaveLength(steps);
      const rel = (i: number) => Math.abs((losses[i] as number) - (ours[i] as number)) / (ours[i] as number);
      expect(rel(0)).toBeLessThan(RELATIVE_TOLERANCE);
      expect(rel(1)).toBeLessThan(RELATIVE_TOLERANCE);
      expect(losses[1]).toBeLessThan(losses[0] as number);
    } finally {
      removeReferenceInput(dir);
    }
  });
});
