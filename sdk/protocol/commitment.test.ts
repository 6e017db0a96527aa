import {
  compactSignatureToSignature,
  createWalletClient,
  encodeAbiParameters,
  http,
  keccak256,
  parseCompactSignature,
  serializeSignature,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { describe, expect, it } from "vitest";
import {
  type Commitment,
  commitmentTypes,
  compactCommitmentSignature,
  hashCommitment,
  MissingSignerError,
  recoverCommitmentSigner,
  signCommitment,
  storedCommitmentDigest,
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
};

describe("commitment EIP-712", () => {
  it("matches the fixed digest vector (docs/PROTOCOL.md) and the type has no pipeline neighbours", () => {
    expect(commitmentTypes.Commitment.map((f) => f.name)).toEqual([
      "modelId",
      "round",
      "stage",
      "worker",
      "itemsRoot",
      "itemCount",
      "weightsRootBefore",
      "weightsRootAfter",
    ]);
    expect(hashCommitment({ ledger, chainId: 31337, commitment })).toBe(
      "0x003574c17a02aeef19898631860718fb6514a88523ff88a1a501f98c2138e1c3",
    );
  });

  it("binds the digest to chain, ledger and every field", () => {
    const base = hashCommitment({ ledger, chainId: 31337, commitment });
    expect(hashCommitment({ ledger, chainId: 1, commitment })).not.toBe(base);
    expect(hashCommitment({ ledger: "0x000000000000000000000000000000000000c0df", chainId: 31337, commitment })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, itemCount: 4 } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, stage: 0 } })).not.toBe(base);
    expect(
      hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, worker: "0x00000000000000000000000000000000000000ab" } }),
    ).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, itemsRoot: h("other tree") } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, weightsRootBefore: h("other") } })).not.toBe(base);
    expect(hashCommitment({ ledger, chainId: 31337, commitment: { ...commitment, weightsRootAfter: h("other") } })).not.toBe(base);
  });

  it("stores the digest keccak256(abi.encode(itemsRoot, weightsRootBefore, weightsRootAfter)), nothing else", () => {
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }],
        [commitment.itemsRoot, commitment.weightsRootBefore, commitment.weightsRootAfter],
      ),
    );
    expect(storedCommitmentDigest(commitment)).toBe(expected);
    expect(storedCommitmentDigest({ ...commitment, worker: "0x00000000000000000000000000000000000000ab", itemCount: 9, stage: 0 })).toBe(
      expected,
    );
    expect(storedCommitmentDigest({ ...commitment, weightsRootAfter: h("other") })).not.toBe(expected);
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
