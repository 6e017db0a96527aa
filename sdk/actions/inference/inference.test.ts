import { serveRpc } from "../../../scripts/lib/rpcServer.ts";
import { createWalletClient, encodeAbiParameters, http, keccak256, parseAbiParameters, parseEther, toBytes, toHex, webSocket } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, signedServing, testSpec } from "../../../test/sdk/fixture.ts";
import { serveWebSocketRpc } from "../../../test/sdk/wsBridge.ts";
import {
  InferenceEscrowDeadlineNotReachedError,
  InferenceEscrowFeeTooLowError,
  InferenceEscrowInvalidConsentError,
  InferenceEscrowNotPipelineMemberError,
  InferenceEscrowPipelineMismatchError,
} from "../../errors/contractErrors.ts";
import {
  FeeAboveLimitError,
  InferenceNotFoundError,
  InferenceRefundedError,
  InferenceTimeoutError,
  NoServingPipelineError,
} from "../../errors/sdk.ts";
import { pipelineKey } from "../../protocol/pipelineConsent.ts";
import { shardholderActions } from "../../decorator.ts";

describe("dapp inference actions on a real escrow", () => {
  let s: Shardholder;
  const outputHash = keccak256(toHex("the output"));
  const stageOperators = () => [accountAt(s, 1), accountAt(s, 2)] as const;

  beforeAll(async () => {
    s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
    for (const i of [1, 2])
      await actionsOf(s, i).stake({ payout: accountAt(s, i), signingKey: accountAt(s, i), valueWei: parseEther("1") });
  });

  it("registers a pipeline only with every operator's consent, then finds it", async () => {
    const deadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    await expect(actionsOf(s, 5).requestInference({ modelId: 1n, input: "too early" })).rejects.toBeInstanceOf(NoServingPipelineError);
    // operator 1 cannot enrol operator 2 without operator 2's signature
    const refused = actionsOf(s, 1).registerPipeline({ modelId: 1n, stageOperators: stageOperators(), consentDeadline: deadline });
    await expect(refused).rejects.toBeInstanceOf(InferenceEscrowInvalidConsentError);
    const { signature } = await actionsOf(s, 2).consentToPipeline({ modelId: 1n, stageOperators: stageOperators(), deadline });
    const registered = await actionsOf(s, 1).registerPipeline({
      modelId: 1n,
      stageOperators: stageOperators(),
      consentDeadline: deadline,
      consents: { [accountAt(s, 2)]: signature },
    });
    expect(registered.pipelineKey).toBe(pipelineKey(1n, stageOperators()));
    const found = await actionsOf(s, 5).getPipelines({ modelId: 1n, operator: accountAt(s, 2), checkServing: true });
    expect(found.map((p) => [p.pipelineKey, p.serving])).toEqual([[registered.pipelineKey, true]]);
  });

  it("estimates the fee and its split exactly as the escrow splits it", async () => {
    const dapp = actionsOf(s, 5);
    const estimate = await dapp.estimateInferenceFee({ modelId: 1n, feeWei: 1_000_003_333n * 10n ** 6n });
    expect(estimate.feeWei).toBe(1_000_003_333n * 10n ** 6n);
    expect(estimate.protocolFeeWei + 2n * estimate.operatorFeeWeiPerStage + estimate.holdersWei).toBe(estimate.feeWei);
    const { requestId } = await dapp.requestInference({ modelId: 1n, input: "Once upon a time", feeWei: estimate.feeWei });
    const waiting = dapp.waitForInference({ requestId, pollingInterval: 20 });
    const serving = await signedServing(s, { requestId, stageOperators: stageOperators() });
    const fulfilled = await actionsOf(s, 1).fulfillInference({ requestId, outputHash, stageOperators: stageOperators(), ...serving });
    expect([fulfilled.protocolFeeWei, fulfilled.operatorFeeWeiPerStage, fulfilled.holdersWei]).toEqual([
      estimate.protocolFeeWei,
      estimate.operatorFeeWeiPerStage,
      estimate.holdersWei,
    ]);
    const result = await waiting;
    expect(result.outputHash).toBe(outputHash);
    expect(result.fulfiller).toBe(accountAt(s, 1));
    expect(result.request.inputHash).toBe(keccak256(toBytes("Once upon a time")));
    expect(result.transactionHash).toBe(fulfilled.transactionHash);
    // the event logs the pipeline key; the operators come back from the pipeline's PipelineRegistered event
    expect(result.stageOperators).toEqual(stageOperators());
    expect(result.pipelineKey).toBe(keccak256(encodeAbiParameters(parseAbiParameters("uint64, address[]"), [1n, stageOperators()])));
  });

  it("resolves at once for an already fulfilled request and reads its state", async () => {
    const dapp = actionsOf(s, 5);
    const info = await dapp.getInferenceRequest({ requestId: 1n });
    expect(info.state).toBe("fulfilled");
    expect((await dapp.waitForInference({ requestId: 1n })).outputHash).toBe(outputHash);
    await expect(dapp.getInferenceRequest({ requestId: 99n })).rejects.toBeInstanceOf(InferenceNotFoundError);
  });

  it("rejects bad requests with typed errors", async () => {
    const dapp = actionsOf(s, 5);
    await expect(dapp.requestInference({ modelId: 1n, input: "x", maxFeeWei: 1n })).rejects.toBeInstanceOf(FeeAboveLimitError);
    const low = dapp.requestInference({ modelId: 1n, input: "x", feeWei: 5n });
    await expect(low).rejects.toBeInstanceOf(InferenceEscrowFeeTooLowError);
    expect(((await low.catch((e: unknown) => e)) as InferenceEscrowFeeTooLowError).args).toEqual([5n, parseEther("0.001")]);
    const { requestId } = await dapp.requestInference({ modelId: 1n, input: "y" });
    // copying the pending fulfilment earns an outsider nothing: it is not a member of the named pipeline
    const serving = await signedServing(s, { requestId, stageOperators: stageOperators() });
    await expect(
      actionsOf(s, 6).fulfillInference({ requestId, outputHash, stageOperators: stageOperators(), ...serving }),
    ).rejects.toBeInstanceOf(InferenceEscrowNotPipelineMemberError);
    // nor can a member route it through another pipeline
    await expect(
      actionsOf(s, 1).fulfillInference({ requestId, outputHash, stageOperators: [accountAt(s, 1), accountAt(s, 1)], ...serving }),
    ).rejects.toBeInstanceOf(InferenceEscrowPipelineMismatchError);
  });

  it("times out at the chain deadline, refuses an early refund, refunds, then reports the refund", async () => {
    const dapp = actionsOf(s, 5);
    const { requestId, request } = await dapp.requestInference({ modelId: 1n, input: "too slow", ttlSec: 60 });
    await expect(dapp.refundInference({ requestId })).rejects.toBeInstanceOf(InferenceEscrowDeadlineNotReachedError);
    await expect(dapp.waitForInference({ requestId, timeoutMs: 150, pollingInterval: 20 })).rejects.toMatchObject({
      name: "InferenceTimeoutError",
      shortMessage: expect.stringMatching(/Gave up waiting/),
    });
    // handled at once: the wait may reject while the clock is still being moved
    const waiting = dapp.waitForInference({ requestId, pollingInterval: 20 }).catch((e: unknown) => e);
    await s.networkHelpers.time.increase(61);
    const err = await waiting;
    expect(err).toBeInstanceOf(InferenceTimeoutError);
    expect((err as InferenceTimeoutError).deadline).toBe(request.deadline);
    const before = await s.publicClient.getBalance({ address: accountAt(s, 5) });
    const refund = await actionsOf(s, 7).refundInference({ requestId });
    expect(refund.refundedWei).toBe(parseEther("0.001"));
    expect(await s.publicClient.getBalance({ address: accountAt(s, 5) })).toBe(before + parseEther("0.001"));
    await expect(dapp.waitForInference({ requestId })).rejects.toBeInstanceOf(InferenceRefundedError);
  });

  it("lets operators and the treasury withdraw their escrow balances", async () => {
    const estimate = await actionsOf(s, 5).estimateInferenceFee({ modelId: 1n, feeWei: 1_000_003_333n * 10n ** 6n });
    // the operators' shares are held through the challenge window, then released (by anyone)
    await expect(actionsOf(s, 2).withdrawEscrowBalance({ to: accountAt(s, 9) })).rejects.toThrow();
    await s.networkHelpers.time.increase(testSpec().timing.challengeWindowSec);
    for (const { requestId } of await actionsOf(s, 9).getInferenceFulfillments({})) {
      await actionsOf(s, 9).releaseInferenceFees({ requestId });
    }
    const op = await actionsOf(s, 2).withdrawEscrowBalance({ to: accountAt(s, 9) });
    expect(op.amountWei).toBe(estimate.operatorFeeWeiPerStage);
    expect(op.pipelineKeys).toEqual([pipelineKey(1n, stageOperators())]);
    const treasury = await actionsOf(s, 0).withdrawEscrowBalance();
    expect(treasury.amountWei).toBe(estimate.protocolFeeWei);
  });

  describe("over real transports on loopback", () => {
    const servers: Array<{ close(): Promise<void> }> = [];
    afterAll(async () => {
      for (const srv of servers) await srv.close();
    });

    for (const kind of ["http", "webSocket"] as const) {
      it(`requests and awaits an inference over ${kind}`, async () => {
        const server = kind === "http" ? await serveRpc(s.connection.provider) : await serveWebSocketRpc(s.connection.provider);
        servers.push(server);
        const wallet = s.wallets[5];
        if (!wallet) throw new Error("no wallet");
        const client = createWalletClient({
          account: wallet.account,
          chain: wallet.chain,
          transport: kind === "http" ? http(server.url) : webSocket(server.url),
          pollingInterval: 20,
        }).extend(shardholderActions({ deployments: s.deployments }));
        const { requestId } = await client.requestInference({ modelId: 1n, input: `via ${kind}` });
        const waiting = client.waitForInference({ requestId, timeoutMs: 20_000 });
        await new Promise((r) => setTimeout(r, 100));
        const serving = await signedServing(s, { requestId, stageOperators: stageOperators() });
        await actionsOf(s, 2).fulfillInference({ requestId, outputHash, stageOperators: stageOperators(), ...serving });
        expect((await waiting).outputHash).toBe(outputHash);
      });
    }
  });
});
