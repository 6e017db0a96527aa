/**
 * Issue #3's end-to-end path on one in-process chain: deploy through the Ignition module, register
 * a model, run a round with two workers' signed commitments, finalize and mint, pay two inference
 * requests, and have the holders claim exactly what the fee split and the mint shares predict.
 */
import hre from "hardhat";
import { createWalletClient, custom, keccak256, parseEther, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, test } from "vitest";
import { shardholderActions } from "../../sdk/index.ts";
import { deployProtocol } from "../../scripts/lib/deploy.ts";
import { sampleCommitment } from "../../scripts/lib/sampleSpec.ts";
import { placeholderServing, testSpec } from "../sdk/fixture.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec({ name: "Economy Model", symbol: "ECO", specHash: h("economy spec"), metadataURI: "ipfs://economy" });

describe("protocol economy end to end (Ignition deployment)", () => {
  test("round with two signed commitments, two paid inferences, holders claim their pro-rata share, conserved to the wei", async () => {
    const connection = await hre.network.create();
    const { viem, networkHelpers, provider } = connection;
    const deployments = await deployProtocol(connection);
    const [designer, dapp] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    const relayer = designer!.extend(shardholderActions({ deployments }));
    const { modelId } = await relayer.registerModel({ spec });

    // Two workers: staking identity, separate payout address, separate signing key.
    const workers = await Promise.all(
      [0, 1].map(async (stage) => {
        const identity = privateKeyToAccount(generatePrivateKey());
        const payout = privateKeyToAccount(generatePrivateKey());
        const signer = privateKeyToAccount(generatePrivateKey());
        return { stage, identity, payout, signer };
      }),
    );
    for (const w of workers) {
      await networkHelpers.setBalance(w.identity.address, parseEther("10"));
      await networkHelpers.setBalance(w.payout.address, parseEther("1"));
      const wallet = createWalletClient({ account: w.identity, transport: custom(provider) }).extend(shardholderActions({ deployments }));
      await wallet.stake({ payout: w.payout.address, signingKey: w.signer.address, valueWei: parseEther("1") });
    }
    const itemCounts = [10, 4];
    const signed = [];
    for (const w of workers) {
      const commitment = sampleCommitment({
        modelId,
        round: 0n,
        stage: w.stage,
        worker: w.identity.address,
        itemCount: itemCounts[w.stage]!,
        weightsRootBefore: spec.initialWeightsRoots[w.stage]!,
      });
      signed.push(await relayer.signRoundCommitment({ commitment, signer: w.signer }));
    }
    const { submitted } = await relayer.submitCommitments({ signed });
    expect(submitted).toBe(2);

    const model = await relayer.getModel({ modelId });
    await networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec + model.timing.challengeWindowSec) + 1n);
    await relayer.finalizeRound({ modelId, round: 0n });
    const units = [10n * 3n, 4n * 5n];
    const totalUnits = units[0]! + units[1]!;
    const emission = spec.emission.tokensPerRound;
    for (const [i, w] of workers.entries()) {
      const minted = await relayer.mintReward({ modelId, round: 0n, worker: w.identity.address });
      const share = (emission * units[i]!) / totalUnits;
      const designerTokens = (share * BigInt(spec.designerEmissionBps)) / 10_000n;
      // Within one token-wei of the pro-rata share, split between the payout address and the designer.
      expect(minted.workerTokens + minted.designerTokens).toBeGreaterThanOrEqual(share - 1n);
      expect(minted.workerTokens + minted.designerTokens).toBeLessThanOrEqual(share);
      expect(minted.designerTokens).toBeGreaterThanOrEqual(designerTokens - 1n);
      expect(minted.designerTokens).toBeLessThanOrEqual(designerTokens);
    }
    const token = await viem.getContractAt("ModelToken", (await relayer.getModelToken({ modelId })).address);
    const holders = [...workers.map((w) => w.payout.address), designer!.account.address];
    const balances = await Promise.all(holders.map((a) => token.read.balanceOf([a])));
    const supply = await token.read.totalSupply();
    expect(balances.reduce((a, b) => a + b, 0n)).toBe(supply);

    // The serving pipeline: the stage-1 worker consents by signature, the stage-0 worker registers it.
    const client = dapp!.extend(shardholderActions({ deployments }));
    const fees = [parseEther("0.01"), parseEther("0.0037")];
    const operator = createWalletClient({ account: workers[0]!.identity, transport: custom(provider) }).extend(
      shardholderActions({ deployments }),
    );
    const other = createWalletClient({ account: workers[1]!.identity, transport: custom(provider) }).extend(
      shardholderActions({ deployments }),
    );
    const stageOperators = workers.map((w) => w.identity.address);
    const consentDeadline = BigInt(await networkHelpers.time.latest()) + 600n;
    const { signature } = await other.consentToPipeline({ modelId, stageOperators, deadline: consentDeadline });
    const { pipelineKey } = await operator.registerPipeline({
      modelId,
      stageOperators,
      consentDeadline,
      consents: { [stageOperators[1]!]: signature },
    });
    // Two paid inferences naming that pipeline, fulfilled by its stage-0 operator.
    let holdersWei = 0n;
    for (const [i, feeWei] of fees.entries()) {
      const { requestId, request } = await client.requestInference({ modelId, input: `prompt ${i}`, feeWei, ttlSec: 600 });
      expect(request.pipelineKey).toBe(pipelineKey);
      const serving = await placeholderServing({
        ctx: { escrow: deployments.contracts.inferenceEscrow, chainId: deployments.chainId },
        requestId,
        signers: workers.map((w) => w.identity),
      });
      const fulfilled = await operator.fulfillInference({ requestId, outputHash: h(`output ${i}`), ...serving });
      const protocol = (feeWei * 200n) / 10_000n;
      const operators = (feeWei * 3000n) / 10_000n;
      expect(fulfilled.protocolFeeWei).toBe(protocol);
      expect(fulfilled.operatorFeeWeiPerStage * 2n).toBeLessThanOrEqual(operators);
      expect(fulfilled.protocolFeeWei + fulfilled.operatorFeeWeiPerStage * 2n + fulfilled.holdersWei).toBe(feeWei);
      holdersWei += fulfilled.holdersWei;
    }

    // Each holder's claim is its balance's share of every deposit, never over-paid and short by at
    // most the rounding the token documents: the per-share accumulator has MAGNITUDE precision, so up
    // to supply / MAGNITUDE wei of each deposit is carried forward as undistributed revenue (credited
    // at the next deposit), plus one wei of flooring per claim. Nothing is lost: claims plus what the
    // token still holds equal the holders' share to the wei.
    const magnitude = await token.read.MAGNITUDE();
    const carryBound = supply / magnitude + 1n;
    let claimedTotal = 0n;
    for (const [i, holder] of holders.entries()) {
      const expected = (holdersWei * balances[i]!) / supply;
      const explained = await relayer.explainRevenue({ holder, modelId });
      const claimable = await token.read.claimable([holder]);
      expect(explained.claimableWei).toBe(claimable);
      expect(claimable).toBeLessThanOrEqual(expected);
      expect(expected - claimable).toBeLessThanOrEqual((carryBound * BigInt(fees.length) * balances[i]!) / supply + 2n);
      const account = i < workers.length ? workers[i]!.payout : undefined;
      const wallet = account
        ? createWalletClient({ account, transport: custom(provider) }).extend(shardholderActions({ deployments }))
        : relayer;
      const before = await publicClient.getBalance({ address: holder });
      const claimed = await wallet.claimRevenue({ modelId });
      expect(claimed.amountWei).toBe(claimable);
      const gasCost = claimed.receipt.gasUsed * claimed.receipt.effectiveGasPrice;
      expect(await publicClient.getBalance({ address: holder })).toBe(before + claimable - gasCost);
      claimedTotal += claimed.amountWei;
    }
    const left = await publicClient.getBalance({ address: token.address });
    expect(claimedTotal + left).toBe(holdersWei);
    const undistributed = await token.read.undistributedRevenue();
    expect(undistributed).toBeLessThanOrEqual(carryBound);
    expect(left - undistributed).toBeLessThanOrEqual(BigInt(holders.length) + 1n);
    await connection.close();
  });
});
