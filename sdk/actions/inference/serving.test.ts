import { type Address, keccak256, parseEther, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, signedServing, testSpec } from "../../../test/sdk/fixture.ts";
import {
  InferenceEscrowChallengeWindowOpenError,
  InferenceEscrowInvalidServingSignatureError,
  InferenceEscrowServingDisputeOpenError,
} from "../../errors/contractErrors.ts";
import * as escrowAbi from "../../abi/items/inferenceEscrow.ts";
import { servingOutputsTree, servingRoot, signServingFrame } from "../../protocol/serving.ts";

// Verified inference on the real ledger and escrow (docs/PROTOCOL.md "Verified inference"): wallets 1
// and 2 serve stages 0 and 1, 3-4 validate stage 0 and 5-6 stage 1, 7 requests, 8 challenges.
const OPERATORS = [1, 2] as const;
const FEE = parseEther("0.01");
const outputHash = keccak256(toHex("the answer"));

async function servingNetwork() {
  const s = await deployShardholder();
  await actionsOf(s, 0).registerModel({ spec: testSpec() });
  for (const i of OPERATORS)
    await actionsOf(s, i).stake({ payout: accountAt(s, i), signingKey: accountAt(s, i), valueWei: parseEther("2") });
  for (const v of [3, 4, 5, 6]) {
    await actionsOf(s, v).stake({ payout: accountAt(s, v), signingKey: accountAt(s, v), valueWei: parseEther("1") });
    await actionsOf(s, v).setValidator({ modelId: 1n, stage: v < 5 ? 0 : 1, validator: true });
  }
  const stageOperators = OPERATORS.map((i) => accountAt(s, i));
  const deadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
  const { signature } = await actionsOf(s, 2).consentToPipeline({ modelId: 1n, stageOperators, deadline });
  await actionsOf(s, 1).registerPipeline({
    modelId: 1n,
    stageOperators,
    consentDeadline: deadline,
    consents: { [stageOperators[1]!]: signature },
  });
  return { s, stageOperators };
}

function escrowBalance(s: Shardholder, account: Address): Promise<bigint> {
  return s.publicClient.readContract({
    abi: [escrowAbi.balanceOf],
    address: s.deployments.contracts.inferenceEscrow,
    functionName: "balanceOf",
    args: [account],
  });
}

async function fulfilled(s: Shardholder, stageOperators: readonly Address[]) {
  const { requestId } = await actionsOf(s, 7).requestInference({ modelId: 1n, input: "Once upon a time", feeWei: FEE });
  const serving = await signedServing(s, { requestId, stageOperators });
  const result = await actionsOf(s, 1).fulfillInference({ requestId, outputHash, ...serving });
  return { requestId, serving, result };
}

describe("verified inference on the real ledger and escrow", () => {
  let s: Shardholder;
  let stageOperators: readonly Address[];

  beforeEach(async () => {
    ({ s, stageOperators } = await servingNetwork());
  });

  it("fulfils with every stage's signed commitment, holds the shares through the window, then releases them", async () => {
    const { requestId, serving, result } = await fulfilled(s, stageOperators);
    expect(result.servingRoot).toBe(servingRoot(requestId, serving.commitments));
    const record = await actionsOf(s, 9).getServingRecord({ requestId });
    expect(record.commitments).toEqual(serving.commitments);
    expect(record.signatures).toEqual(serving.signatures);
    expect(record.stageOperators).toEqual(stageOperators);
    expect((await actionsOf(s, 9).getServingStatus({ requestId })).status).toBe("challengeable");
    await expect(actionsOf(s, 9).releaseInferenceFees({ requestId })).rejects.toBeInstanceOf(InferenceEscrowChallengeWindowOpenError);
    await s.networkHelpers.time.increaseTo(result.challengeableUntil);
    const released = await actionsOf(s, 9).releaseInferenceFees({ requestId });
    expect(released.perStageWei).toBe(result.operatorFeeWeiPerStage);
    expect(released.forfeitedWei).toBe(0n);
    expect((await actionsOf(s, 9).getInferenceRequest({ requestId })).state).toBe("released");
    expect((await actionsOf(s, 9).getServingStatus({ requestId })).status).toBe("final");
  });

  it("refuses a fulfilment whose stage commitment its operator did not sign", async () => {
    const { requestId } = await actionsOf(s, 7).requestInference({ modelId: 1n, input: "forged", feeWei: FEE });
    const serving = await signedServing(s, { requestId, stageOperators });
    const forged = await signedServing(s, { requestId, stageOperators: [stageOperators[0]!, stageOperators[0]!] });
    await expect(
      actionsOf(s, 1).fulfillInference({ requestId, outputHash, commitments: serving.commitments, signatures: forged.signatures }),
    ).rejects.toBeInstanceOf(InferenceEscrowInvalidServingSignatureError);
  });

  it("counts an audit only from a validator of the audited stage", async () => {
    const { requestId } = await fulfilled(s, stageOperators);
    await actionsOf(s, 8).attestServing({ requestId, stage: 0 }); // not a validator
    await actionsOf(s, 5).attestServing({ requestId, stage: 0 }); // a validator of stage 1, not 0
    await actionsOf(s, 3).attestServing({ requestId, stage: 0 });
    let status = await actionsOf(s, 9).getServingStatus({ requestId });
    expect(status.auditedStages).toEqual([0]);
    expect(status.status).toBe("challengeable");
    await actionsOf(s, 6).attestServing({ requestId, stage: 1 });
    status = await actionsOf(s, 9).getServingStatus({ requestId });
    expect(status.auditedStages).toEqual([0, 1]);
    expect(status.status).toBe("audited");
  });

  it("a fraud verdict of the stage's committee slashes the operator and refunds the requester in full", async () => {
    const { requestId, result } = await fulfilled(s, stageOperators);
    const { disputeId } = await actionsOf(s, 8).challengeServing({ requestId, stage: 1 });
    expect((await actionsOf(s, 9).getServingStatus({ requestId })).status).toBe("disputed");
    await s.networkHelpers.time.increaseTo(result.challengeableUntil);
    await expect(actionsOf(s, 9).releaseInferenceFees({ requestId })).rejects.toBeInstanceOf(InferenceEscrowServingDisputeOpenError);
    await s.networkHelpers.mine(1);
    const { members } = await actionsOf(s, 9).drawCommittee({ disputeId });
    expect(members.every((m) => [accountAt(s, 5), accountAt(s, 6)].includes(m))).toBe(true);
    for (const m of members) await actionsOf(s, m === accountAt(s, 5) ? 5 : 6).vote({ disputeId, fraud: true });
    await s.networkHelpers.time.increase(testSpec().timing.voteWindowSec);
    await actionsOf(s, 9).resolveDispute({ disputeId });
    const status = await actionsOf(s, 9).getServingStatus({ requestId });
    expect(status.status).toBe("fraud");
    expect(status.guiltyStages).toEqual([1]);
    const staker = await actionsOf(s, 9).getStaker({ account: stageOperators[1]! });
    expect(staker.jailed).toBe(true);
    expect(await escrowBalance(s, accountAt(s, 7))).toBe(FEE);
    const released = await actionsOf(s, 9).releaseInferenceFees({ requestId });
    expect(released.forfeitedWei).toBe(result.operatorFeeWeiPerStage);
  });

  it("anyone proves a stage that signed one frame and committed another: slashed without a committee", async () => {
    const { requestId } = await fulfilled(s, stageOperators);
    const record = await actionsOf(s, 9).getServingRecord({ requestId });
    // signedServing commits one position whose output hash is this (scripts/lib/localProtocol.ts)
    const committedHash = keccak256(toHex(`request ${requestId} stage 1`));
    expect(servingOutputsTree([committedHash]).root).toBe(record.commitments[1]!.outputsRoot);
    const ctx = { escrow: s.deployments.contracts.inferenceEscrow, chainId: s.deployments.chainId };
    const signedHash = keccak256(toHex("what it really sent"));
    const signature = await signServingFrame(s.wallets[2]!, ctx, { requestId, stage: 1, position: 0, payloadHash: signedHash });
    const stranger = privateKeyToAccount(keccak256(toHex("stranger")));
    const forged = await signServingFrame(stranger, ctx, { requestId, stage: 1, position: 0, payloadHash: signedHash });
    const evidence = { stage: 1, position: 0, committedHash, proof: [], signedHash };
    await expect(actionsOf(s, 8).proveServingEquivocation({ requestId, evidence: { ...evidence, signature: forged } })).rejects.toThrow(
      /InvalidFrameSignature/,
    );
    await actionsOf(s, 8).proveServingEquivocation({ requestId, evidence: { ...evidence, signature } });
    expect((await actionsOf(s, 9).getStaker({ account: stageOperators[1]! })).jailed).toBe(true);
    expect((await actionsOf(s, 9).getServingStatus({ requestId })).status).toBe("fraud");
    expect(await escrowBalance(s, accountAt(s, 7))).toBe(FEE);
  });
});
