// A fresh in-process chain with the whole protocol deployed, and the few helpers that act on it
// (accounts, decorated wallets, one honest round minted). Shared by the test suites (through
// test/sdk/fixture.ts) and by scripts that stage a network, e.g. the app's screenshots; it lives
// here because scripts must not import from test/.
import hre from "hardhat";
import { type Address, type Hex, getAddress, keccak256, toHex } from "viem";
import type { SignerClient } from "../../sdk/protocol/pipelineConsent.ts";
import {
  NO_SAMPLING,
  type ServingCommitment,
  type ServingContext,
  servingOutputsTree,
  signServingCommitment,
} from "../../sdk/protocol/serving.ts";
import { modelRegistryAbi } from "../../sdk/abi/modelRegistry.ts";
import type { ModelSpec } from "../../sdk/actions/models/registerModel.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { shardholderActions } from "../../sdk/decorator.ts";
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from "viem/accounts";
import { sampleCommitment, sampleModelSpec } from "./sampleSpec.ts";

/**
 * A fresh in-process Hardhat chain with the whole protocol deployed exactly as the Ignition
 * module wires it (token implementation, registry, ledger and escrow bound to it, claimer), and
 * the address book the SDK reads.
 */
export async function deployShardholder() {
  const connection = await hre.network.create();
  const { viem, networkHelpers } = connection;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const deployer = wallets[0];
  if (!deployer) throw new Error("no accounts");
  // The address book's lower bound for event scans: the block of the first deployment.
  const deployedAtBlock = Number(await publicClient.getBlockNumber()) + 1;
  const modelTokenImplementation = await viem.deployContract("ModelToken");
  const modelRegistry = await viem.deployContract("ModelRegistry", [modelTokenImplementation.address]);
  const validatorModule = await viem.deployContract("ComputeLedgerValidatorModule", [modelRegistry.address]);
  const disputeModule = await viem.deployContract("ComputeLedgerDisputeModule", [modelRegistry.address]);
  const computeLedger = await viem.deployContract("ComputeLedger", [modelRegistry.address, validatorModule.address, disputeModule.address]);
  const bind = await deployer.writeContract({
    abi: modelRegistryAbi,
    address: modelRegistry.address,
    functionName: "bindLedger",
    args: [computeLedger.address],
  });
  await publicClient.waitForTransactionReceipt({ hash: bind });
  const inferenceEscrow = await viem.deployContract("InferenceEscrow", [
    modelRegistry.address,
    computeLedger.address,
    deployer.account.address,
  ]);
  const bindEscrow = await deployer.writeContract({
    abi: modelRegistryAbi,
    address: modelRegistry.address,
    functionName: "bindEscrow",
    args: [inferenceEscrow.address],
  });
  await publicClient.waitForTransactionReceipt({ hash: bindEscrow });
  const revenueClaimer = await viem.deployContract("RevenueClaimer");
  const servingDirectory = await viem.deployContract("ServingDirectory", [modelRegistry.address]);
  const stageDirectory = await viem.deployContract("StageDirectory", [modelRegistry.address, computeLedger.address]);
  const deployments: Deployments = {
    chainId: await publicClient.getChainId(),
    contracts: {
      modelRegistry: modelRegistry.address,
      modelTokenImplementation: modelTokenImplementation.address,
      computeLedger: computeLedger.address,
      inferenceEscrow: inferenceEscrow.address,
      revenueClaimer: revenueClaimer.address,
      servingDirectory: servingDirectory.address,
      stageDirectory: stageDirectory.address,
    },
    deployedAtBlock,
  };
  return { connection, viem, networkHelpers, publicClient, wallets, deployer, deployments };
}

export type Shardholder = Awaited<ReturnType<typeof deployShardholder>>;

/** A valid two-stage model spec (the shared `sampleModelSpec`); override any field. */
export function testSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return sampleModelSpec(overrides);
}

/** Address of the i-th Hardhat account. */
export function accountAt(s: Shardholder, i: number): Address {
  const w = s.wallets[i];
  if (!w) throw new Error(`no wallet ${i}`);
  return getAddress(w.account.address);
}

/** Wallet `i` decorated with every Shardholder action. */
export function actionsOf(s: Shardholder, i: number) {
  const w = s.wallets[i];
  if (!w) throw new Error(`no wallet ${i}`);
  return w.extend(shardholderActions({ deployments: s.deployments }));
}

/**
 * Runs one honest round of `modelId` (registered with `testSpec`) with one worker per stage
 * (wallets `workers[stage]`, paid to `payouts[stage]`) up to finalization and mints the rewards:
 * the only way tokens come into existence.
 */
export async function mintRound(
  s: Shardholder,
  { modelId, workers, payouts }: { modelId: bigint; workers: [number, number]; payouts: [Address, Address] },
): Promise<void> {
  const relayer = actionsOf(s, 0);
  const model = await relayer.getModel({ modelId });
  const round = model.currentRound;
  const signed = [];
  for (const stage of [0, 1] as const) {
    const worker = actionsOf(s, workers[stage]);
    const key = privateKeyToAccount(generatePrivateKey());
    const staker = await relayer.getStaker({ account: accountAt(s, workers[stage]) });
    if (staker.stakeWei === 0n) await worker.stake({ payout: payouts[stage], signingKey: key.address, valueWei: model.minWorkerStakeWei });
    else await worker.setSigningKey({ signingKey: key.address });
    const commitment = sampleCommitment({
      modelId,
      round,
      stage,
      worker: accountAt(s, workers[stage]),
      itemCount: 2,
      weightsRootBefore: model.initialWeightsRoots[stage] as Hex,
    });
    signed.push(await relayer.signRoundCommitment({ commitment, signer: key }));
  }
  await relayer.submitCommitments({ signed });
  const commitEnd = model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec);
  await s.networkHelpers.time.increaseTo(commitEnd + BigInt(model.timing.challengeWindowSec));
  await relayer.finalizeRound({ modelId, round });
  for (const stage of [0, 1] as const) await relayer.mintReward({ modelId, round, worker: accountAt(s, workers[stage]) });
}

/**
 * Every stage's serving commitment of `requestId` signed by its operator (a Hardhat wallet of this
 * chain): what `fulfillInference` takes (see `placeholderServing`).
 */
export async function signedServing(
  s: Shardholder,
  { requestId, stageOperators }: { requestId: bigint; stageOperators: readonly Address[] },
): Promise<{ commitments: ServingCommitment[]; signatures: Hex[] }> {
  const signers = stageOperators.map((operator) => {
    const wallet = s.wallets.find((w) => getAddress(w.account.address) === getAddress(operator));
    if (!wallet) throw new Error(`no wallet for stage operator ${operator}`);
    return wallet;
  });
  return placeholderServing({
    ctx: { escrow: s.deployments.contracts.inferenceEscrow, chainId: s.deployments.chainId },
    requestId,
    signers,
  });
}

/**
 * Serving commitments of the right shape for `requestId`, one per signer (stage order), each signed by
 * its stage's operator. The chain checks signatures, not the computation: tests of the computation run
 * the real serving pipeline.
 */
export async function placeholderServing({
  ctx,
  requestId,
  signers,
}: {
  ctx: ServingContext;
  requestId: bigint;
  signers: readonly (LocalAccount | SignerClient)[];
}): Promise<{ commitments: ServingCommitment[]; signatures: Hex[] }> {
  const commitments = signers.map((_, stage): ServingCommitment => ({
    weightsRoot: keccak256(toHex(`weights ${stage}`)),
    sampling: NO_SAMPLING,
    outputsRoot: servingOutputsTree([keccak256(toHex(`request ${requestId} stage ${stage}`))]).root,
    positions: 1,
  }));
  const signatures = await Promise.all(
    signers.map((signer, stage) => signServingCommitment(signer, ctx, requestId, stage, commitments[stage] as ServingCommitment)),
  );
  return { commitments, signatures };
}
