import { compactSignatureToSignature, createWalletClient, http, keccak256, parseCompactSignature, serializeSignature, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { describe, expect, it } from "vitest";
import {
  type Commitment,
  compactCommitmentSignature,
  hashCommitment,
  MissingSignerError,
  recoverCommitmentSigner,
  signCommitment,
} from "./commitment.ts";

const ledger = "0x000000000000000000000000000000000000c0de";
const h = (s: string) => keccak256(toHex(s));
const commitment: Commitment = {
  modelId: 1n,
  round: 2n,
  stage: 1,
  worker: "0x00000000000000000000000000000000000000aa",
  itemsRoot: "0x71c7981e38b10bc8974a6ac7f29aaa888a113fb0287d689ff8b0a46559a00bcb",
  itemCount: 3,
  weightsRootBefore: h("before"),
  weightsRootAfter: h("after"),
  upstream: "0x00000000000000000000000000000000000000b0",
  downstream: "0x00000000000000000000000000000000000000c0",
};

describe("commitment EIP-712", () => {
  it("matches the fixed digest vector", () => {
    expect(hashCommitment({ ledger, chainId: 31337, commitment })).toBe(
      "0x38701d5007fb4da68b57eed9a70eec751ca361a82ea731b463035f8be951bb41",
    );
  });

  it("binds the digest to chain, ledger and every field", () => {
    const base = hashCommitment({ ledger, chainId: 31337, commitment });
    expect(hashCommitment({ ledger, chainId: 1, commitment })).not.toBe(base);
    expect(hashCommitment({ ledger: "0x000000000000000000000000000000000000c0df", chainId: 31337, commitment })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, itemCount: 4 } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, stage: 0 } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, upstream: "0x00000000000000000000000000000000000000b1" } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, downstream: "0x00000000000000000000000000000000000000c1" } })).not.toBe(base);
  });

  it("round-trips with a local account and with a wallet client", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const sig1 = await signCommitment(account, { ledger, chainId: 31337, commitment });
    expect(await recoverCommitmentSigner({ ledger, chainId: 31337, commitment, signature: sig1 })).toBe(account.address);
    const wallet = createWalletClient({ account, chain: foundry, transport: http("http://127.0.0.1:1") });
    const sig2 = await signCommitment(wallet, { ledger, chainId: 31337, commitment });
    expect(sig2).toBe(sig1);
    const other = await recoverCommitmentSigner({ ledger, chainId: 31337, commitment: { ...commitment, round: 3n }, signature: sig1 });
    expect(other).not.toBe(account.address);
  });

  it("compacts a signature to the 64-byte EIP-2098 form the ledger takes, same signer", async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    for (const round of [1n, 2n, 3n, 4n]) {
      const full = await signCommitment(account, { ledger, chainId: 31337, commitment: { ...commitment, round } });
      const compact = compactCommitmentSignature(full);
      expect(compact).toHaveLength(2 + 128);
      expect(compact.slice(0, 66)).toBe(full.slice(0, 66)); // r
      const yParity = Number.parseInt(full.slice(130, 132), 16) - 27;
      const vs = BigInt(`0x${compact.slice(66)}`);
      expect(vs >> 255n).toBe(BigInt(yParity));
      expect(vs & ((1n << 255n) - 1n)).toBe(BigInt(`0x${full.slice(66, 130)}`)); // s
      // the same signature: expanding it again gives the 65-byte form back
      expect(serializeSignature(compactSignatureToSignature(parseCompactSignature(compact)))).toBe(full);
      expect(compactCommitmentSignature(compact)).toBe(compact);
    }
  });

  it("throws a typed error for a wallet client without an account", async () => {
    const wallet = createWalletClient({ chain: foundry, transport: http("http://127.0.0.1:1") });
    await expect(signCommitment(wallet, { ledger, chainId: 31337, commitment })).rejects.toBeInstanceOf(MissingSignerError);
  });
});
