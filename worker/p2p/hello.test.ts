import { readFileSync } from "node:fs";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { type Address, bytesToHex, getAddress, hashTypedData, keccak256, stringToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { commitmentDomain } from "../../sdk/protocol/commitment.ts";
import { UnexpectedPeerError } from "./errors.ts";
import { encodeFrame } from "./frames.ts";
import { decodeHello, encodeHello, type HelloDomain, MAX_HELLO_BYTES, pipeHelloTypes, signHello, verifyHello } from "./hello.ts";

const domain: HelloDomain = { chainId: 31337, ledger: "0x000000000000000000000000000000000000c0de" };
const specHash = keccak256(stringToBytes("spec"));
const worker: Address = "0x00000000000000000000000000000000000000aa";
const signer = privateKeyToAccount(keccak256(stringToBytes("shardholder signing key")));

async function peer(seed: number) {
  return peerIdFromPrivateKey(await generateKeyPairFromSeed("Ed25519", new Uint8Array(32).fill(seed)));
}

describe("pipe hello", () => {
  it("matches the hello test vector of docs/PROTOCOL.md byte for byte", async () => {
    const remotePeer = await peer(7);
    expect(remotePeer.toString()).toBe("12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7");
    const claim = { modelId: 1n, specHash, stage: 0, worker, peerId: remotePeer.toMultihash().bytes };
    const digest = hashTypedData({
      domain: commitmentDomain(domain.ledger, domain.chainId),
      types: pipeHelloTypes,
      primaryType: "PipeHello",
      message: { ...claim, peerId: bytesToHex(claim.peerId) },
    });
    const payload = await signHello(signer, domain, claim);
    const frame = bytesToHex(encodeFrame({ kind: "hello", round: 0n, microbatch: 0, payload }));
    const doc = readFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url), "utf8");
    for (const hex of [digest, frame, signer.address]) expect(doc).toContain(hex);
    expect(decodeHello(payload)).toEqual({
      ...claim,
      worker: getAddress(worker),
      signature: bytesToHex(payload.subarray(payload.length - 65)),
    });
    const checked = await verifyHello(
      { modelId: 1n, domain, isStakedNeighbour: async (c) => c.signer === signer.address && c.worker === getAddress(worker) },
      { payload, specHash, stage: 0, remotePeer },
    );
    expect(checked.signer).toBe(signer.address);
  });

  it("verifyHello_refusesAnotherModelStagePeerOrAnUnstakedSigner", async () => {
    const [remotePeer, other] = [await peer(1), await peer(2)];
    const staked = new Set<Address>([signer.address]);
    const auth = { modelId: 1n, domain, isStakedNeighbour: async ({ signer: s }: { signer: Address }) => staked.has(s) };
    const claim = { modelId: 1n, specHash, stage: 2, worker, peerId: remotePeer.toMultihash().bytes };
    const good = await signHello(signer, domain, claim);
    const expectRefused = async (
      payload: Uint8Array,
      expected: Partial<{ stage: number; specHash: `0x${string}` }>,
      message: RegExp,
      p = remotePeer,
    ) => {
      const error = await verifyHello(auth, { payload, specHash, stage: 2, remotePeer: p, ...expected }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedPeerError);
      expect((error as UnexpectedPeerError).shortMessage).toMatch(message);
    };
    await expect(verifyHello(auth, { payload: good, specHash, stage: 2, remotePeer })).resolves.toMatchObject({ stage: 2 });
    await expectRefused(good, { stage: 1 }, /expected stage 1, got stage 2/);
    await expectRefused(good, { specHash: keccak256(stringToBytes("other")) }, /expected model 1/);
    // A hello copied from another connection names that connection's peer, not this one's.
    await expectRefused(good, {}, /another libp2p peer/, other);
    // Signed by a key that is not a staked worker's current signing key.
    await expectRefused(await signHello(privateKeyToAccount(generatePrivateKey()), domain, claim), {}, /not the current signing key/);
    // Signed for another deployment (chain or ledger): recovers to some other address.
    await expectRefused(await signHello(signer, { ...domain, chainId: 1 }, claim), {}, /not the current signing key/);
    // Tampered after signing: the stage byte.
    const tampered = good.slice();
    tampered[9] = 3;
    await expectRefused(tampered, { stage: 3 }, /not the current signing key/);
    // Malformed: wrong version, truncated, oversized.
    const version = good.slice();
    version[0] = 9;
    await expectRefused(version, {}, /hello version 9/);
    await expectRefused(good.subarray(0, good.length - 1), {}, /hello of \d+ bytes/);
    const huge = encodeHelloUnchecked(MAX_HELLO_BYTES + 1);
    await expectRefused(huge, {}, /hello of 4097 bytes/);
  });

  it("encodeHello_refusesAPeerIdThatWouldExceedTheCap", () => {
    expect(() =>
      encodeHello({ modelId: 1n, specHash, stage: 0, worker, peerId: new Uint8Array(MAX_HELLO_BYTES), signature: `0x${"11".repeat(65)}` }),
    ).toThrow(UnexpectedPeerError);
  });
});

function encodeHelloUnchecked(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 1;
  return out;
}
