import { type Address, zeroAddress, zeroHash } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { listedMicrobatches } from "../../sdk/protocol/linkReceipt.ts";
import type { MicrobatchItem } from "../../sdk/protocol/merkle.ts";
import { checkReceipt, decodeReceipt, encodeReceipt, ReceiptMismatchError, receiptsFor, signReceipt } from "./receipts.ts";

const domain = { ledger: "0x000000000000000000000000000000000000c0de" as Address, chainId: 31337, modelId: 1n };
const me = "0x00000000000000000000000000000000000000aa" as Address;
const up = "0x00000000000000000000000000000000000000bb" as Address;
const [r1, r2] = ["0x00000000000000000000000000000000000000c1", "0x00000000000000000000000000000000000000c2"] as Address[];

const item = (microbatch: number, upstream: Address, downstream: Address): MicrobatchItem => ({
  index: microbatch,
  microbatch,
  inputActHash: zeroHash,
  outputActHash: zeroHash,
  upstreamGradHash: zeroHash,
  inputGradHash: zeroHash,
  gradRoot: zeroHash,
  weightsRoot: zeroHash,
  upstream,
  downstream,
});

describe("link receipts between pipe neighbours", () => {
  it("signs one receipt per named neighbour, listing exactly that neighbour's microbatches", () => {
    // A middle stage fed by `up`, routing microbatches 0, 3 to r1 and 1, 2 to r2.
    const items = [item(0, up, r1!), item(1, up, r2!), item(2, up, r2!), item(3, up, r1!)];
    const receipts = receiptsFor({ domain, round: 4n, stage: 1, worker: me, items, microbatches: 4 });
    expect(receipts.map((r) => [r.stage, r.upstream, r.downstream, listedMicrobatches(r.microbatches)])).toEqual([
      [0, up, me, [0, 1, 2, 3]],
      [1, me, r1, [0, 3]],
      [1, me, r2, [1, 2]],
    ]);
    // The ends of the pipeline name nobody on their open side.
    expect(receiptsFor({ domain, round: 4n, stage: 0, worker: me, items: [item(0, zeroAddress, r1!)], microbatches: 4 })).toHaveLength(1);
  });

  it("round-trips on the wire and is checked against what this stage exchanged", async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    const [receipt] = receiptsFor({
      domain,
      round: 4n,
      stage: 1,
      worker: up,
      items: [item(0, zeroAddress, me), item(1, zeroAddress, me)],
      microbatches: 4,
    });
    const signed = await signReceipt(key, domain, receipt!);
    const back = decodeReceipt(encodeReceipt(signed));
    expect(back).toEqual(signed);
    const expected = { domain, round: 4n, stage: 1, upstream: up, downstream: me, microbatches: [1, 0], signer: key.address };
    await checkReceipt(back, expected);
    await expect(checkReceipt(back, { ...expected, microbatches: [0] })).rejects.toBeInstanceOf(ReceiptMismatchError);
    await expect(checkReceipt(back, { ...expected, round: 5n })).rejects.toBeInstanceOf(ReceiptMismatchError);
    await expect(checkReceipt(back, { ...expected, downstream: r1! })).rejects.toBeInstanceOf(ReceiptMismatchError);
    await expect(checkReceipt(back, { ...expected, signer: privateKeyToAccount(generatePrivateKey()).address })).rejects.toBeInstanceOf(
      ReceiptMismatchError,
    );
    expect(() =>
      decodeReceipt(
        new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(encodeReceipt(signed))), upstream: "nope" })),
      ),
    ).toThrow(/upstream/);
  });
});
