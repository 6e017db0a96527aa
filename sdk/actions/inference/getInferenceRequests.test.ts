import { keccak256, parseEther, toBytes } from "viem";
import { describe, expect, it } from "vitest";
import { recordingClient } from "../../../test/sdk/eventScenarios.ts";
import { accountAt, actionsOf, deployShardholder, type Shardholder, signedServing, testSpec } from "../../../test/sdk/fixture.ts";
import { getInferenceFulfillments } from "./getInferenceFulfillments.ts";
import { getInferenceRequests } from "./getInferenceRequests.ts";

/** Model 1 served by a one-operator pipeline (wallet 1 runs both stages). */
async function servedModel(): Promise<{ s: Shardholder; pipelineKey: `0x${string}` }> {
  const s = await deployShardholder();
  await actionsOf(s, 0).registerModel({ spec: testSpec() });
  const operator = actionsOf(s, 1);
  await operator.stake({ payout: accountAt(s, 1), signingKey: accountAt(s, 1), valueWei: parseEther("1") });
  const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
  const { pipelineKey } = await operator.registerPipeline({
    modelId: 1n,
    stageOperators: [accountAt(s, 1), accountAt(s, 1)],
    consentDeadline,
  });
  return { s, pipelineKey };
}

describe("getInferenceRequests", () => {
  it("lists the requests naming a pipeline from the deployment block on, and nothing after them", async () => {
    const { s, pipelineKey } = await servedModel();
    const made = await actionsOf(s, 5).requestInference({ modelId: 1n, input: "Once upon a time", pipelineKey });
    const { client, fromBlocks } = recordingClient(s);
    const requests = await getInferenceRequests(client, { deployments: s.deployments, pipelineKey });
    expect(fromBlocks).toEqual([BigInt(s.deployments.deployedAtBlock)]);
    expect(requests).toEqual([
      {
        requestId: made.requestId,
        ...made.request,
        blockNumber: made.receipt.blockNumber,
        transactionHash: made.transactionHash,
        logIndex: expect.any(Number),
      },
    ]);
    expect(made.request).toMatchObject({
      modelId: 1n,
      pipelineKey,
      requester: accountAt(s, 5),
      inputHash: keccak256(toBytes("Once upon a time")),
    });
    const block = await s.publicClient.getBlock({ blockNumber: made.receipt.blockNumber });
    expect(made.request.deadline).toBeGreaterThan(block.timestamp);
    expect(made.request.feeWei).toBeGreaterThan(0n);
    // What getInferenceRequest reads for the same id.
    expect((await actionsOf(s, 9).getInferenceRequest({ requestId: made.requestId })).request).toEqual(made.request);
    expect(await getInferenceRequests(client, { deployments: s.deployments, fromBlock: made.receipt.blockNumber + 1n })).toEqual([]);
    expect(await getInferenceRequests(client, { deployments: s.deployments, requester: accountAt(s, 6) })).toEqual([]);
    expect(await getInferenceRequests(client, { deployments: s.deployments, modelId: 2n })).toEqual([]);
  });

  it("polls incrementally: each window returns only the requests made in it", async () => {
    const { s, pipelineKey } = await servedModel();
    const dapp = actionsOf(s, 5);
    const poll = (fromBlock: bigint, toBlock: bigint) => dapp.getInferenceRequests({ pipelineKey, fromBlock, toBlock });
    let fromBlock = (await s.publicClient.getBlockNumber()) + 1n;
    const first = await dapp.requestInference({ modelId: 1n, input: "first", pipelineKey });
    let head = await s.publicClient.getBlockNumber();
    expect((await poll(fromBlock, head)).map((r) => r.requestId)).toEqual([first.requestId]);
    fromBlock = head + 1n;
    // The head has not moved: an empty window, no request.
    expect(await poll(fromBlock, head)).toEqual([]);
    const second = await dapp.requestInference({ modelId: 1n, input: "second", pipelineKey });
    const third = await actionsOf(s, 6).requestInference({ modelId: 1n, input: "third", pipelineKey });
    head = await s.publicClient.getBlockNumber();
    expect((await poll(fromBlock, head)).map((r) => [r.requestId, r.requester])).toEqual([
      [second.requestId, accountAt(s, 5)],
      [third.requestId, accountAt(s, 6)],
    ]);
  });

  it("getInferenceFulfillments lists each delivery with its fee split, joinable to one model's requests", async () => {
    const { s, pipelineKey } = await servedModel();
    const dapp = actionsOf(s, 5);
    const operator = actionsOf(s, 1);
    const made = await dapp.requestInference({ modelId: 1n, input: "Once upon a time", pipelineKey });
    const unanswered = await dapp.requestInference({ modelId: 1n, input: "never answered", pipelineKey });
    expect(await getInferenceFulfillments(s.publicClient, { deployments: s.deployments })).toEqual([]);
    const outputHash = keccak256(toBytes(" there was a jury"));
    const serving = await signedServing(s, { requestId: made.requestId, stageOperators: [accountAt(s, 1), accountAt(s, 1)] });
    const done = await operator.fulfillInference({ requestId: made.requestId, outputHash, ...serving });
    const fulfilled = await getInferenceFulfillments(s.publicClient, { deployments: s.deployments });
    expect(fulfilled).toEqual([
      {
        requestId: made.requestId,
        pipelineKey,
        fulfiller: accountAt(s, 1),
        outputHash,
        protocolFeeWei: expect.any(BigInt),
        operatorFeeWeiPerStage: expect.any(BigInt),
        holdersWei: expect.any(BigInt),
        blockNumber: done.receipt.blockNumber,
        transactionHash: done.receipt.transactionHash,
        logIndex: expect.any(Number),
      },
    ]);
    const [f] = fulfilled;
    expect((f?.protocolFeeWei ?? 0n) + 2n * (f?.operatorFeeWeiPerStage ?? 0n) + (f?.holdersWei ?? 0n)).toBe(made.request.feeWei);
    expect(await getInferenceFulfillments(s.publicClient, { deployments: s.deployments, requestId: unanswered.requestId })).toEqual([]);
    expect(await dapp.getInferenceFulfillments({ pipelineKey })).toEqual(fulfilled);
  });
});
