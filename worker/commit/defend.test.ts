import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, testSpec } from "../../test/sdk/fixture.ts";
import { ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import type { Commitment } from "../../sdk/protocol/commitment.ts";
import { microbatchBitmap } from "../../sdk/protocol/linkReceipt.ts";
import { assignSlots, itemsTree, type MicrobatchItem } from "../../sdk/protocol/merkle.ts";
import { Journal } from "../journal/index.ts";
import { receiptRecord, signReceipt } from "../p2p/receipts.ts";
import { defendVoidedCommitments } from "./defend.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec({ microbatchesPerRound: 4 });
const leaf = (stage: number, m: number, upstream: Address, downstream: Address): Omit<MicrobatchItem, "index"> => ({
  microbatch: m,
  inputActHash: stage === 0 ? h(`tokens ${m}`) : h(`act ${m}`),
  outputActHash: stage === 0 ? h(`act ${m}`) : h(`loss ${m}`),
  upstreamGradHash: stage === 0 ? h(`grad ${m}`) : zeroHash,
  inputGradHash: stage === 0 ? zeroHash : h(`grad ${m}`),
  gradRoot: h(`g ${stage} ${m}`),
  weightsRoot: h(`w ${stage}`),
  upstream,
  downstream,
});

describe("a miner defends its commitment against a neighbour's lie", () => {
  it("reads the void's evidence, finds the liar's receipt in its journal and proves the equivocation", async () => {
    const s = await deployShardholder();
    const relayer = actionsOf(s, 0);
    await relayer.registerModel({ spec });
    const keys = new Map<number, ReturnType<typeof privateKeyToAccount>>();
    for (const w of [1, 2, 3]) {
      const key = privateKeyToAccount(generatePrivateKey());
      keys.set(w, key);
      await actionsOf(s, w).stake({ payout: accountAt(s, w), signingKey: key.address, valueWei: parseEther("2") });
    }
    const [w1, w2, w3] = [1, 2, 3].map((w) => accountAt(s, w)) as [Address, Address, Address];
    const commit = async (stage: number, w: number, items: readonly MicrobatchItem[]) => {
      const tree = itemsTree(items);
      const commitment: Commitment = {
        modelId: 1n,
        round: 0n,
        stage,
        worker: accountAt(s, w),
        itemsRoot: tree.root,
        itemCount: items.length,
        weightsRootBefore: spec.initialWeightsRoots[stage] as Hex,
        weightsRootAfter: h(`after ${stage}`),
      };
      await relayer.submitCommitments({ signed: [await relayer.signRoundCommitment({ commitment, signer: keys.get(w)! })] });
      return (microbatch: number) => ledgerItem({ commitment, tree, index: items.findIndex((i) => i.microbatch === microbatch) });
    };
    // Wallet 1 fed wallet 2 all four microbatches and signed so; its leaf of microbatch 1 names wallet 3 instead.
    const domain = { ledger: s.deployments.contracts.computeLedger, chainId: s.deployments.chainId, modelId: 1n };
    const receipt = await signReceipt(keys.get(1)!, domain, {
      modelId: 1n,
      round: 0n,
      stage: 0,
      upstream: w1,
      downstream: w2,
      microbatches: microbatchBitmap([0, 1, 2, 3], 4),
    });
    const dir = await mkdtemp(path.join(tmpdir(), "defend-"));
    const journal = await Journal.open(dir, { modelId: 1n, stage: 1, worker: w2 });
    await journal.append(receiptRecord(receipt));
    const up = await commit(0, 1, assignSlots([0, 1, 2, 3].map((m) => leaf(0, m, zeroAddress, m === 1 ? w3 : w2))));
    const victim = await commit(1, 2, assignSlots([0, 1, 2, 3].map((m) => leaf(1, m, w1, zeroAddress))));
    const copy = await commit(1, 3, assignSlots([leaf(1, 1, w1, zeroAddress)]));
    const model = await relayer.getModel({ modelId: 1n });
    await s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec));
    await actionsOf(s, 5).proveUnlinked({ item: victim(1), neighbour: up(1), partner: copy(1) });
    const getCommitment = (w: Address) => relayer.getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: w });
    expect((await getCommitment(w2)).voided).toBe(true);

    const wallet = s.wallets[2]!;
    const handled = new Set<Hex>();
    const params = { wallet, publicClient: s.publicClient, deployments: s.deployments, modelId: 1n, worker: w2, journal };
    expect(await defendVoidedCommitments(params, handled)).toEqual({ restored: [0n], undefended: [] });
    expect((await getCommitment(w2)).voided).toBe(false);
    expect((await getCommitment(w3)).voided).toBe(true);
    expect((await relayer.getStaker({ account: w1 })).jailed).toBe(true);
    // Handled once: a second pass sends nothing.
    expect(await defendVoidedCommitments(params, handled)).toEqual({ restored: [], undefended: [] });
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  });
});
