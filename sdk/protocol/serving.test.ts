import { type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import {
  packServingSignatures,
  recoverServingCommitmentSigner,
  recoverServingFrameSigner,
  requestSamplingSeed,
  samplingHash,
  type ServingCommitment,
  servingAudited,
  servingOutputLeaf,
  servingOutputsTree,
  servingRoot,
  signServingCommitment,
  signServingFrame,
} from "./serving.ts";
import { hashPair } from "./standardTree.ts";

const account = privateKeyToAccount(keccak256(toHex("operator")));
const ctx = { escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const, chainId: 31337 };
const commitment: ServingCommitment = {
  weightsRoot: keccak256(toHex("weights")),
  sampling: samplingHash({ seed: requestSamplingSeed(7n, keccak256(toHex("prompt"))), temperature: 0.8, topK: 8 }),
  outputsRoot: servingOutputsTree([keccak256(toHex("a")), keccak256(toHex("b"))]).root,
  positions: 2,
};

/** OpenZeppelin's `MerkleProof.verify` with commutative hashing, as the escrow checks an equivocation's leaf. */
function verifyOzProof(root: Hex, position: number, outputHash: Hex, proof: readonly Hex[]): boolean {
  return proof.reduce((node, sibling) => hashPair(node, sibling), servingOutputLeaf(position, outputHash)) === root;
}

describe("serving statements", () => {
  it("signs commitments and frames compactly, and recovers the signer from either form", async () => {
    const signature = await signServingCommitment(account, ctx, 7n, 1, commitment);
    expect(signature.length).toBe(2 + 128);
    expect(await recoverServingCommitmentSigner(ctx, 7n, 1, commitment, signature)).toBe(account.address);
    expect(await recoverServingCommitmentSigner(ctx, 7n, 2, commitment, signature)).not.toBe(account.address);
    const frame = { requestId: 7n, stage: 1, position: 0, payloadHash: keccak256(toHex("payload")) };
    const frameSig = await signServingFrame(account, ctx, frame);
    expect(await recoverServingFrameSigner(ctx, frame, frameSig)).toBe(account.address);
    expect(packServingSignatures([signature, frameSig]).length).toBe(2 + 256);
    expect(() => packServingSignatures(["0x1234"])).toThrow(/64/);
  });

  it("roots the stages' commitments in stage order and proves output leaves", () => {
    const other = { ...commitment, positions: 3 };
    expect(servingRoot(7n, [commitment, other])).not.toBe(servingRoot(7n, [other, commitment]));
    expect(servingRoot(7n, [commitment])).not.toBe(servingRoot(8n, [commitment]));
    const outputs = [keccak256(toHex("x")), keccak256(toHex("y")), keccak256(toHex("z"))];
    const tree = servingOutputsTree(outputs);
    for (const [p, hash] of outputs.entries()) expect(verifyOzProof(tree.root, p, hash, tree.proof(p))).toBe(true);
  });

  it("audits about the escrow's share of requests, unpredictably per block", () => {
    let audited = 0;
    for (let id = 1n; id <= 2000n; id++)
      if (servingAudited({ fulfilBlockHash: keccak256(toHex(`block ${id}`)), requestId: id, auditBps: 1000 })) audited++;
    expect(audited).toBeGreaterThan(140);
    expect(audited).toBeLessThan(260);
  });
});
