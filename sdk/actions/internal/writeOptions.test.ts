import { type Hash, parseEther, parseGwei, zeroAddress } from "viem";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { accountAt, actionsOf, deployShardholder, type Shardholder, testSpec } from "../../../test/sdk/fixture.ts";
import { ComputeLedgerZeroAddressError } from "../../errors/contractErrors.ts";
import { registerPipeline } from "../inference/registerPipeline.ts";
import { requestInference } from "../inference/requestInference.ts";
import { setPayout } from "../miner/setPayout.ts";
import { stake } from "../miner/stake.ts";
import type { SentTransaction, WriteResult } from "./client.ts";

// Transaction overrides and `wait: false` go through `sendContractWrite`, the one place every
// write action sends from; these tests use a few actions as stand-ins for all of them.
describe("write actions: transaction overrides and wait: false", () => {
  let s: Shardholder;
  const wallet = (i: number) => {
    const w = s.wallets[i];
    if (!w) throw new Error(`no wallet ${i}`);
    return w;
  };

  beforeAll(async () => {
    s = await deployShardholder();
    await actionsOf(s, 0).registerModel({ spec: testSpec() });
  });

  it("returns only the hash with wait: false, and the result type narrows to it", async () => {
    const sent = await stake(wallet(1), {
      deployments: s.deployments,
      payout: accountAt(s, 1),
      signingKey: accountAt(s, 1),
      valueWei: parseEther("1"),
      wait: false,
    });
    expectTypeOf(sent).toEqualTypeOf<SentTransaction>();
    expect(Object.keys(sent)).toEqual(["transactionHash"]);
    const receipt = await s.publicClient.waitForTransactionReceipt({ hash: sent.transactionHash });
    expect(receipt.status).toBe("success");

    const mined = await setPayout(wallet(1), { deployments: s.deployments, payout: accountAt(s, 7) });
    expectTypeOf(mined).toEqualTypeOf<WriteResult>();
    expect(mined.receipt.status).toBe("success");
  });

  it("narrows the decorated methods the same way, and keeps the decoded fields when waiting", async () => {
    const operator = actionsOf(s, 1);
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    const pipeline = await operator.registerPipeline({ modelId: 1n, stageOperators: [accountAt(s, 1), accountAt(s, 1)], consentDeadline });
    expectTypeOf(pipeline.pipelineKey).toEqualTypeOf<`0x${string}`>();

    const dapp = actionsOf(s, 5);
    const sent = await dapp.requestInference({ modelId: 1n, input: "hash only", wait: false });
    expectTypeOf(sent).toEqualTypeOf<SentTransaction>();
    const requested = await dapp.requestInference({ modelId: 1n, input: "decoded" });
    expectTypeOf(requested.requestId).toEqualTypeOf<bigint>();
    expect(requested.requestId).toBe(2n); // the hash-only request above was the first

    // A `wait` known only at run time gives the union; `receipt` tells the two apart.
    const maybe = await dapp.requestInference<boolean>({ modelId: 1n, input: "either", wait: Math.random() > 2 });
    if (maybe.receipt) expectTypeOf(maybe.requestId).toEqualTypeOf<bigint>();
    else expectTypeOf(maybe).toEqualTypeOf<SentTransaction>();
  });

  it("sends with the caller's gas limit, EIP-1559 fees and nonce", async () => {
    const sender = accountAt(s, 2);
    const nonce = await s.publicClient.getTransactionCount({ address: sender });
    const overrides = { gas: 250_000n, maxFeePerGas: parseGwei("40"), maxPriorityFeePerGas: parseGwei("3"), nonce };
    const { transactionHash } = await stake(wallet(2), {
      deployments: s.deployments,
      payout: sender,
      signingKey: sender,
      valueWei: parseEther("1"),
      ...overrides,
    });
    const tx = await s.publicClient.getTransaction({ hash: transactionHash });
    expect({
      type: tx.type,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      nonce: tx.nonce,
    }).toEqual({ type: "eip1559", ...overrides });
  });

  it("sends a legacy transaction when given gasPrice", async () => {
    const consentDeadline = BigInt(await s.networkHelpers.time.latest()) + 600n;
    const gasPrice = parseGwei("25");
    const result = await registerPipeline(wallet(2), {
      deployments: s.deployments,
      modelId: 1n,
      stageOperators: [accountAt(s, 2), accountAt(s, 2)],
      consentDeadline,
      gasPrice,
    });
    const tx = await s.publicClient.getTransaction({ hash: result.transactionHash });
    expect([tx.type, tx.gasPrice]).toEqual(["legacy", gasPrice]);
    expect(result.pipelineKey).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("still simulates before sending with wait: false, so a revert is typed and costs nothing", async () => {
    const before = await s.publicClient.getTransactionCount({ address: accountAt(s, 3) });
    const sending = stake(wallet(3), {
      deployments: s.deployments,
      payout: zeroAddress,
      signingKey: accountAt(s, 3),
      valueWei: 1n,
      wait: false,
    });
    await expect(sending).rejects.toBeInstanceOf(ComputeLedgerZeroAddressError);
    expect(await s.publicClient.getTransactionCount({ address: accountAt(s, 3) })).toBe(before);
  });

  it("rejects fee fields of both kinds at compile time, as viem does", () => {
    const parameters = { deployments: s.deployments, modelId: 1n, input: "x" };
    const typeOnly = (call: () => Promise<unknown>) => expect(typeof call).toBe("function"); // never called
    // @ts-expect-error gasPrice (legacy) and maxFeePerGas (EIP-1559) exclude each other
    typeOnly(() => requestInference(wallet(5), { ...parameters, gasPrice: 1n, maxFeePerGas: 1n }));
    // @ts-expect-error the same through the decorator
    typeOnly(() => actionsOf(s, 5).requestInference({ modelId: 1n, input: "x", gasPrice: 1n, maxPriorityFeePerGas: 1n }));
    expectTypeOf<Parameters<typeof requestInference>[1]["nonce"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<SentTransaction["transactionHash"]>().toEqualTypeOf<Hash>();
  });
});
