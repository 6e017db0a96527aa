import { type Address, keccak256, parseEther, toHex } from "viem";
import { readContract } from "viem/actions";
import { beforeAll, describe, expect, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, mintRound, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { modelTokenAbi } from "../../abi/modelToken.ts";
import { REVENUE_MAGNITUDE } from "../../holders/revenueReplay.ts";
import { seededRandom } from "../../../scripts/lib/seededRandom.ts";

describe("holder actions: claimable, claim, claimAll and explainRevenue against on-chain figures", () => {
  let s: Shardholder;
  const tokens: Address[] = [];
  const holders = [3, 4, 5, 6, 7, 8];
  const claimedByTest = new Map<string, bigint>();
  const key = (model: bigint, i: number) => `${model}:${i}`;

  const deposit = async (model: number, amountWei: bigint, from = 9) => {
    const w = s.wallets[from];
    if (!w) throw new Error("no wallet");
    const hash = await w.writeContract({
      abi: modelTokenAbi,
      address: tokens[model - 1] as Address,
      functionName: "depositRevenue",
      value: amountWei,
    });
    await s.publicClient.waitForTransactionReceipt({ hash });
  };
  const claimableOnChain = (model: number, i: number) =>
    readContract(s.publicClient, {
      abi: modelTokenAbi,
      address: tokens[model - 1] as Address,
      functionName: "claimable",
      args: [accountAt(s, i)],
    });

  beforeAll(async () => {
    s = await deployShardholder();
    for (const symbol of ["AAA", "BBB"]) tokens.push((await actionsOf(s, 0).registerModel({ spec: testSpec({ symbol }) })).token);
    // Revenue before any token exists is held and credited at the first mint.
    await deposit(1, parseEther("0.3"));
    await mintRound(s, { modelId: 1n, workers: [1, 2], payouts: [accountAt(s, 3), accountAt(s, 4)] });
    await mintRound(s, { modelId: 2n, workers: [1, 2], payouts: [accountAt(s, 3), accountAt(s, 5)] });
  });

  it("credits revenue held before the first mint to the first holders", async () => {
    const e3 = await actionsOf(s, 0).explainRevenue({ holder: accountAt(s, 3), modelId: 1n });
    expect(e3.entries.map((e) => e.kind)).toEqual(["deposit", "release"]);
    expect(e3.entries[0]?.holderEarnedMagnified).toBe(0n);
    expect(e3.claimableWei).toBe(await claimableOnChain(1, 3));
    expect(e3.claimableWei).toBeGreaterThan(0n);
  });

  it("recomputes every holder's revenue from events alone after a random sequence of deposits, transfers and claims", async () => {
    const random = seededRandom(0x5eed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
    for (let step = 0; step < 36; step++) {
      const model = pick([1, 2]);
      const token = tokens[model - 1] as Address;
      const roll = random();
      if (roll < 0.35) {
        await deposit(model, BigInt(Math.floor(random() * 1e9)) * 10n ** 8n + 1n);
      } else if (roll < 0.75) {
        const from = pick(holders);
        const balance = await readContract(s.publicClient, {
          abi: modelTokenAbi,
          address: token,
          functionName: "balanceOf",
          args: [accountAt(s, from)],
        });
        if (balance === 0n) continue;
        const amount = (balance * BigInt(Math.floor(random() * 1000) + 1)) / 1000n;
        const w = s.wallets[from];
        if (!w) throw new Error("no wallet");
        const hash = await w.writeContract({
          abi: modelTokenAbi,
          address: token,
          functionName: "transfer",
          args: [accountAt(s, pick(holders)), amount],
        });
        await s.publicClient.waitForTransactionReceipt({ hash });
      } else {
        const who = pick(holders);
        const { amountWei } = await actionsOf(s, who).claimRevenue({ modelId: BigInt(model) });
        claimedByTest.set(key(BigInt(model), who), (claimedByTest.get(key(BigInt(model), who)) ?? 0n) + amountWei);
      }
    }
    for (const modelId of [1n, 2n]) {
      let earnedMagnifiedAll = 0n;
      let deposited = 0n;
      // The designer (wallet 0) holds its emission share too.
      for (const i of [0, ...holders]) {
        const e = await actionsOf(s, 0).explainRevenue({ holder: accountAt(s, i), modelId });
        expect(e.claimableWei, `claimable of ${i} in model ${modelId}`).toBe(await claimableOnChain(Number(modelId), i));
        expect(e.claimedWei, `claimed by ${i} in model ${modelId}`).toBe(claimedByTest.get(key(modelId, i)) ?? 0n);
        expect(e.claimableWei + e.claimedWei).toBe(e.earnedWei);
        expect(e.entries.reduce((sum, x) => sum + x.holderEarnedMagnified, 0n)).toBe(e.earnedMagnified);
        earnedMagnifiedAll += e.earnedMagnified;
        deposited = e.depositedWei;
      }
      // Conservation: holders' magnified earnings plus what is still held equal the magnified deposits.
      const e = await actionsOf(s, 0).explainRevenue({ holder: accountAt(s, 3), modelId });
      const held = e.entries.at(-1)?.heldMagnified ?? 0n;
      expect(earnedMagnifiedAll + held).toBe(deposited * REVENUE_MAGNITUDE);
    }
  });

  it("reads claimable across models in one multicall and claims everything in one transaction", async () => {
    const holder = accountAt(s, 3);
    const view = await actionsOf(s, 0).getClaimable({ holder });
    expect(view.models.map((m) => m.token)).toEqual(tokens);
    for (const m of view.models) expect(m.claimableWei).toBe(await claimableOnChain(Number(m.modelId), 3));
    expect(view.totalWei).toBe(view.models[0]!.claimableWei + view.models[1]!.claimableWei);
    await deposit(2, parseEther("0.01"));
    const expected = (await actionsOf(s, 0).getClaimable({ holder })).totalWei;
    expect(expected).toBeGreaterThan(0n);
    const before = await s.publicClient.getBalance({ address: holder });
    const result = await actionsOf(s, 3).claimAll();
    expect(result.totalWei).toBe(expected);
    const receipt = result.receipt;
    if (!receipt) throw new Error("claimAll sent no transaction");
    const gas = receipt.gasUsed * receipt.effectiveGasPrice;
    expect(await s.publicClient.getBalance({ address: holder })).toBe(before + expected - gas);
    expect((await actionsOf(s, 0).getClaimable({ holder })).totalWei).toBe(0n);
    const nothing = await actionsOf(s, 3).claimAll();
    expect([nothing.totalWei, nothing.transactionHash]).toEqual([0n, undefined]);
    const audit = await actionsOf(s, 0).explainRevenue({ holder, modelId: 2n });
    expect(audit.claimableWei).toBe(0n);
    expect(audit.earnedWei).toBe(audit.claimedWei);
  });

  it("explains the revenue of an account that never held tokens as zero", async () => {
    const e = await actionsOf(s, 0).explainRevenue({ holder: keccak256(toHex("nobody")).slice(0, 42) as Address, modelId: 1n });
    expect([e.earnedWei, e.claimableWei, e.claimedWei]).toEqual([0n, 0n, 0n]);
    expect(e.entries.length).toBeGreaterThan(0);
  });
});
