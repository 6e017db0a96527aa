import hre from "hardhat";
import { createWalletClient, custom, keccak256, parseEther, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { shardholderActions } from "../../../sdk/index.ts";
import { deployProtocol } from "../deploy.ts";
import { sampleCommitment, sampleModelSpec } from "../sampleSpec.ts";
import { placeholderServing } from "../localProtocol.ts";

const h = (s: string): Hex => keccak256(toHex(s));

/**
 * Receipts of each user-facing operation on a fresh in-process chain, through the SDK: one model,
 * two stage workers, one round committed, finalized and minted, one paid inference, a claim and
 * a token transfer.
 */
export async function measureChainGas(): Promise<Record<string, number>> {
  const connection = await hre.network.create();
  const { viem, networkHelpers, provider } = connection;
  const deployments = await deployProtocol(connection);
  const [deployer, requester, holder] = await viem.getWalletClients();
  if (!deployer || !requester || !holder) throw new Error("bench:gas needs 3 accounts");
  const relayer = deployer.extend(shardholderActions({ deployments }));
  const gas: Record<string, number> = {};

  const spec = sampleModelSpec({ name: "Bench Model", symbol: "BENCH", specHash: h("bench spec"), metadataURI: "bench" });
  const registered = await relayer.registerModel({ spec });
  gas.registerModel = Number(registered.receipt.gasUsed);
  const { modelId } = registered;

  const workers = [];
  for (const stage of [0, 1]) {
    const identity = privateKeyToAccount(generatePrivateKey());
    const signer = privateKeyToAccount(generatePrivateKey());
    await networkHelpers.setBalance(identity.address, parseEther("10"));
    const wallet = createWalletClient({ account: identity, transport: custom(provider) }).extend(shardholderActions({ deployments }));
    const staked = await wallet.stake({ payout: identity.address, signingKey: signer.address, valueWei: parseEther("1") });
    gas.stake = Number(staked.receipt.gasUsed);
    workers.push({ identity, signer, wallet, stage });
  }

  const signed = [];
  for (const w of workers) {
    const commitment = sampleCommitment({
      modelId,
      round: 0n,
      stage: w.stage,
      worker: w.identity.address,
      itemCount: 16,
      weightsRootBefore: spec.initialWeightsRoots[w.stage]!,
    });
    signed.push(await relayer.signRoundCommitment({ commitment, signer: w.signer }));
  }
  const first = await relayer.submitCommitments({ signed: signed.slice(0, 1) });
  gas["submitCommitments, first of a model (batch of 1)"] = Number(first.batches[0]!.receipt.gasUsed);
  const second = await relayer.submitCommitments({ signed: signed.slice(1) });
  gas["submitCommitments, batch of 1"] = Number(second.batches[0]!.receipt.gasUsed);

  const model = await relayer.getModel({ modelId });
  await networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec + model.timing.challengeWindowSec) + 1n);
  gas.finalizeRound = Number((await relayer.finalizeRound({ modelId, round: 0n })).receipt.gasUsed);
  gas["mintReward, first mint (fresh balances)"] = Number(
    (await relayer.mintReward({ modelId, round: 0n, worker: workers[0]!.identity.address })).receipt.gasUsed,
  );
  gas["mintReward, designer already holds"] = Number(
    (await relayer.mintReward({ modelId, round: 0n, worker: workers[1]!.identity.address })).receipt.gasUsed,
  );

  // The serving pipeline: worker 1 consents by signature, worker 0 registers it.
  const stageOperators = workers.map((w) => w.identity.address);
  const consentDeadline = BigInt(await networkHelpers.time.latest()) + 3600n;
  const { signature } = await workers[1]!.wallet.consentToPipeline({ modelId, stageOperators, deadline: consentDeadline });
  const pipeline = await workers[0]!.wallet.registerPipeline({
    modelId,
    stageOperators,
    consentDeadline,
    consents: { [stageOperators[1]!]: signature },
  });
  gas["registerPipeline (2 stages)"] = Number(pipeline.receipt.gasUsed);

  const dapp = requester.extend(shardholderActions({ deployments }));
  const request = await dapp.requestInference({ modelId, pipelineKey: pipeline.pipelineKey, input: "hello", ttlSec: 3600 });
  gas.requestInference = Number(request.receipt.gasUsed);
  const ctx = { escrow: deployments.contracts.inferenceEscrow, chainId: deployments.chainId };
  const signers = workers.map((w) => w.identity);
  const serving = await placeholderServing({ ctx, requestId: request.requestId, signers });
  const fulfilled = await workers[0]!.wallet.fulfillInference({
    requestId: request.requestId,
    outputHash: h("out"),
    stageOperators,
    ...serving,
  });
  gas["fulfillInference (2 stages)"] = Number(fulfilled.receipt.gasUsed);
  const again = await dapp.requestInference({ modelId, pipelineKey: pipeline.pipelineKey, input: "again", ttlSec: 3600 });
  gas["requestInference, second"] = Number(again.receipt.gasUsed);
  const servingAgain = await placeholderServing({ ctx, requestId: again.requestId, signers });
  const fulfilledAgain = await workers[0]!.wallet.fulfillInference({
    requestId: again.requestId,
    outputHash: h("out2"),
    stageOperators,
    ...servingAgain,
  });
  gas["fulfillInference, second"] = Number(fulfilledAgain.receipt.gasUsed);
  gas.claimRevenue = Number((await workers[0]!.wallet.claimRevenue({ modelId })).receipt.gasUsed);

  const token = await viem.getContractAt("ModelToken", (await relayer.getModelToken({ modelId })).address, {
    client: { wallet: createWalletClient({ account: workers[0]!.identity, transport: custom(provider) }) },
  });
  const publicClient = await viem.getPublicClient();
  const balance = await token.read.balanceOf([workers[0]!.identity.address]);
  const toNew = await token.write.transfer([holder.account.address, balance / 4n]);
  gas["ModelToken transfer, to a new holder"] = Number((await publicClient.waitForTransactionReceipt({ hash: toNew })).gasUsed);
  const toExisting = await token.write.transfer([holder.account.address, balance / 4n]);
  gas["ModelToken transfer, to an existing holder"] = Number((await publicClient.waitForTransactionReceipt({ hash: toExisting })).gasUsed);
  await connection.close();
  return gas;
}
