import { type Address, getAddress, type Hex, keccak256, parseEther, toHex, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../test/sdk/fixture.ts";
import { proveMisordered } from "../../sdk/actions/validator/proveUnlinked.ts";
import { assignSlots, type Commitment, itemsTree, type MicrobatchItem, storedCommitmentDigest } from "../../sdk/protocol/index.ts";
import {
  duplicateProof,
  isLinked,
  leafOf,
  linkedLeaves,
  misorderedProof,
  type ServedCommitment,
  servedItem,
  servedLookup,
  unlinkedProof,
} from "./links.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const MICROBATCHES = 8;
const spec = testSpec({ microbatchesPerRound: MICROBATCHES });

type Leaf = Omit<MicrobatchItem, "index">;

/**
 * Stage `stage`'s leaf of `microbatch` in pipeline `head` (stage 0's output is stage 1's input;
 * the data of every pipeline is keyed by its head, so two pipelines never share an input).
 */
function leaf(stage: number, microbatch: number, links: { upstream: Address; downstream: Address }, head = "A"): Leaf {
  return {
    microbatch,
    inputActHash: stage === 0 ? h(`tokens ${head} ${microbatch}`) : h(`act ${head} ${microbatch}`),
    outputActHash: stage === 0 ? h(`act ${head} ${microbatch}`) : h(`loss ${head} ${microbatch}`),
    upstreamGradHash: stage === 0 ? h(`grad ${head} ${microbatch}`) : zeroHash,
    inputGradHash: stage === 0 ? zeroHash : h(`grad ${head} ${microbatch}`),
    gradRoot: h(`g ${stage} ${head} ${microbatch}`),
    weightsRoot: h(`w ${stage}`),
    ...links,
  };
}

/** What a worker serves for round 0: its signed commitment's fields and its leaves (slotted by microbatch unless given slots). */
function served(stage: number, worker: Address, leaves: readonly Leaf[] | readonly MicrobatchItem[]): ServedCommitment {
  const items = leaves.every((l) => "index" in l) ? [...(leaves as MicrobatchItem[])] : assignSlots(leaves);
  const commitment: Commitment = {
    modelId: 1n,
    round: 0n,
    stage,
    worker,
    itemsRoot: itemsTree(items).root,
    itemCount: items.length,
    weightsRootBefore: spec.initialWeightsRoots[stage] as Hex,
    weightsRootAfter: h(`after ${stage} ${worker}`),
  };
  return { c: { worker, stage }, m: { commitment, signature: "0x", items } };
}

type Workers = Record<
  "A" | "B1" | "B2" | "U" | "D" | "V" | "above" | "below" | "bracket" | "other" | "never" | "madeUp" | "unserved" | "unservedUp" | "M",
  Address
>;

/**
 * Round 0 of a two-stage model with eight microbatches. Stage 0 worker A routes the even
 * microbatches to replica B1 and the odd ones to replica B2 (both honest). U is another pipeline's
 * stage-0 worker holding microbatches 2, 3 and 5 (sent to D, which never committed). Then the
 * cheats, each a one-leaf stage-1 commitment unless said otherwise:
 * - V: a verbatim copy of all of B2's leaves (they name A, whose leaves name B2);
 * - above / below / bracket / other: B1's leaf of microbatch 0 / 6 / 4 / 2 naming U upstream,
 *   which holds no microbatch 0 (its first slot is above it), no 6 (its last slot is below),
 *   no 4 (slots 1 and 2 bracket it), and names D for microbatch 2;
 * - never: B2's leaf of microbatch 1 naming an upstream that never committed;
 * - unserved: B2's leaf of microbatch 3 naming unservedUp, which committed but serves nothing;
 * - M: microbatches 1, 3, 3 at slots 0, 1, 2 (claims microbatch 3 twice).
 */
function scenario(w: Workers) {
  const a = served(
    0,
    w.A,
    Array.from({ length: MICROBATCHES }, (_, m) => leaf(0, m, { upstream: zeroAddress, downstream: m % 2 === 0 ? w.B1 : w.B2 })),
  );
  const b1 = served(
    1,
    w.B1,
    [0, 2, 4, 6].map((m) => leaf(1, m, { upstream: w.A, downstream: zeroAddress })),
  );
  const b2 = served(
    1,
    w.B2,
    [1, 3, 5, 7].map((m) => leaf(1, m, { upstream: w.A, downstream: zeroAddress })),
  );
  const u = served(
    0,
    w.U,
    [5, 2, 3].map((m) => leaf(0, m, { upstream: zeroAddress, downstream: w.D }, "U")),
  );
  const v = served(1, w.V, b2.m.items);
  const copy = (worker: Address, of: ServedCommitment, microbatch: number, upstream: Address) => {
    const { index: _slot, ...copied } = leafOf(of, microbatch) as MicrobatchItem;
    return served(1, worker, [{ ...copied, upstream }]);
  };
  const above = copy(w.above, b1, 0, w.U);
  const below = copy(w.below, b1, 6, w.U);
  const bracket = copy(w.bracket, b1, 4, w.U);
  const other = copy(w.other, b1, 2, w.U);
  const never = copy(w.never, b2, 1, w.madeUp);
  const unserved = copy(w.unserved, b2, 3, w.unservedUp);
  const unservedUp = served(0, w.unservedUp, [leaf(0, 3, { upstream: zeroAddress, downstream: w.D }, "unserved")]);
  const misordered = served(
    1,
    w.M,
    [1, 3, 3].map((m, index) => ({ ...leaf(1, m, { upstream: w.A, downstream: zeroAddress }, "M"), index, gradRoot: h(`M ${index}`) })),
  );
  const all = [a, b1, b2, u, v, above, below, bracket, other, never, unserved, misordered];
  // What the ledger accepted: every served commitment, and unservedUp's, whose manifest nobody can fetch.
  const accepted = [...all.map((s) => s.c), unservedUp.c];
  return {
    a,
    b1,
    b2,
    u,
    v,
    above,
    below,
    bracket,
    other,
    never,
    unserved,
    unservedUp,
    misordered,
    all,
    accepted,
    lookup: servedLookup(all),
  };
}

const fake: Workers = {
  A: addr(0xa),
  B1: addr(0xb1),
  B2: addr(0xb2),
  U: addr(0x0c),
  D: addr(0x0d),
  V: addr(0x0e),
  above: addr(0xab),
  below: addr(0xbe),
  bracket: addr(0xbc),
  other: addr(0x07),
  never: addr(0x4e),
  madeUp: addr(0xdead),
  unserved: addr(0x05),
  unservedUp: addr(0x50),
  M: addr(0x3),
};

const slotsOf = (items: readonly { worker: Address; leaf: MicrobatchItem }[] | undefined) =>
  items?.map((i) => [i.worker, i.leaf.index, i.leaf.microbatch]);

describe("pipeline link evidence with replicas (pure)", () => {
  const x = scenario(fake);

  it("linkedLeaves pairs each microbatch with the replica it was routed to, and nothing else", () => {
    const pairs = (up: ServedCommitment, down: ServedCommitment) =>
      linkedLeaves(up, down).map((p) => [p.up.microbatch, p.up.index, p.down.index]);
    // [microbatch, stage-0 slot, replica slot]: A holds every microbatch at its own slot, each replica at slots 0..3.
    expect(pairs(x.a, x.b1)).toEqual([
      [0, 0, 0],
      [2, 2, 1],
      [4, 4, 2],
      [6, 6, 3],
    ]);
    expect(pairs(x.a, x.b2)).toEqual([
      [1, 1, 0],
      [3, 3, 1],
      [5, 5, 2],
      [7, 7, 3],
    ]);
    // A copy of B2 names A, but A names B2: not linked. Nor is U with a copy naming it (U names D).
    expect(pairs(x.a, x.v)).toEqual([]);
    expect(pairs(x.u, x.other)).toEqual([]);
    const [first] = linkedLeaves(x.a, x.b2);
    expect(first && isLinked({ worker: fake.A, leaf: first.up }, { worker: fake.B2, leaf: first.down })).toBe(true);
    // One side naming the other is not enough, and leaves of different microbatches never link.
    expect(first && isLinked({ worker: fake.A, leaf: first.up }, { worker: fake.V, leaf: first.down })).toBe(false);
    expect(
      isLinked({ worker: fake.A, leaf: leafOf(x.a, 3) as MicrobatchItem }, { worker: fake.B2, leaf: leafOf(x.b2, 1) as MicrobatchItem }),
    ).toBe(false);
    // Addresses compare by value, not by checksum casing.
    const lower = { ...(leafOf(x.a, 1) as MicrobatchItem), downstream: fake.B2.toLowerCase() as Address };
    expect(isLinked({ worker: fake.A, leaf: lower }, { worker: fake.B2, leaf: leafOf(x.b2, 1) as MicrobatchItem })).toBe(true);
  });

  it("unlinkedProof finds nothing against the honest stage or its replicas, but finds a verbatim copy of one replica", () => {
    for (const honest of [x.a, x.b1, x.b2, x.u]) expect(unlinkedProof(honest, x.lookup)).toBeUndefined();
    const proof = unlinkedProof(x.v, x.lookup);
    // The copy's first leaf (microbatch 1): A's leaf names B2, whose leaf names A back.
    expect(slotsOf(proof && [proof.item, proof.neighbour, proof.partner])).toEqual([
      [fake.V, 0, 1],
      [fake.A, 1, 1],
      [fake.B2, 0, 1],
    ]);
    // A copy naming U proves nothing this way: U names D, who committed nothing.
    expect(unlinkedProof(x.other, x.lookup)).toBeUndefined();
  });

  it("a neighbour that names a made-up worker voids nobody", () => {
    const liar = served(
      0,
      fake.A,
      Array.from({ length: MICROBATCHES }, (_, m) => leaf(0, m, { upstream: zeroAddress, downstream: fake.madeUp })),
    );
    expect(unlinkedProof(x.b1, servedLookup([liar, x.b1, x.b2]))).toBeUndefined();
    expect(unlinkedProof(x.b2, servedLookup([liar, x.b1, x.b2]))).toBeUndefined();
  });

  it("duplicateProof proves the copy's upstream never sent it the microbatch, in each form", () => {
    const proof = (s: ServedCommitment) => duplicateProof(s, x.all, x.accepted, x.lookup);
    // The original (B1's leaf) and A's leaf naming B1 are the same in every form.
    for (const [copy, microbatch, copyUpstream] of [
      [x.above, 0, [[fake.U, 0, 2]]], // U's first slot is above microbatch 0
      [x.below, 6, [[fake.U, 2, 5]]], // U's last slot is below microbatch 6
      [
        x.bracket,
        4,
        [
          [fake.U, 1, 3],
          [fake.U, 2, 5],
        ],
      ], // adjacent slots 1 and 2 bracket microbatch 4
      [x.other, 2, [[fake.U, 0, 2]]], // U's leaf of microbatch 2 names D
    ] as const) {
      const p = proof(copy);
      expect(slotsOf(p && [p.copy, p.original, p.originalUpstream]), `microbatch ${microbatch}`).toEqual([
        [copy.c.worker, 0, microbatch],
        [fake.B1, microbatch / 2, microbatch],
        [fake.A, microbatch, microbatch],
      ]);
      expect(slotsOf(p?.copyUpstream)).toEqual(copyUpstream);
    }
    // Its upstream never committed: nothing to show, the ledger checks that itself.
    const never = proof(x.never);
    expect(slotsOf(never && [never.copy, never.original, never.originalUpstream])).toEqual([
      [fake.never, 0, 1],
      [fake.B2, 0, 1],
      [fake.A, 1, 1],
    ]);
    expect(never?.copyUpstream).toEqual([]);
    // Its upstream committed but serves nothing: no evidence either way.
    expect(proof(x.unserved)).toBeUndefined();
    // Never against the linked originals (even though copies share their inputs), nor at stage 0.
    for (const honest of [x.a, x.b1, x.b2, x.u]) expect(proof(honest)).toBeUndefined();
    // A copy that names the original's upstream is the original upstream's to disprove: no copyUpstream needed.
    const sameUpstream = duplicateProof(x.v, x.all, x.accepted, x.lookup);
    expect(slotsOf(sameUpstream && [sameUpstream.copy, sameUpstream.original])).toEqual([
      [fake.V, 0, 1],
      [fake.B2, 0, 1],
    ]);
    expect(sameUpstream?.copyUpstream).toEqual([]);
  });

  it("duplicateProof reads the upstream's slots whatever order its served manifest lists them in (the tree root ignores the order)", () => {
    // U serves the same tree with its items listed in another order: valid content, same itemsRoot.
    const shuffled: ServedCommitment = { c: x.u.c, m: { ...x.u.m, items: [...x.u.m.items].reverse() } };
    expect(itemsTree(shuffled.m.items).root).toBe(x.u.m.commitment.itemsRoot);
    const all = x.all.map((c) => (c === x.u ? shuffled : c));
    const lookup = servedLookup(all);
    for (const [copy, copyUpstream] of [
      [x.above, [[fake.U, 0, 2]]],
      [x.below, [[fake.U, 2, 5]]],
      [
        x.bracket,
        [
          [fake.U, 1, 3],
          [fake.U, 2, 5],
        ],
      ],
    ] as const)
      expect(
        slotsOf(duplicateProof(copy, all, x.accepted, lookup)?.copyUpstream),
        `copy of microbatch ${copy.m.items[0]?.microbatch}`,
      ).toEqual(copyUpstream);
  });

  it("misorderedProof finds a microbatch claimed twice or slots out of microbatch order, and nothing in slotted trees", () => {
    const p = misorderedProof(x.misordered);
    expect(slotsOf(p && [p.a, p.b])).toEqual([
      [fake.M, 1, 3],
      [fake.M, 2, 3],
    ]);
    const descending = served(1, fake.M, [
      { ...leaf(1, 5, { upstream: fake.A, downstream: zeroAddress }), index: 0 },
      { ...leaf(1, 2, { upstream: fake.A, downstream: zeroAddress }), index: 1 },
    ]);
    const d = misorderedProof(descending);
    expect(slotsOf(d && [d.a, d.b])).toEqual([
      [fake.M, 0, 5],
      [fake.M, 1, 2],
    ]);
    for (const ordered of [x.a, x.b1, x.b2, x.u, x.v, x.above]) expect(misorderedProof(ordered)).toBeUndefined();
  });
});

describe("pipeline link evidence with replicas, accepted by the real ComputeLedger", () => {
  let s: Shardholder;
  let x: ReturnType<typeof scenario>;
  const wallets: Record<keyof Workers, number> = {
    A: 1,
    B1: 2,
    B2: 3,
    U: 6,
    V: 7,
    above: 8,
    below: 9,
    bracket: 10,
    other: 11,
    never: 12,
    unserved: 13,
    unservedUp: 14,
    M: 15,
    D: 16,
    madeUp: 17,
  };
  const voided = async (c: ServedCommitment) =>
    (await actionsOf(s, 0).getCommitment({ modelId: 1n, round: 0n, stage: c.c.stage, worker: c.c.worker })).voided;

  beforeAll(async () => {
    s = await deployShardholder();
    const relayer = actionsOf(s, 0);
    await relayer.registerModel({ spec });
    const w = Object.fromEntries(Object.entries(wallets).map(([name, i]) => [name, accountAt(s, i)])) as Workers;
    // D never commits and madeUp is nobody's worker: fresh addresses, not staked wallets.
    w.D = privateKeyToAccount(generatePrivateKey()).address;
    w.madeUp = privateKeyToAccount(generatePrivateKey()).address;
    x = scenario(w);
    const signed = [];
    for (const c of [...x.all, x.unservedUp]) {
      const i = wallets[(Object.keys(w) as (keyof Workers)[]).find((k) => w[k] === c.c.worker) as keyof Workers];
      const key = privateKeyToAccount(generatePrivateKey());
      await actionsOf(s, i).stake({ payout: accountAt(s, i), signingKey: key.address, valueWei: parseEther("2") });
      signed.push(await relayer.signRoundCommitment({ commitment: c.m.commitment, signer: key }));
    }
    await relayer.submitCommitments({ signed });
    await actionsOf(s, 4).stake({ payout: accountAt(s, 4), signingKey: accountAt(s, 4), valueWei: parseEther("1") });
    await actionsOf(s, 4).setValidator({ modelId: 1n, stage: 1, validator: true });
    const model = await relayer.getModel({ modelId: 1n });
    await s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec));
  });

  it("the ledger stored every served commitment's digest (items tree with slots and per-leaf neighbours, weights roots)", async () => {
    for (const c of [...x.all, x.unservedUp]) {
      const stored = await actionsOf(s, 0).getCommitment({ modelId: 1n, round: 0n, stage: c.c.stage, worker: c.c.worker });
      expect(stored.digestPrefix.toLowerCase()).toBe(
        storedCommitmentDigest(c.m.commitment)
          .slice(0, 2 + 36)
          .toLowerCase(),
      );
      expect(servedItem(c, c.m.items[0] as MicrobatchItem).itemsRoot).toBe(c.m.commitment.itemsRoot);
    }
  });

  it("voids the verbatim copy of a replica with unlinkedProof, and neither replica", async () => {
    const proof = unlinkedProof(x.v, x.lookup);
    if (!proof) throw new Error("no proof");
    const { removedUnits } = await actionsOf(s, 4).proveUnlinked(proof);
    expect(removedUnits).toBe(4n * 5n);
    expect(await voided(x.v)).toBe(true);
    for (const honest of [x.a, x.b1, x.b2]) expect(await voided(honest)).toBe(false);
  });

  it("voids each duplicate with the absence form duplicateProof built (first slot above, last slot below, bracket, other downstream, never committed)", async () => {
    for (const copy of [x.above, x.below, x.bracket, x.other, x.never]) {
      const proof = duplicateProof(copy, x.all, x.accepted, x.lookup);
      if (!proof) throw new Error(`no proof against ${copy.c.worker}`);
      const { removedUnits } = await actionsOf(s, 4).proveDuplicate(proof);
      expect(removedUnits).toBe(5n);
      expect(await voided(copy)).toBe(true);
    }
    for (const honest of [x.a, x.b1, x.b2, x.u, x.unserved]) expect(await voided(honest)).toBe(false);
  });

  it("voids the tree that claims a microbatch twice with misorderedProof", async () => {
    const proof = misorderedProof(x.misordered);
    if (!proof) throw new Error("no proof");
    const wallet = s.wallets[4];
    if (!wallet) throw new Error("no wallet");
    const { removedUnits } = await proveMisordered(wallet, { deployments: s.deployments, ...proof });
    expect(removedUnits).toBe(3n * 5n);
    expect(await voided(x.misordered)).toBe(true);
    const round = await actionsOf(s, 0).getRound({ modelId: 1n, round: 0n });
    // What is left: A (8 stage-0 leaves), U and unservedUp (3 + 1), B1, B2 and unserved (4 + 4 + 1 stage-1 leaves).
    expect(round.totalUnits).toBe((8n + 3n + 1n) * 3n + (4n + 4n + 1n) * 5n);
  });
});
