import type { WalletClient } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { pipelineKey } from "../../sdk/protocol/pipelineConsent.ts";
import { ensurePipeline, PipelineNotRegisteredError } from "./operator.ts";

describe("the serving operator's pipeline registration", () => {
  let s: Shardholder;
  const wallet = (i: number): WalletClient => {
    const w = s.wallets[i];
    if (!w) throw new Error(`no wallet ${i}`);
    return w;
  };
  const base = (i: number) => ({ client: s.publicClient, wallet: wallet(i), deployments: s.deployments, modelId: 1n });

  beforeAll(async () => {
    s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
  });

  it("registers alone when it serves every stage, and only reads once registered", async () => {
    const ops = [accountAt(s, 1), accountAt(s, 1)];
    expect(await ensurePipeline({ ...base(1), stageOperators: ops })).toBe(pipelineKey(1n, ops));
    const block = await s.publicClient.getBlockNumber();
    expect(await ensurePipeline({ ...base(1), stageOperators: ops })).toBe(pipelineKey(1n, ops));
    expect(await s.publicClient.getBlockNumber()).toBe(block);
  });

  it("needs the other operators' consents otherwise, and registers with them", async () => {
    const ops = [accountAt(s, 2), accountAt(s, 3)];
    await expect(ensurePipeline({ ...base(2), stageOperators: ops })).rejects.toBeInstanceOf(PipelineNotRegisteredError);
    const deadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    const { signature } = await actionsOf(s, 3).consentToPipeline({ modelId: 1n, stageOperators: ops, deadline });
    const key = await ensurePipeline({
      ...base(2),
      stageOperators: ops,
      consents: { deadline, signatures: { [accountAt(s, 3)]: signature } },
    });
    expect(key).toBe(pipelineKey(1n, ops));
    const [found] = await actionsOf(s, 4).getPipelines({ pipelineKey: key });
    expect(found?.stageOperators).toEqual(ops);
  });
});
