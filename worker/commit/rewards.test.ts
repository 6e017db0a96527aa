// The miner's side of getting paid, against a real in-process ledger: a committed round moves
// through its commit and challenge windows (finalizeRound saying which one is open), then the
// worker finalizes it (nobody else did) and mints its own reward; a second worker only mints.
import { type Address, createWalletClient, custom, type Hex, parseEther, toHex } from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { readContract } from "viem/actions";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleCommitment } from "../../scripts/lib/sampleSpec.ts";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { modelTokenAbi } from "../../sdk/abi/modelToken.ts";
import { finalizeRound } from "../../sdk/actions/miner/finalizeRound.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { ComputeLedgerChallengeWindowOpenError } from "../../sdk/errors/contractErrors.ts";
import { type MinerRound, readMinerRound, roundWindows, settleRewards, workerTokensOf } from "./rewards.ts";

describe("rewards: finalize what nobody finalized, mint the worker's own reward", () => {
  let s: Shardholder;
  let model: Awaited<ReturnType<typeof getModel>>;
  let round: bigint;
  const modelId = 1n;
  const workers = [1, 2] as const;
  const payouts: Address[] = [];

  beforeAll(async () => {
    s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
    model = await getModel(s.publicClient, { deployments: s.deployments, modelId });
    round = model.currentRound;
    payouts.push(accountAt(s, 5), accountAt(s, 6));
    // Both stages of the round committed (what `train` submits), nothing finalized or minted.
    const relayer = actionsOf(s, 0);
    const signed = [];
    for (const stage of [0, 1] as const) {
      const key = privateKeyToAccount(generatePrivateKey());
      await actionsOf(s, workers[stage]).stake({
        payout: payouts[stage] as Address,
        signingKey: key.address,
        valueWei: model.minWorkerStakeWei,
      });
      const commitment = sampleCommitment({
        modelId,
        round,
        stage,
        worker: accountAt(s, workers[stage]),
        itemCount: 4,
        weightsRootBefore: model.initialWeightsRoots[stage] as Hex,
      });
      signed.push(await relayer.signRoundCommitment({ commitment, signer: key }));
    }
    await relayer.submitCommitments({ signed });
  });

  const settle = (i: 0 | 1, graceMs: number, seen = new Map<bigint, number>()) =>
    settleRewards({
      client: s.publicClient,
      wallet: s.wallets[workers[i]] as NonNullable<Shardholder["wallets"][number]>,
      deployments: s.deployments,
      modelId,
      worker: accountAt(s, workers[i]),
      terms: model,
      rounds: [round],
      graceMs,
      seen,
    });
  const balance = (holder: Address) =>
    readContract(s.publicClient, { abi: modelTokenAbi, address: model.token, functionName: "balanceOf", args: [holder] });
  const blockNumber = () => s.publicClient.getBlockNumber();

  it("in the commit window: says so (also finalizeRound's error), sends nothing", async () => {
    const { commitEnd, challengeEnd } = roundWindows(model, round);
    const before = await blockNumber();
    const { rounds, minted } = await settle(0, 0);
    expect(minted).toEqual([]);
    expect(rounds).toEqual([expect.objectContaining({ round, phase: "commit", windowEndsAt: commitEnd, units: 4n * 3n, stages: [0] })]);
    const early = await finalizeRound(s.wallets[0] as NonNullable<Shardholder["wallets"][number]>, {
      deployments: s.deployments,
      modelId,
      round,
    }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ComputeLedgerChallengeWindowOpenError);
    const message = (early as Error & { shortMessage: string }).shortMessage;
    expect(message).toContain(
      `Round ${round} of model ${modelId} cannot be finalized yet: its commit window is open until ${new Date(Number(commitEnd) * 1000).toISOString()}`,
    );
    expect(message).toContain(`then its challenge window until ${new Date(Number(challengeEnd) * 1000).toISOString()}`);
    expect(await blockNumber()).toBe(before);
  });

  it("in the challenge window: says so, sends nothing", async () => {
    const { commitEnd, challengeEnd } = roundWindows(model, round);
    await s.networkHelpers.time.increaseTo(commitEnd);
    const { rounds, minted } = await settle(0, 0);
    expect(minted).toEqual([]);
    expect(rounds[0]).toMatchObject({ phase: "challenge", windowEndsAt: challengeEnd });
    const early = await finalizeRound(s.wallets[0] as NonNullable<Shardholder["wallets"][number]>, {
      deployments: s.deployments,
      modelId,
      round,
    }).catch((e: unknown) => e);
    expect((early as Error & { shortMessage: string }).shortMessage).toMatch(
      new RegExp(`^Round ${round} of model 1 cannot be finalized yet: its challenge window is open until .+ \\((1h|59m \\d+s) left\\)\\.$`),
    );
  });

  it("past the challenge window: waits out the grace for others, then finalizes and mints its own reward", async () => {
    const { challengeEnd } = roundWindows(model, round);
    await s.networkHelpers.time.increaseTo(challengeEnd);
    const seen = new Map<bigint, number>();
    const waiting = await settle(0, 60_000, seen);
    expect(waiting.minted).toEqual([]);
    expect(waiting.rounds[0]?.phase).toBe("finalizable");
    // The grace is counted from the first pass that saw the round finalizable.
    seen.set(round, Date.now() - 61_000);
    const { rounds, minted } = await settle(0, 60_000, seen);
    expect(minted).toHaveLength(1);
    const [reward] = minted;
    expect(reward).toMatchObject({ round, units: 12n, finalizedHere: true });
    expect(reward?.tokens).toBeGreaterThan(0n);
    expect(await balance(payouts[0] as Address)).toBe(reward?.tokens);
    expect(rounds[0]).toMatchObject({ phase: "minted", units: 12n, tokens: reward?.tokens });
    // The share the ledger minted is the one status computes from the round's accounting.
    const state = await actionsOf(s, 0).getRound({ modelId, round });
    expect(workerTokensOf(state, 12n, model.designerEmissionBps)).toBe(reward?.tokens);
  });

  it("another worker of the finalized round only mints; a settled round sends nothing more", async () => {
    const { minted, rounds } = await settle(1, 0);
    expect(minted).toEqual([expect.objectContaining({ round, units: 4n * 5n, finalizedHere: false })]);
    expect(await balance(payouts[1] as Address)).toBe(minted[0]?.tokens);
    expect((rounds[0] as MinerRound).phase).toBe("minted");
    const before = await blockNumber();
    const again = await settle(1, 0);
    expect(again.minted).toEqual([]);
    expect(again.rounds[0]?.phase).toBe("minted");
    expect(await blockNumber()).toBe(before);
    const state = await readMinerRound(s.publicClient, {
      deployments: s.deployments,
      modelId,
      worker: accountAt(s, 3),
      round,
      terms: model,
      now: 0n,
    });
    expect(state.phase).toBe("settled"); // a worker with no commitment of the round
  });

  it("one account's concurrent writes in one process take consecutive nonces (none is lost)", async () => {
    // A local account signs with the nonce viem reads from the node, as the CLI's keys do (Hardhat's
    // own wallets let the node assign nonces, which hides the race).
    const key = toHex(
      mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: workers[0] }).getHdKey()
        .privateKey as Uint8Array,
    );
    const wallet = createWalletClient({ account: privateKeyToAccount(key), transport: custom(s.connection.provider) });
    const staker = await actionsOf(s, 0).getStaker({ account: accountAt(s, workers[0]) });
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        stake(wallet, { deployments: s.deployments, payout: staker.payout, signingKey: staker.signingKey, valueWei: parseEther("0.01") }),
      ),
    );
    expect(new Set(results.map((r) => r.receipt.status))).toEqual(new Set(["success"]));
    const after = await actionsOf(s, 0).getStaker({ account: accountAt(s, workers[0]) });
    expect(after.stakeWei - staker.stakeWei).toBe(parseEther("0.04"));
  });
});
