import { describe, expect, it } from "vitest";
import { StageProcess } from "../../worker/pipeline/launch.ts";
import { toyModel } from "../../dev/pipeline/toyStage.ts";
import { fixedLoopbackPort } from "../lib/ports.ts";

const toy = { vocab: 16, width: 8, batch: 2, seqLen: 4, stages: 2, seed: 1, learningRate: 0.1 };

describe("stage process errors", () => {
  it("unreachableNextStage_retriesWithBackoff_thenExitsWithPeerUnreachableError", async () => {
    const port = await fixedLoopbackPort(); // nothing listens there (nor will: not an ephemeral port)
    const proc = new StageProcess({
      stage: 0,
      model: toyModel(toy),
      modelId: "1",
      next: `/ip4/127.0.0.1/tcp/${port}`,
      dial: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    const error = await proc.waitFor("error");
    expect(await proc.exit).toBe(1);
    expect(error.name).toBe("PeerUnreachableError");
    expect(error.shortMessage).toBe(`Peer /ip4/127.0.0.1/tcp/${port} is unreachable after 3 attempts.`);
    expect(proc.all("retry").map((e) => e.delayMs)).toEqual([100, 200]);
    expect(proc.all("connected")).toEqual([]);
  });

  it("badConfig_exitsWithANamedFieldError", async () => {
    const proc = new StageProcess({ stage: 0, model: toyModel(toy), modelId: "1", schedule: "zigzag" as "gpipe" });
    const error = await proc.waitFor("error");
    expect(await proc.exit).toBe(1);
    expect(error.name).toBe("StageConfigError");
    expect(error.message).toMatch(/config\.schedule must be "gpipe" or "1f1b"/);
  });
});
