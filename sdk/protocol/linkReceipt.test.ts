import { privateKeyToAccount } from "viem/accounts";
import { keccak256, toHex } from "viem";
import { describe, expect, it } from "vitest";
import {
  hashLinkReceipt,
  InvalidMicrobatchError,
  type LinkReceipt,
  listedMicrobatches,
  microbatchBitmap,
  receiptLists,
  recoverLinkReceiptSigner,
  signLinkReceipt,
} from "./linkReceipt.ts";

const ledger = "0x000000000000000000000000000000000000c0de";
const receipt: LinkReceipt = {
  modelId: 1n,
  round: 2n,
  stage: 1,
  upstream: "0x00000000000000000000000000000000000000aa",
  downstream: "0x00000000000000000000000000000000000000bb",
  microbatches: microbatchBitmap([0, 2, 9], 16),
};

describe('link receipts (docs/PROTOCOL.md "Link receipts")', () => {
  it("packs microbatch m into bit m % 8 of byte m / 8, one byte per 8 microbatches of the round", () => {
    expect(receipt.microbatches).toBe("0x0502");
    expect(microbatchBitmap([], 17)).toBe("0x000000");
    expect(listedMicrobatches("0x0502")).toEqual([0, 2, 9]);
    expect(listedMicrobatches(microbatchBitmap([7, 3, 3, 191], 192))).toEqual([3, 7, 191]);
    expect([0, 1, 2, 9, 10, 100].map((m) => receiptLists(receipt, m))).toEqual([true, false, true, true, false, false]);
    for (const bad of [-1, 1.5, 16]) expect(() => microbatchBitmap([bad], 16)).toThrow(InvalidMicrobatchError);
  });

  it("has the documented EIP-712 digest, and recovers the key that signed it", async () => {
    expect(hashLinkReceipt({ ledger, chainId: 31337, receipt })).toBe("0x6f1ada5230a55b4f128cf24d3d905b39637f843d3c193c73e491c233fdf87a5a");
    const key = privateKeyToAccount(keccak256(toHex("shardholder signing key")));
    const signature = await signLinkReceipt(key, { ledger, chainId: 31337, receipt });
    expect(await recoverLinkReceiptSigner({ ledger, chainId: 31337, receipt, signature })).toBe(key.address);
    // Another round, bitmap or chain is another statement.
    for (const other of [
      { ...receipt, round: 3n },
      { ...receipt, microbatches: microbatchBitmap([0, 2], 16) },
    ])
      expect(await recoverLinkReceiptSigner({ ledger, chainId: 31337, receipt: other, signature })).not.toBe(key.address);
    expect(await recoverLinkReceiptSigner({ ledger, chainId: 1, receipt, signature })).not.toBe(key.address);
  });
});
