import type { PeerId } from "@libp2p/interface";
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, type LocalAccount, recoverTypedDataAddress } from "viem";
import { commitmentDomain } from "../../sdk/protocol/commitment.ts";
import { UnexpectedPeerError } from "./errors.ts";

/*
 * The signed hello that opens a pipe link (docs/PROTOCOL.md, "Stage links"). Each end of a link
 * proves, before anything else it sends is decoded, that a staked worker's current signing key
 * vouches for its libp2p peer id working on this model and stage. The peer id is the one noise
 * authenticated for the connection, so a hello copied from another connection is worthless.
 */

/** Largest hello payload accepted (the frame is refused before decoding when longer). */
export const MAX_HELLO_BYTES = 4096;

/** Layout version, the first payload byte. */
export const HELLO_VERSION = 1;

/** EIP-712 types of the hello signature (domain: the ComputeLedger's, as for commitments). */
export const pipeHelloTypes = {
  PipeHello: [
    { name: "modelId", type: "uint64" },
    { name: "specHash", type: "bytes32" },
    { name: "stage", type: "uint16" },
    { name: "worker", type: "address" },
    { name: "peerId", type: "bytes" },
  ],
} as const;

/** What a hello claims: the sender's stage of `modelId`, its staking identity and its libp2p peer id (multihash bytes). */
export type PipeHelloClaim = { modelId: bigint; specHash: Hex; stage: number; worker: Address; peerId: Uint8Array };

/** A decoded hello: the claim and the signature by the worker's signing key. */
export type PipeHello = PipeHelloClaim & { signature: Hex };

/** Where hellos are signed and checked: the ComputeLedger's EIP-712 domain. */
export type HelloDomain = { chainId: number; ledger: Address };

/**
 * Decides whether `signer` is the current signing key of `worker`, staked for the model, and may
 * serve `stage`. The chain implementation is {@link stakedNeighbourOnChain}; tests inject their own.
 */
export type IsStakedNeighbour = (claim: { worker: Address; signer: Address; stage: number; peerId: Uint8Array }) => Promise<boolean>;

/**
 * How a stage proves who it is and checks who its neighbours are (required by `openPipe`).
 * `signer` is the worker's registered signing key (never the payout key).
 */
export type PipeAuth = {
  modelId: bigint;
  worker: Address;
  signer: LocalAccount;
  domain: HelloDomain;
  isStakedNeighbour: IsStakedNeighbour;
};

const FIXED_BYTES = 1 + 8 + 2 + 32 + 20 + 2; // version, modelId, stage, specHash, worker, peerId length
const SIGNATURE_BYTES = 65;

function typedData(domain: HelloDomain, claim: PipeHelloClaim) {
  return {
    domain: commitmentDomain(domain.ledger, domain.chainId),
    types: pipeHelloTypes,
    primaryType: "PipeHello",
    message: {
      modelId: claim.modelId,
      specHash: claim.specHash,
      stage: claim.stage,
      worker: claim.worker,
      peerId: bytesToHex(claim.peerId),
    },
  } as const;
}

/**
 * Signs a hello with the worker's signing key and returns its payload bytes.
 *
 * @example
 * const payload = await signHello(auth.signer, auth.domain, { modelId: 1n, specHash, stage: 0, worker, peerId: node.peerId.toMultihash().bytes })
 */
export async function signHello(signer: LocalAccount, domain: HelloDomain, claim: PipeHelloClaim): Promise<Uint8Array> {
  const signature = await signer.signTypedData(typedData(domain, claim));
  return encodeHello({ ...claim, signature });
}

/**
 * Payload bytes of a hello: `u8 version | u64 modelId | u16 stage | bytes32 specHash |
 * address worker | u16 peerIdLength | peerId | bytes65 signature`, integers little-endian.
 */
export function encodeHello(hello: PipeHello): Uint8Array {
  const signature = hexToBytes(hello.signature);
  const specHash = hexToBytes(hello.specHash);
  if (signature.length !== SIGNATURE_BYTES) throw new UnexpectedPeerError(`hello signature of ${signature.length} bytes`);
  if (specHash.length !== 32) throw new UnexpectedPeerError(`hello spec hash of ${specHash.length} bytes`);
  const out = new Uint8Array(FIXED_BYTES + hello.peerId.length + SIGNATURE_BYTES);
  if (out.length > MAX_HELLO_BYTES) throw new UnexpectedPeerError(`hello of ${out.length} bytes exceeds ${MAX_HELLO_BYTES}`);
  const view = new DataView(out.buffer);
  out[0] = HELLO_VERSION;
  view.setBigUint64(1, hello.modelId, true);
  view.setUint16(9, hello.stage, true);
  out.set(specHash, 11);
  out.set(hexToBytes(hello.worker), 43);
  view.setUint16(63, hello.peerId.length, true);
  out.set(hello.peerId, 65);
  out.set(signature, 65 + hello.peerId.length);
  return out;
}

/** Parses hello payload bytes; any other length or version is {@link UnexpectedPeerError}. */
export function decodeHello(bytes: Uint8Array): PipeHello {
  if (bytes.length < FIXED_BYTES + SIGNATURE_BYTES || bytes.length > MAX_HELLO_BYTES)
    throw new UnexpectedPeerError(`hello of ${bytes.length} bytes`);
  if (bytes[0] !== HELLO_VERSION) throw new UnexpectedPeerError(`hello version ${bytes[0]}, expected ${HELLO_VERSION}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const peerIdLength = view.getUint16(63, true);
  if (bytes.length !== FIXED_BYTES + peerIdLength + SIGNATURE_BYTES)
    throw new UnexpectedPeerError(`hello of ${bytes.length} bytes with a ${peerIdLength}-byte peer id`);
  return {
    modelId: view.getBigUint64(1, true),
    stage: view.getUint16(9, true),
    specHash: bytesToHex(bytes.subarray(11, 43)),
    worker: getAddress(bytesToHex(bytes.subarray(43, 63))),
    peerId: bytes.slice(65, 65 + peerIdLength),
    signature: bytesToHex(bytes.subarray(65 + peerIdLength)),
  };
}

/** Recovers the key that signed `hello` (throws {@link UnexpectedPeerError} on a malformed signature). */
export async function recoverHelloSigner(domain: HelloDomain, hello: PipeHello): Promise<Address> {
  try {
    return await recoverTypedDataAddress({ ...typedData(domain, hello), signature: hello.signature });
  } catch (err) {
    throw new UnexpectedPeerError(`hello signature does not recover (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`);
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks a received hello against what this end expects of the link: the model, the neighbour's
 * stage, the peer id noise authenticated for the connection, and (through `isStakedNeighbour`)
 * that the signer is the current signing key of a staked worker. Returns the decoded hello;
 * anything wrong is {@link UnexpectedPeerError}.
 *
 * @example
 * const hello = await verifyHello(auth, { payload, specHash, stage: 0, remotePeer: connection.remotePeer })
 */
export async function verifyHello(
  auth: Pick<PipeAuth, "modelId" | "domain" | "isStakedNeighbour">,
  expected: { payload: Uint8Array; specHash: Hex; stage: number; remotePeer: PeerId },
): Promise<PipeHello & { signer: Address }> {
  const hello = decodeHello(expected.payload);
  if (hello.modelId !== auth.modelId || hello.specHash.toLowerCase() !== expected.specHash.toLowerCase())
    throw new UnexpectedPeerError(`expected model ${auth.modelId} (${expected.specHash}), got model ${hello.modelId} (${hello.specHash})`);
  if (hello.stage !== expected.stage) throw new UnexpectedPeerError(`expected stage ${expected.stage}, got stage ${hello.stage}`);
  if (!equalBytes(hello.peerId, expected.remotePeer.toMultihash().bytes))
    throw new UnexpectedPeerError(`hello names another libp2p peer than the connection's ${expected.remotePeer.toString()}`);
  const signer = await recoverHelloSigner(auth.domain, hello);
  if (!(await auth.isStakedNeighbour({ worker: hello.worker, signer, stage: hello.stage, peerId: hello.peerId })))
    throw new UnexpectedPeerError(
      `${signer} is not the current signing key of a staked worker ${hello.worker} that is a member of stage ${hello.stage} with this peer id`,
    );
  return { ...hello, signer };
}

/**
 * Accepts any worker whose hello is validly signed (the peer id, model and stage are still
 * checked). For loopback tools without a chain (benchmarks, the toy pipeline), never for a
 * stage on a real network: pass {@link stakedNeighbourOnChain} there.
 */
export const anySignedNeighbour: IsStakedNeighbour = async () => true;

/**
 * A {@link PipeAuth} with a fresh random signing key that accepts any signed neighbour, for
 * processes that run without a chain (benchmarks, toy pipelines, tests).
 *
 * @example
 * const auth = await localPipeAuth(1n)
 */
export async function localPipeAuth(modelId: bigint, isStakedNeighbour: IsStakedNeighbour = anySignedNeighbour): Promise<PipeAuth> {
  const { generatePrivateKey, privateKeyToAccount } = await import("viem/accounts");
  const signer = privateKeyToAccount(generatePrivateKey());
  return { modelId, worker: signer.address, signer, domain: LOCAL_HELLO_DOMAIN, isStakedNeighbour };
}

/** The domain of hellos between processes that have no chain (chain id 0, zero ledger). */
export const LOCAL_HELLO_DOMAIN: HelloDomain = { chainId: 0, ledger: "0x0000000000000000000000000000000000000000" };
