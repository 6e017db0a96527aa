import { type Address, encodeAbiParameters, type Hex, keccak256, parseAbiParameters, parseEther, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readContract } from "viem/actions";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import { shardholderActions } from "../../decorator.ts";
import {
  ComputeLedgerAlreadyCommittedError,
  ComputeLedgerAppealWindowOpenError,
  ComputeLedgerInvalidProofError,
  ComputeLedgerInvalidSignatureError,
  ComputeLedgerNothingToMintError,
  ComputeLedgerUnbondingNotElapsedError,
} from "../../errors/contractErrors.ts";
import { ContractRevertError } from "../../errors/contract.ts";
import { AccountRequiredError } from "../../errors/sdk.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import { ledgerItem } from "../validator/ledgerItem.ts";
import { itemsTree, type MicrobatchItem } from "../../protocol/merkle.ts";
import { DisputeStatus } from "../../protocol/disputeStatus.ts";
import { stake } from "./stake.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec();

/**
 * A consistent two-stage hash chain for microbatches 0..n-1 of one round (slot = microbatch), each
 * leaf naming the neighbour it exchanged the microbatch with: `up` (stage 0) and `down` (stage 1).
 */
function chainedItems(round: number, n: number, [up, down]: [Address, Address]): [MicrobatchItem[], MicrobatchItem[]] {
  const s0: MicrobatchItem[] = [];
  const s1: MicrobatchItem[] = [];
  for (let index = 0; index < n; index++) {
    const act = h(`act ${round} ${index}`);
    const grad = h(`grad ${round} ${index}`);
    s0.push({
      index,
      microbatch: index,
      inputActHash: h(`tokens ${round} ${index}`),
      outputActHash: act,
      upstreamGradHash: grad,
      inputGradHash: `0x${"00".repeat(32)}`,
      gradRoot: h(`g0 ${index}`),
      weightsRoot: h(`w0 ${round}`),
      upstream: zeroAddress,
      downstream: down,
    });
    s1.push({
      index,
      microbatch: index,
      inputActHash: act,
      outputActHash: h(`loss ${index}`),
      upstreamGradHash: `0x${"00".repeat(32)}`,
      inputGradHash: grad,
      gradRoot: h(`g1 ${index}`),
      weightsRoot: h(`w1 ${round}`),
      upstream: up,
      downstream: zeroAddress,
    });
  }
  return [s0, s1];
}

describe("miner and validator actions on a real ledger", () => {
  let s: Shardholder;
  let client: (i: number) => ReturnType<typeof bound>;
  const bound = (s: Shardholder, i: number) => {
    const w = s.wallets[i];
    if (!w) throw new Error(`no wallet ${i}`);
    return w.extend(shardholderActions({ deployments: s.deployments }));
  };
  const keyA = privateKeyToAccount(generatePrivateKey());
  const keyB = privateKeyToAccount(generatePrivateKey());
  let workerA: Address;
  let workerB: Address;
  let genesis: bigint;
  let commitmentA: Commitment;
  let treeA: ReturnType<typeof itemsTree>;

  beforeAll(async () => {
    s = await deployShardholder();
    client = (i) => bound(s, i);
    workerA = accountAt(s, 1);
    workerB = accountAt(s, 2);
  });

  it("registers a model and reads it back with its token and terms", async () => {
    const { modelId, token } = await client(0).registerModel({ spec });
    expect(modelId).toBe(1n);
    const model = await client(0).getModel({ modelId });
    expect(model.token).toBe(token);
    expect(model.stageCount).toBe(2);
    expect(model.specHash).toBe(spec.specHash);
    expect(model.initialWeightsRoots).toEqual(spec.initialWeightsRoots);
    expect(model.unitsPerMicrobatch).toEqual([3n, 5n]);
    expect(model.holderFeeBps).toBe(10_000 - 200 - 3000);
    expect(model.emission.tokensPerRound).toBe(spec.emission.tokensPerRound);
    expect(model.metadataURI).toBe("ipfs://tiny");
    expect(model.currentRound).toBe(0n);
    genesis = model.genesisTime;
    const list = await client(5).listModels();
    expect(list.total).toBe(1n);
    expect(list.models[0]?.designer).toBe(accountAt(s, 0));
    const t = await client(5).getModelToken({ modelId });
    expect([t.symbol, t.totalSupplyTokens, t.capTokens]).toEqual(["TCT", 0n, spec.emission.capTokens]);
  });

  it("stakes workers and validators and reads their records", async () => {
    await client(1).stake({ payout: accountAt(s, 7), signingKey: keyA.address, valueWei: parseEther("2") });
    await client(2).stake({ payout: accountAt(s, 8), signingKey: keyB.address, valueWei: parseEther("2") });
    for (const v of [3, 4, 5, 6]) {
      await client(v).stake({ payout: accountAt(s, v), signingKey: accountAt(s, v), valueWei: parseEther("1") });
      await client(v).setValidator({ modelId: 1n, stage: 0, validator: true });
    }
    const a = await client(0).getStaker({ account: workerA });
    expect(a.stakeWei).toBe(parseEther("2"));
    expect(a.signingKey).toBe(keyA.address);
    expect(a.payout).toBe(accountAt(s, 7));
    expect((await client(0).getStaker({ account: accountAt(s, 3) })).validator).toBe(true);
  });

  it("signs commitments that the ledger's own EIP-712 digest verifies, and relays them in batches", async () => {
    const [items0, items1] = chainedItems(0, 4, [workerA, workerB]);
    treeA = itemsTree(items0);
    const treeB = itemsTree(items1);
    commitmentA = {
      modelId: 1n,
      round: 0n,
      stage: 0,
      worker: workerA,
      itemsRoot: treeA.root,
      itemCount: 4,
      weightsRootBefore: spec.initialWeightsRoots[0] as Hex,
      weightsRootAfter: h("a1"),
    };
    const commitmentB: Commitment = {
      modelId: 1n,
      round: 0n,
      stage: 1,
      worker: workerB,
      itemsRoot: treeB.root,
      itemCount: 4,
      weightsRootBefore: spec.initialWeightsRoots[1] as Hex,
      weightsRootAfter: h("b1"),
    };
    // The ledger stores one digest of (itemsRoot, weightsRootBefore, weightsRootAfter): the neighbours are in the leaves.
    const digest = keccak256(
      encodeAbiParameters(parseAbiParameters("bytes32, bytes32, bytes32"), [
        commitmentA.itemsRoot,
        commitmentA.weightsRootBefore,
        commitmentA.weightsRootAfter,
      ]),
    );
    const onChain = await readContract(s.publicClient, {
      abi: computeLedgerAbi,
      address: s.deployments.contracts.computeLedger,
      functionName: "domainSeparator",
    });
    const domainTypeHash = keccak256(toHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
    const expected = keccak256(
      encodeAbiParameters(parseAbiParameters("bytes32, bytes32, bytes32, uint256, address"), [
        domainTypeHash,
        keccak256(toHex("Shardholder")),
        keccak256(toHex("1")),
        BigInt(s.deployments.chainId),
        s.deployments.contracts.computeLedger,
      ]),
    );
    expect(onChain).toBe(expected);
    const signedA = await client(0).signRoundCommitment({ commitment: commitmentA, signer: keyA });
    const signedB = await client(0).signRoundCommitment({ commitment: commitmentB, signer: keyB });
    const { batches, submitted } = await client(0).submitCommitments({ signed: [signedB, signedA], batchSize: 1 });
    expect([batches.length, submitted]).toEqual([2, 2]);
    const recA = await client(0).getCommitment({ modelId: 1n, round: 0n, stage: 0, worker: workerA });
    const recB = await client(0).getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: workerB });
    expect([recA.found, recA.units, recB.units]).toEqual([true, 12n, 20n]);
    expect(recA.digestPrefix.toLowerCase()).toBe(digest.slice(0, 2 + 36));
    expect((await client(0).getRound({ modelId: 1n, round: 0n })).totalUnits).toBe(32n);

    // An exact copy is skipped (a front-run copy cannot sink a batch); a different commitment reverts.
    await client(0).submitCommitments({ signed: [signedA] });
    expect((await client(0).getRound({ modelId: 1n, round: 0n })).totalUnits).toBe(32n);
    const other = await client(0).signRoundCommitment({
      commitment: { ...commitmentA, itemsRoot: keccak256(toHex("another tree")) },
      signer: keyA,
    });
    const again = client(0).submitCommitments({ signed: [other] });
    await expect(again).rejects.toBeInstanceOf(ComputeLedgerAlreadyCommittedError);
    const err = await again.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractRevertError);
    expect((err as ComputeLedgerAlreadyCommittedError).args).toEqual([1n, 0n, 0, workerA]);
    expect((err as Error).message).toMatch(/already committed/);

    const forged = await client(0).signRoundCommitment({ commitment: { ...commitmentB, worker: workerA, stage: 1 }, signer: keyB });
    await expect(client(0).submitCommitments({ signed: [forged] })).rejects.toBeInstanceOf(ComputeLedgerInvalidSignatureError);
  });

  it("challenges a leaf, votes fraud as the drawn committee, resolves and slashes", async () => {
    await s.networkHelpers.time.increaseTo(genesis + 3600n);
    const item = ledgerItem({ commitment: commitmentA, tree: treeA, index: 2 });
    // The leaf's microbatch and neighbours are bound by the items tree: another downstream, upstream or microbatch is no committed leaf.
    for (const leaf of [
      { ...item.leaf, downstream: accountAt(s, 9) },
      { ...item.leaf, upstream: workerB },
      { ...item.leaf, microbatch: 3 },
    ])
      await expect(client(3).challengeItem({ item: { ...item, leaf } })).rejects.toBeInstanceOf(ComputeLedgerInvalidProofError);
    const { disputeId, bondWei, drawBlock } = await client(3).challengeItem({ item });
    expect(bondWei).toBe(parseEther("1"));
    // The committee does not exist yet: it is drawn from the hash of the challenge's block.
    expect((await client(0).getPanel({ disputeId, level: 0 })).length).toBe(0);
    const { members, seats } = await client(9).drawCommittee({ disputeId });
    expect(seats).toBe(5);
    expect((await s.publicClient.getBlockNumber()) > drawBlock).toBe(true);
    for (const m of members) {
      expect([accountAt(s, 4), accountAt(s, 5), accountAt(s, 6)]).toContain(m);
      const index = [4, 5, 6].find((i) => accountAt(s, i) === m) as number;
      await client(index).vote({ disputeId, fraud: true });
    }
    await expect(client(0).resolveDispute({ disputeId })).rejects.toBeInstanceOf(ComputeLedgerAppealWindowOpenError);
    await s.networkHelpers.time.increase(spec.timing.voteWindowSec); // the appeal window
    await client(0).resolveDispute({ disputeId });
    const d = await client(0).getDispute({ disputeId });
    expect(d.status).toBe(DisputeStatus.Fraud);
    const a = await client(0).getStaker({ account: workerA });
    expect(a.jailed).toBe(true);
    expect(a.stakeWei).toBe(parseEther("1"));
    const credited = await client(0).getPayments({ account: accountAt(s, 3) });
    expect(credited).toBe(parseEther("1") + parseEther("0.5"));
    const before = await s.publicClient.getBalance({ address: accountAt(s, 3) });
    await client(3).withdrawPayments();
    expect(await s.publicClient.getBalance({ address: accountAt(s, 3) })).toBeGreaterThan(before + parseEther("1.49"));
  });

  it("finalizes the round and mints rewards only to the honest worker", async () => {
    await s.networkHelpers.time.increaseTo(genesis + 7200n);
    await client(9).finalizeRound({ modelId: 1n, round: 0n });
    const round = await client(0).getRound({ modelId: 1n, round: 0n });
    expect(round.finalized).toBe(true);
    expect(round.totalUnits).toBe(20n);
    const minted = await client(9).mintReward({ modelId: 1n, round: 0n, worker: workerB });
    expect(minted.payout).toBe(accountAt(s, 8));
    expect(minted.workerTokens + minted.designerTokens).toBe(spec.emission.tokensPerRound);
    expect(minted.designerTokens).toBe(spec.emission.tokensPerRound / 10n);
    await expect(client(9).mintReward({ modelId: 1n, round: 0n, worker: workerA })).rejects.toBeInstanceOf(ComputeLedgerNothingToMintError);
  });

  it("rotates the signing key (old key rejected at once) and changes the payout", async () => {
    const keyB2 = privateKeyToAccount(generatePrivateKey());
    await client(2).setSigningKey({ signingKey: keyB2.address });
    await client(2).setPayout({ payout: accountAt(s, 9) });
    const b = await client(0).getStaker({ account: workerB });
    expect([b.signingKey, b.payout]).toEqual([keyB2.address, accountAt(s, 9)]);
    const round = await client(0).getCurrentRound({ modelId: 1n });
    expect(round).toBe(2n);
    const [, items1] = chainedItems(2, 2, [workerA, workerB]);
    const c: Commitment = {
      modelId: 1n,
      round,
      stage: 1,
      worker: workerB,
      itemsRoot: itemsTree(items1).root,
      itemCount: 2,
      weightsRootBefore: h("b1"),
      weightsRootAfter: h("b2"),
    };
    const old = await client(0).signRoundCommitment({ commitment: c, signer: keyB });
    await expect(client(0).submitCommitments({ signed: [old] })).rejects.toBeInstanceOf(ComputeLedgerInvalidSignatureError);
    await client(0).submitCommitments({ signed: [await client(0).signRoundCommitment({ commitment: c, signer: keyB2 })] });
    expect((await client(0).getCommitment({ modelId: 1n, round, stage: 1, worker: workerB })).units).toBe(10n);
  });

  it("unbonds, refuses an early withdrawal with a typed error, then returns the stake", async () => {
    await client(2).requestUnbond();
    const early = client(2).withdrawStake();
    await expect(early).rejects.toBeInstanceOf(ComputeLedgerUnbondingNotElapsedError);
    await s.networkHelpers.time.increase(7 * 24 * 3600);
    const before = await s.publicClient.getBalance({ address: workerB });
    await client(2).withdrawStake();
    expect(await s.publicClient.getBalance({ address: workerB })).toBeGreaterThan(before + parseEther("1.99"));
    expect((await client(0).getStaker({ account: workerB })).stakeWei).toBe(0n);
  });

  it("refuses writes without an account before touching the chain", async () => {
    await expect(
      stake(s.publicClient, { deployments: s.deployments, payout: workerA, signingKey: workerA, valueWei: 1n }),
    ).rejects.toBeInstanceOf(AccountRequiredError);
  });
});
