import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { type Address, type Hex, keccak256, type LocalAccount, parseEther, toHex, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { readContract } from "viem/actions";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { computeLedgerAbi } from "../../abi/computeLedger.ts";
import {
  ComputeLedgerInvalidReceiptSignatureError,
  ComputeLedgerNotADuplicateError,
  ComputeLedgerNotAnEquivocationError,
  ComputeLedgerNotLinkedError,
  ComputeLedgerNotMisorderedError,
  ComputeLedgerNotUnlinkedError,
  ComputeLedgerNothingToMintError,
} from "../../errors/contractErrors.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import {
  type LinkReceipt,
  listedMicrobatches,
  microbatchBitmap,
  recoverLinkReceiptSigner,
  signLinkReceipt,
} from "../../protocol/linkReceipt.ts";
import { assignSlots, type ItemsTree, itemsTree, type MicrobatchItem } from "../../protocol/merkle.ts";
import { type LedgerItem, ledgerItem } from "./ledgerItem.ts";
import { proveMisordered } from "./proveUnlinked.ts";
import { attestationSample, attestDraws } from "./sample.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec({ microbatchesPerRound: 4 });
const UNITS = [3n, 5n] as const;

type Links = { upstream: Address; downstream: Address };
type Leaf = Omit<MicrobatchItem, "index">;

/** Stage `stage`'s leaf of `microbatch` in a consistent two-stage pipeline (stage 0's output is stage 1's input). */
function leaf(stage: number, microbatch: number, links: Links): Leaf {
  return {
    microbatch,
    inputActHash: stage === 0 ? h(`tokens ${microbatch}`) : h(`act ${microbatch}`),
    outputActHash: stage === 0 ? h(`act ${microbatch}`) : h(`loss ${microbatch}`),
    upstreamGradHash: stage === 0 ? h(`grad ${microbatch}`) : zeroHash,
    inputGradHash: stage === 0 ? zeroHash : h(`grad ${microbatch}`),
    gradRoot: h(`g ${stage} ${microbatch}`),
    weightsRoot: h(`w ${stage}`),
    ...links,
  };
}

/** A commitment accepted on-chain with its tree: `at(microbatch)` is the ledger payload of that microbatch's leaf. */
type Committed = { commitment: Commitment; tree: ItemsTree; at: (microbatch: number) => LedgerItem; slot: (index: number) => LedgerItem };

type Chain = {
  s: Shardholder;
  /** Signs and submits the round-0 commitment of wallet `w` at `stage` over `items` (slots as given). */
  commit: (stage: number, w: number, items: readonly MicrobatchItem[]) => Promise<Committed>;
  /** Signs and submits the round-0 commitment of wallet `w` at `stage` over any `itemsRoot`. */
  commitRoot: (stage: number, w: number, itemsRoot: Hex, itemCount: number) => Promise<Commitment>;
  /** Wallet `w`'s signing key. */
  signer: (w: number) => LocalAccount;
  toChallengeWindow: () => Promise<void>;
  pastChallengeWindow: () => Promise<void>;
};

/** Model 1 registered; wallets 1, 2, 3 and 6 staked workers, 4 a stage-0 validator, 5 a stage-1 validator. */
async function chain(): Promise<Chain> {
  const s = await deployShardholder();
  const relayer = actionsOf(s, 0);
  await relayer.registerModel({ spec });
  const keys = new Map<Address, ReturnType<typeof privateKeyToAccount>>();
  for (const w of [1, 2, 3, 6]) {
    const key = privateKeyToAccount(generatePrivateKey());
    keys.set(accountAt(s, w), key);
    await actionsOf(s, w).stake({ payout: accountAt(s, w), signingKey: key.address, valueWei: parseEther("2") });
  }
  for (const [v, stage] of [
    [4, 0],
    [5, 1],
  ] as const) {
    await actionsOf(s, v).stake({ payout: accountAt(s, v), signingKey: accountAt(s, v), valueWei: parseEther("1") });
    await actionsOf(s, v).setValidator({ modelId: 1n, stage, validator: true });
  }
  const model = await relayer.getModel({ modelId: 1n });
  const commitRoot = async (stage: number, w: number, itemsRoot: Hex, itemCount: number): Promise<Commitment> => {
    const worker = accountAt(s, w);
    const commitment: Commitment = {
      modelId: 1n,
      round: 0n,
      stage,
      worker,
      itemsRoot,
      itemCount,
      weightsRootBefore: spec.initialWeightsRoots[stage] as Hex,
      weightsRootAfter: h(`after ${stage}`),
    };
    const signer = keys.get(worker);
    if (!signer) throw new Error("unknown worker");
    await relayer.submitCommitments({ signed: [await relayer.signRoundCommitment({ commitment, signer })] });
    return commitment;
  };
  const commit = async (stage: number, w: number, items: readonly MicrobatchItem[]): Promise<Committed> => {
    const tree = itemsTree(items);
    const commitment = await commitRoot(stage, w, tree.root, items.length);
    const worker = commitment.worker;
    const slot = (index: number) => ledgerItem({ commitment, tree, index });
    const at = (microbatch: number) => {
      const held = items.find((i) => i.microbatch === microbatch);
      if (!held) throw new Error(`${worker} holds no microbatch ${microbatch}`);
      return slot(held.index);
    };
    return { commitment, tree, at, slot };
  };
  const signer = (w: number): LocalAccount => {
    const key = keys.get(accountAt(s, w));
    if (!key) throw new Error(`wallet ${w} has no signing key`);
    return key;
  };
  return {
    s,
    commit,
    commitRoot,
    signer,
    toChallengeWindow: () => s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec)),
    pastChallengeWindow: () =>
      s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec + model.timing.challengeWindowSec)),
  };
}

const ALL = [0, 1, 2, 3];
const commitmentOf = (s: Shardholder, stage: number, w: number) =>
  actionsOf(s, 0).getCommitment({ modelId: 1n, round: 0n, stage, worker: accountAt(s, w) });

describe("pipeline links per leaf: copies are voided, honest neighbours are not", () => {
  /** Wallet 1 (stage 0) feeds wallet 2 (stage 1) every microbatch of round 0. */
  async function pipeline() {
    const c = await chain();
    const [w1, w2] = [accountAt(c.s, 1), accountAt(c.s, 2)];
    const up = await c.commit(0, 1, assignSlots(ALL.map((m) => leaf(0, m, { upstream: zeroAddress, downstream: w2 }))));
    const originalItems = assignSlots(ALL.map((m) => leaf(1, m, { upstream: w1, downstream: zeroAddress })));
    const original = await c.commit(1, 2, originalItems);
    return { ...c, up, original, originalItems };
  }

  it("voids a verbatim copy through the neighbour its leaf names, whose leaf names the original; the copy mints nothing", async () => {
    const { s, up, original, originalItems, commit, toChallengeWindow, pastChallengeWindow } = await pipeline();
    // Wallet 3 signs the very same leaves: each names wallet 1 upstream, whose leaves name wallet 2.
    const copy = await commit(1, 3, originalItems);
    await toChallengeWindow();
    const validator = actionsOf(s, 4);
    // The original cannot be framed with the copy: the neighbour's leaf names the original, not the copy.
    await expect(validator.proveUnlinked({ item: original.at(2), neighbour: up.at(2), partner: copy.at(2) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    await expect(validator.proveUnlinked({ item: original.at(2), neighbour: up.at(2), partner: original.at(2) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    // Leaves of different microbatches prove nothing.
    await expect(validator.proveUnlinked({ item: copy.at(2), neighbour: up.at(1), partner: original.at(1) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    const { removedUnits } = await validator.proveUnlinked({ item: copy.at(2), neighbour: up.at(2), partner: original.at(2) });
    expect(removedUnits).toBe(4n * UNITS[1]);
    expect(removedUnits).toBe((await commitmentOf(s, 1, 2)).units);
    expect((await commitmentOf(s, 1, 3)).voided).toBe(true);
    expect((await commitmentOf(s, 1, 2)).voided).toBe(false);
    await pastChallengeWindow();
    await validator.finalizeRound({ modelId: 1n, round: 0n });
    await expect(validator.mintReward({ modelId: 1n, round: 0n, worker: accountAt(s, 3) })).rejects.toBeInstanceOf(
      ComputeLedgerNothingToMintError,
    );
    expect((await validator.mintReward({ modelId: 1n, round: 0n, worker: accountAt(s, 2) })).workerTokens).toBeGreaterThan(0n);
  });

  it("voids a copy whose leaves name a made-up upstream as a duplicate of the linked original, and never the original", async () => {
    const { s, up, original, originalItems, commit, toChallengeWindow } = await pipeline();
    const madeUp = privateKeyToAccount(generatePrivateKey()).address;
    const copy = await commit(
      1,
      3,
      originalItems.map((i) => ({ ...i, upstream: madeUp })),
    );
    await toChallengeWindow();
    const validator = actionsOf(s, 5);
    // Not a verbatim copy: its named neighbour never committed, so there is nothing unlinked to show.
    await expect(validator.proveUnlinked({ item: copy.at(2), neighbour: up.at(2), partner: original.at(2) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    await expect(
      validator.proveDuplicate({ copy: original.at(2), original: copy.at(2), originalUpstream: up.at(2) }),
    ).rejects.toBeInstanceOf(ComputeLedgerNotADuplicateError);
    // The original upstream's leaf of another microbatch confirms nothing.
    await expect(
      validator.proveDuplicate({ copy: copy.at(2), original: original.at(2), originalUpstream: up.at(1) }),
    ).rejects.toBeInstanceOf(ComputeLedgerNotADuplicateError);
    const { removedUnits } = await validator.proveDuplicate({ copy: copy.at(2), original: original.at(2), originalUpstream: up.at(2) });
    expect(removedUnits).toBe(4n * UNITS[1]);
    expect((await commitmentOf(s, 1, 3)).voided).toBe(true);
    expect((await commitmentOf(s, 1, 2)).voided).toBe(false);
  });
});

describe("link receipts: a neighbour that signs one link and commits another is slashed", () => {
  it("a colluding upstream names a copier; the victim's receipt restores it, slashes the liar and voids the copy", async () => {
    const c = await chain();
    const { s } = c;
    const [w1, w2, w3] = [accountAt(s, 1), accountAt(s, 2), accountAt(s, 3)];
    // Wallet 1 fed wallet 2 every microbatch and signed so; its leaf of microbatch 2 names wallet 3,
    // which commits a copy of wallet 2's leaf of it naming wallet 1 back.
    const receipt: LinkReceipt = { modelId: 1n, round: 0n, stage: 0, upstream: w1, downstream: w2, microbatches: microbatchBitmap(ALL, 4) };
    expect(listedMicrobatches(receipt.microbatches)).toEqual(ALL);
    const context = { ledger: s.deployments.contracts.computeLedger, chainId: s.deployments.chainId, receipt };
    const signature = await signLinkReceipt(c.signer(1), context);
    expect(await recoverLinkReceiptSigner({ ...context, signature })).toBe(c.signer(1).address);
    const up = await c.commit(0, 1, assignSlots(ALL.map((m) => leaf(0, m, { upstream: zeroAddress, downstream: m === 2 ? w3 : w2 }))));
    const victimItems = assignSlots(ALL.map((m) => leaf(1, m, { upstream: w1, downstream: zeroAddress })));
    const victim = await c.commit(1, 2, victimItems);
    const copy = await c.commit(1, 3, assignSlots([leaf(1, 2, { upstream: w1, downstream: zeroAddress })]));
    await c.toChallengeWindow();
    const anyone = actionsOf(s, 5);
    await anyone.proveUnlinked({ item: victim.at(2), neighbour: up.at(2), partner: copy.at(2) });
    expect((await commitmentOf(s, 1, 2)).voided).toBe(true);

    // A signature by anyone else, or a leaf that agrees with the receipt, proves nothing.
    const forged = await signLinkReceipt(c.signer(2), context);
    await expect(anyone.proveLinkEquivocation({ liar: up.at(2), receipt, signature: forged })).rejects.toBeInstanceOf(
      ComputeLedgerInvalidReceiptSignatureError,
    );
    await expect(anyone.proveLinkEquivocation({ liar: up.at(1), receipt, signature })).rejects.toBeInstanceOf(
      ComputeLedgerNotAnEquivocationError,
    );

    const result = await actionsOf(s, 2).proveLinkEquivocation({ liar: up.at(2), receipt, signature, beneficiary: copy.at(2) });
    expect(result.restored).toEqual({ worker: w2, stage: 1, units: 4n * UNITS[1] });
    expect(result.beneficiaryRemovedUnits).toBe(UNITS[1]);
    expect((await commitmentOf(s, 1, 2)).voided).toBe(false);
    expect((await commitmentOf(s, 1, 3)).voided).toBe(true);
    expect((await anyone.getStaker({ account: w1 })).jailed).toBe(true);
    expect(await anyone.getPayments({ account: w2 })).toBeGreaterThan(0n);
  });
});

describe("replicas: one stage-0 worker feeds two stage-1 replicas disjoint microbatches", () => {
  // Wallet 1 (stage 0) routes microbatches 0 and 2 to wallet 2, 1 and 3 to wallet 3; wallet 3
  // claims another input than wallet 1 sent at microbatch 3 (a chain break). Wallet 6 trained
  // microbatch 3 in another pipeline (a made-up upstream, its own input).
  let c: Chain;
  let up: Committed;
  let r2: Committed;
  let r3: Committed;
  let other: Committed;

  beforeAll(async () => {
    c = await chain();
    const [w2, w3] = [accountAt(c.s, 2), accountAt(c.s, 3)];
    const w1 = accountAt(c.s, 1);
    up = await c.commit(0, 1, assignSlots(ALL.map((m) => leaf(0, m, { upstream: zeroAddress, downstream: m % 2 === 0 ? w2 : w3 }))));
    r2 = await c.commit(1, 2, assignSlots([2, 0].map((m) => leaf(1, m, { upstream: w1, downstream: zeroAddress }))));
    r3 = await c.commit(
      1,
      3,
      assignSlots(
        [1, 3].map((m) => ({
          ...leaf(1, m, { upstream: w1, downstream: zeroAddress }),
          ...(m === 3 ? { inputActHash: h("made up 3") } : {}),
        })),
      ),
    );
    other = await c.commit(
      1,
      6,
      assignSlots([
        {
          ...leaf(1, 3, { upstream: privateKeyToAccount(generatePrivateKey()).address, downstream: zeroAddress }),
          inputActHash: h("other pipeline 3"),
        },
      ]),
    );
    await c.toChallengeWindow();
  });

  it("each replica holds its microbatches at slots 0 and 1, and is paid for what it holds", async () => {
    expect([r2.at(0).leaf.index, r2.at(2).leaf.index, r3.at(1).leaf.index, r3.at(3).leaf.index]).toEqual([0, 1, 0, 1]);
    expect((await commitmentOf(c.s, 1, 2)).units).toBe(2n * UNITS[1]);
    expect((await commitmentOf(c.s, 1, 3)).units).toBe(2n * UNITS[1]);
    const round = await actionsOf(c.s, 0).getRound({ modelId: 1n, round: 0n });
    expect(round.totalUnits).toBe(4n * UNITS[0] + 5n * UNITS[1]);
  });

  it("neither honest replica can be voided through the other: their leaves of a microbatch are linked", async () => {
    const v = actionsOf(c.s, 4);
    // Wallet 1's leaf of microbatch 1 names wallet 3: wallet 3 itself is no partner, and wallet 2 holds no microbatch 1.
    await expect(v.proveUnlinked({ item: r3.at(1), neighbour: up.at(1), partner: r3.at(1) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    await expect(v.proveUnlinked({ item: r3.at(1), neighbour: up.at(1), partner: r2.at(0) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    await expect(v.proveUnlinked({ item: r2.at(0), neighbour: up.at(1), partner: r3.at(1) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    // The downstream side: wallet 1's leaf of microbatch 0 names wallet 2, whose leaf names wallet 1 back.
    await expect(v.proveUnlinked({ item: up.at(0), neighbour: r2.at(0), partner: up.at(0) })).rejects.toBeInstanceOf(
      ComputeLedgerNotUnlinkedError,
    );
    // Same input? No: every replica's leaf has its own microbatch's input, so no duplicate either.
    await expect(v.proveDuplicate({ copy: r3.at(1), original: r2.at(0), originalUpstream: up.at(0) })).rejects.toBeInstanceOf(
      ComputeLedgerNotADuplicateError,
    );
    for (const w of [2, 3]) expect((await commitmentOf(c.s, 1, w)).voided).toBe(false);
  });

  it("attests a replica's sampled slot and records it by microbatch (ItemAttested, isAttested)", async () => {
    const validator = actionsOf(c.s, 5);
    const { seed } = await validator.sealRoundSeed({ modelId: 1n, round: 0n });
    const parameters = await validator.getLedgerParameters();
    const [hit] = attestationSample({
      seed,
      validator: accountAt(c.s, 5),
      worker: accountAt(c.s, 3),
      stage: 1,
      itemCount: 2,
      count: attestDraws(4, { sampleBps: parameters.attestSampleBps, maxDraws: parameters.maxAttestDraws }),
    });
    if (!hit) throw new Error("no draw");
    // Sampling names the slot; wallet 3's slot s holds microbatch 2s + 1.
    const item = r3.slot(hit.index);
    expect(item.leaf.microbatch).toBe(2 * hit.index + 1);
    const attested = await validator.attestItems({ attestations: [{ item, draw: hit.draw }] });
    expect(attested.units).toBe(UNITS[1]);
    const listed = await validator.getAttestations({ modelId: 1n, round: 0n, validator: accountAt(c.s, 5) });
    expect(listed.map((a) => [a.worker, a.stage, a.microbatch])).toEqual([[accountAt(c.s, 3), 1, item.leaf.microbatch]]);
    const isAttested = (microbatch: number) =>
      readContract(c.s.publicClient, {
        abi: computeLedgerAbi,
        address: c.s.deployments.contracts.computeLedger,
        functionName: "isAttested",
        args: [1n, 0n, 1, accountAt(c.s, 3), accountAt(c.s, 5), microbatch],
      });
    expect(await isAttested(item.leaf.microbatch)).toBe(true);
    expect(await isAttested(item.leaf.index)).toBe(false);
  });

  it("a chain break pairs only leaves that name each other, and its dispute is keyed by microbatch", async () => {
    const v = actionsOf(c.s, 5);
    // Another pipeline's leaf of microbatch 3 differs from wallet 1's output but never exchanged it: it frames nobody.
    const unlinked = v.challengeChainBreak({ upstream: up.at(3), downstream: other.at(3) });
    await expect(unlinked).rejects.toBeInstanceOf(ComputeLedgerNotLinkedError);
    expect(((await unlinked.catch((e: unknown) => e)) as ComputeLedgerNotLinkedError).args).toEqual([accountAt(c.s, 1), accountAt(c.s, 6)]);
    const { disputeId } = await v.challengeChainBreak({ upstream: up.at(3), downstream: r3.at(3) });
    expect(disputeId).toBeGreaterThan(0n);
    const openOf = (stage: number, w: number, microbatch: number) =>
      readContract(c.s.publicClient, {
        abi: computeLedgerAbi,
        address: c.s.deployments.contracts.computeLedger,
        functionName: "openDisputeOfItem",
        args: [1n, 0n, stage, accountAt(c.s, w), microbatch],
      });
    // Wallet 1 holds microbatch 3 at slot 3, wallet 3 at slot 1: both are marked under microbatch 3.
    expect(await openOf(0, 1, 3)).toBe(disputeId);
    expect(await openOf(1, 3, 3)).toBe(disputeId);
    expect(await openOf(1, 3, 1)).toBe(0n);
    expect((await v.getDispute({ disputeId })).index).toBe(3);
  });
});

describe("proveMisordered: slots must ascend by microbatch", () => {
  it("voids a tree that claims a microbatch twice, and refuses an ordered pair or leaves of two commitments", async () => {
    const c = await chain();
    const w1 = accountAt(c.s, 1);
    const honest = await c.commit(1, 2, assignSlots([0, 1, 3].map((m) => leaf(1, m, { upstream: w1, downstream: zeroAddress }))));
    // Microbatch 2 at slots 1 and 2 (the second with other hashes): three items for two microbatches' work.
    const twice = [0, 2, 2].map((m, index) => ({
      ...leaf(1, m, { upstream: w1, downstream: zeroAddress }),
      index,
      gradRoot: h(`g twice ${index}`),
    }));
    const cheat = await c.commit(1, 3, twice);
    await c.toChallengeWindow();
    const wallet = c.s.wallets[4];
    if (!wallet) throw new Error("no wallet");
    const prove = (a: LedgerItem, b: LedgerItem) => proveMisordered(wallet, { deployments: c.s.deployments, a, b });
    await expect(prove(honest.slot(0), honest.slot(2))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    await expect(prove(cheat.slot(0), cheat.slot(1))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    // b must sit at a later slot than a.
    await expect(prove(cheat.slot(2), cheat.slot(1))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    // Two commitments' leaves are no order of one tree, and one leaf is not two.
    await expect(prove(honest.slot(2), cheat.slot(1))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    await expect(prove(cheat.slot(1), cheat.slot(1))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    const { removedUnits } = await prove(cheat.slot(1), cheat.slot(2));
    expect(removedUnits).toBe(3n * UNITS[1]);
    expect((await commitmentOf(c.s, 1, 3)).voided).toBe(true);
    expect((await commitmentOf(c.s, 1, 2)).voided).toBe(false);
    const [voided] = await actionsOf(c.s, 0).getVoidedCommitments({ modelId: 1n });
    expect([voided?.worker, voided?.neighbour]).toEqual([accountAt(c.s, 3), zeroAddress]);
  });

  it("voids a tree with two different leaves at one slot (more leaves than slots), whichever order they are given in", async () => {
    const c = await chain();
    const w1 = accountAt(c.s, 1);
    // The SDK's itemsTree refuses two leaves at one slot; OpenZeppelin's tree of the same leaf encoding holds them.
    const leaves: MicrobatchItem[] = [
      { ...leaf(1, 0, { upstream: w1, downstream: zeroAddress }), index: 0 },
      { ...leaf(1, 1, { upstream: w1, downstream: zeroAddress }), index: 1 },
      { ...leaf(1, 3, { upstream: w1, downstream: zeroAddress }), index: 1 },
    ];
    expect(() => itemsTree(leaves)).toThrow(/duplicate item index 1/);
    const oz = StandardMerkleTree.of(
      leaves.map((l) => [
        l.index,
        l.microbatch,
        l.inputActHash,
        l.outputActHash,
        l.upstreamGradHash,
        l.inputGradHash,
        l.gradRoot,
        l.weightsRoot,
        l.upstream,
        l.downstream,
      ]),
      ["uint32", "uint32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32", "address", "address"],
    );
    const commitment = await c.commitRoot(1, 2, oz.root as Hex, 2);
    const at = (i: number): LedgerItem => ({
      modelId: commitment.modelId,
      round: commitment.round,
      stage: commitment.stage,
      worker: commitment.worker,
      itemsRoot: commitment.itemsRoot,
      weightsRootBefore: commitment.weightsRootBefore,
      weightsRootAfter: commitment.weightsRootAfter,
      leaf: leaves[i] as MicrobatchItem,
      proof: oz.getProof(i) as Hex[],
    });
    await c.toChallengeWindow();
    const wallet = c.s.wallets[4];
    if (!wallet) throw new Error("no wallet");
    const prove = (a: LedgerItem, b: LedgerItem) => proveMisordered(wallet, { deployments: c.s.deployments, a, b });
    // Slot 1 holds microbatch 1 and microbatch 3: as (a, b) the microbatches ascend, as (b, a) they do not.
    await expect(prove(at(1), at(2))).rejects.toBeInstanceOf(ComputeLedgerNotMisorderedError);
    const { removedUnits } = await prove(at(2), at(1));
    expect(removedUnits).toBe(2n * UNITS[1]);
    expect((await commitmentOf(c.s, 1, 2)).voided).toBe(true);
  });
});
