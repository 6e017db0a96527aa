import { type Address, type Hex, keccak256, parseEther, toHex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { ComputeLedgerNotADuplicateError, ComputeLedgerNotUnlinkedError, ComputeLedgerNothingToMintError } from "../../errors/contractErrors.ts";
import type { Commitment } from "../../protocol/commitment.ts";
import { itemsTree, type MicrobatchItem } from "../../protocol/merkle.ts";
import { ledgerItem } from "./ledgerItem.ts";

const h = (s: string): Hex => keccak256(toHex(s));
const spec = testSpec({ microbatchesPerRound: 4 });

function items(stage: number): MicrobatchItem[] {
  return [0, 1, 2, 3].map((index) => ({
    index,
    inputActHash: h(`in ${stage} ${index}`),
    outputActHash: h(`out ${stage} ${index}`),
    upstreamGradHash: stage === 1 ? h("none") : h(`up ${index}`),
    inputGradHash: stage === 0 ? h("none") : h(`up ${index}`),
    gradRoot: h(`g ${stage} ${index}`),
    weightsRoot: h(`w ${stage}`),
  }));
}

/** A pipeline of wallets 1 (stage 0) and 2 (stage 1) committed in round 0, and a staked copier (wallet 3). */
async function pipelineWithCopier(): Promise<{ s: Shardholder; up: Commitment; original: Commitment; sign: (c: Commitment) => Promise<void> }> {
  const s = await deployShardholder();
  const relayer = actionsOf(s, 0);
  await relayer.registerModel({ spec });
  const keys = new Map<Address, ReturnType<typeof privateKeyToAccount>>();
  for (const w of [1, 2, 3]) {
    const key = privateKeyToAccount(generatePrivateKey());
    keys.set(accountAt(s, w), key);
    await actionsOf(s, w).stake({ payout: accountAt(s, w), signingKey: key.address, valueWei: parseEther("2") });
  }
  for (const v of [4, 5]) {
    await actionsOf(s, v).stake({ payout: accountAt(s, v), signingKey: accountAt(s, v), valueWei: parseEther("1") });
    await actionsOf(s, v).setValidator({ modelId: 1n, stage: 0, validator: true });
  }
  const commitment = (stage: number, worker: Address, upstream: Address, downstream: Address): Commitment => ({
    modelId: 1n,
    round: 0n,
    stage,
    worker,
    itemsRoot: itemsTree(items(stage)).root,
    itemCount: 4,
    weightsRootBefore: spec.initialWeightsRoots[stage] as Hex,
    weightsRootAfter: h(`after ${stage}`),
    upstream,
    downstream,
  });
  const sign = async (c: Commitment) => {
    const signer = keys.get(c.worker);
    if (!signer) throw new Error("unknown worker");
    await relayer.submitCommitments({ signed: [await relayer.signRoundCommitment({ commitment: c, signer })] });
  };
  const up = commitment(0, accountAt(s, 1), zeroAddress, accountAt(s, 2));
  const original = commitment(1, accountAt(s, 2), accountAt(s, 1), zeroAddress);
  await sign(up);
  await sign(original);
  return { s, up, original, sign };
}

async function toChallengeWindow(s: Shardholder): Promise<void> {
  const model = await actionsOf(s, 0).getModel({ modelId: 1n });
  await s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec));
}

describe("pipeline links: copies are voided, honest neighbours are not", () => {
  it("voids a verbatim copy through the neighbour it names, which is linked to the original; the copy mints nothing", async () => {
    const { s, up, original, sign } = await pipelineWithCopier();
    const copy: Commitment = { ...original, worker: accountAt(s, 3) };
    await sign(copy);
    await toChallengeWindow(s);
    const validator = actionsOf(s, 4);
    await expect(validator.proveUnlinked({ commitment: original, neighbour: up, partner: original })).rejects.toBeInstanceOf(ComputeLedgerNotUnlinkedError);
    const { removedUnits } = await validator.proveUnlinked({ commitment: copy, neighbour: up, partner: original });
    expect(removedUnits).toBe((await validator.getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: accountAt(s, 2) })).units);
    expect((await validator.getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: accountAt(s, 3) })).voided).toBe(true);
    const model = await validator.getModel({ modelId: 1n });
    await s.networkHelpers.time.increaseTo(model.genesisTime + BigInt(model.timing.commitWindowSec + model.timing.challengeWindowSec));
    await validator.finalizeRound({ modelId: 1n, round: 0n });
    await expect(validator.mintReward({ modelId: 1n, round: 0n, worker: accountAt(s, 3) })).rejects.toBeInstanceOf(ComputeLedgerNothingToMintError);
  });

  it("voids a copy under a made-up upstream as a duplicate of the linked original, and never the original", async () => {
    const { s, up, original, sign } = await pipelineWithCopier();
    const copy: Commitment = { ...original, worker: accountAt(s, 3), upstream: privateKeyToAccount(generatePrivateKey()).address };
    await sign(copy);
    await toChallengeWindow(s);
    const tree = itemsTree(items(1));
    const copyItem = ledgerItem({ commitment: copy, tree, index: 2 });
    const originalItem = ledgerItem({ commitment: original, tree, index: 2 });
    const validator = actionsOf(s, 5);
    await expect(validator.proveDuplicate({ copy: originalItem, original: copyItem, originalUpstream: up })).rejects.toBeInstanceOf(ComputeLedgerNotADuplicateError);
    await validator.proveDuplicate({ copy: copyItem, original: originalItem, originalUpstream: up });
    expect((await validator.getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: accountAt(s, 3) })).voided).toBe(true);
    expect((await validator.getCommitment({ modelId: 1n, round: 0n, stage: 1, worker: accountAt(s, 2) })).voided).toBe(false);
  });
});
