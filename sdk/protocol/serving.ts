import {
  type Address,
  concatHex,
  encodeAbiParameters,
  type Hex,
  hashStruct,
  hashTypedData,
  hexToBigInt,
  keccak256,
  type LocalAccount,
  compactSignatureToSignature,
  parseCompactSignature,
  parseSignature,
  recoverTypedDataAddress,
  serializeCompactSignature,
  serializeSignature,
  signatureToCompactSignature,
  zeroHash,
} from "viem";
import { BaseError } from "../errors/base.ts";
import { pipelineConsentDomain, type SignerClient, signTyped } from "./pipelineConsent.ts";
import { standardTree } from "./standardTree.ts";

// Verified inference (docs/PROTOCOL.md "Verified inference"): what each stage operator signs about a
// request it served, the frames it signs on the way, and the escrow's serving root over them.

/** EIP-712 types of a stage operator's serving commitment (domain: the InferenceEscrow's). */
export const servingCommitmentTypes = {
  ServingCommitment: [
    { name: "requestId", type: "uint256" },
    { name: "stage", type: "uint16" },
    { name: "weightsRoot", type: "bytes32" },
    { name: "sampling", type: "bytes32" },
    { name: "outputsRoot", type: "bytes32" },
    { name: "positions", type: "uint32" },
  ],
} as const;

/** EIP-712 types of a serving frame statement: the sender's word for the payload it sent at `position`. */
export const servingFrameTypes = {
  ServingFrame: [
    { name: "requestId", type: "uint256" },
    { name: "stage", type: "uint16" },
    { name: "position", type: "uint32" },
    { name: "payloadHash", type: "bytes32" },
  ],
} as const;

/** What one stage signs it computed for a request (the escrow's `ServingCommitment`; request and stage are implied). */
export type ServingCommitment = {
  /** Root of the stage weights it served with. */
  weightsRoot: Hex;
  /** `samplingHash(...)` on the last stage (it picks the tokens); zero elsewhere. */
  sampling: Hex;
  /** `outputsTree(...)` root over what it sent at each generated position. */
  outputsRoot: Hex;
  /** Generated positions served. */
  positions: number;
};

/** Where serving statements are verified: the InferenceEscrow and its chain. */
export type ServingContext = { escrow: Address; chainId: number };

/** Thrown for a compact signature that is not 64 bytes, or a list of them that does not match the stages. */
export class InvalidServingSignatureError extends BaseError {
  constructor(detail: string) {
    super(`Invalid serving signature: ${detail}.`, { name: "InvalidServingSignatureError" });
  }
}

function commitmentTypedData(ctx: ServingContext, requestId: bigint, stage: number, c: ServingCommitment) {
  return {
    domain: pipelineConsentDomain(ctx.escrow, ctx.chainId),
    types: servingCommitmentTypes,
    primaryType: "ServingCommitment",
    message: { requestId, stage, weightsRoot: c.weightsRoot, sampling: c.sampling, outputsRoot: c.outputsRoot, positions: c.positions },
  } as const;
}

function frameTypedData(ctx: ServingContext, frame: ServingFrame) {
  return {
    domain: pipelineConsentDomain(ctx.escrow, ctx.chainId),
    types: servingFrameTypes,
    primaryType: "ServingFrame",
    message: frame,
  } as const;
}

/** The EIP-712 struct hash of stage `stage`'s commitment for `requestId` (what the serving root hashes). */
export function servingCommitmentStructHash(requestId: bigint, stage: number, c: ServingCommitment): Hex {
  return hashStruct({
    data: { requestId, stage, weightsRoot: c.weightsRoot, sampling: c.sampling, outputsRoot: c.outputsRoot, positions: c.positions },
    primaryType: "ServingCommitment",
    types: servingCommitmentTypes,
  });
}

/** The digest stage `stage`'s operator signs for its commitment. */
export function hashServingCommitment(ctx: ServingContext, requestId: bigint, stage: number, c: ServingCommitment): Hex {
  return hashTypedData(commitmentTypedData(ctx, requestId, stage, c));
}

/** Signs a stage's commitment with the operator's own key; returns the 64-byte EIP-2098 compact signature the escrow takes. */
export async function signServingCommitment(
  signer: LocalAccount | SignerClient,
  ctx: ServingContext,
  requestId: bigint,
  stage: number,
  c: ServingCommitment,
): Promise<Hex> {
  return compact(await signTyped(signer, commitmentTypedData(ctx, requestId, stage, c)));
}

/** Who signed `signature` (64-byte compact or 65-byte) over stage `stage`'s commitment. */
export function recoverServingCommitmentSigner(
  ctx: ServingContext,
  requestId: bigint,
  stage: number,
  c: ServingCommitment,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({ ...commitmentTypedData(ctx, requestId, stage, c), signature: expanded(signature) });
}

/**
 * The escrow's serving root: `keccak256` of the stages' commitment struct hashes in stage order.
 *
 * @example
 * servingRoot(7n, [stage0Commitment, stage1Commitment])
 */
export function servingRoot(requestId: bigint, commitments: readonly ServingCommitment[]): Hex {
  return keccak256(concatHex(commitments.map((c, stage) => servingCommitmentStructHash(requestId, stage, c))));
}

/** The stages' compact signatures concatenated in stage order, as `fulfill` takes them. */
export function packServingSignatures(signatures: readonly Hex[]): Hex {
  for (const [stage, s] of signatures.entries()) {
    if (s.length !== 2 + 128) throw new InvalidServingSignatureError(`stage ${stage}'s is ${(s.length - 2) / 2} bytes, expected 64`);
  }
  return concatHex([...signatures]);
}

/** One frame statement: the sender at `stage` sent a payload hashing to `payloadHash` at `position` of `requestId`. */
export type ServingFrame = { requestId: bigint; stage: number; position: number; payloadHash: Hex };

/** Signs a frame statement (64-byte compact signature): travels with the frame, so a receiver can prove what it got. */
export async function signServingFrame(signer: LocalAccount | SignerClient, ctx: ServingContext, frame: ServingFrame): Promise<Hex> {
  return compact(await signTyped(signer, frameTypedData(ctx, frame)));
}

/** Who signed a frame statement. */
export function recoverServingFrameSigner(ctx: ServingContext, frame: ServingFrame, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ ...frameTypedData(ctx, frame), signature: expanded(signature) });
}

/** Leaf of a stage's outputs tree: OpenZeppelin's standard leaf of `(uint32 position, bytes32 outputHash)`. */
export function servingOutputLeaf(position: number, outputHash: Hex): Hex {
  return keccak256(keccak256(encodeAbiParameters([{ type: "uint32" }, { type: "bytes32" }], [position, outputHash])));
}

/**
 * A stage's outputs tree over `outputHashes[p]` = keccak256 of the payload it sent at position `p`
 * (the last stage: of its 4-byte token payload). `proof(p)` proves leaf `p` against the root.
 */
export function servingOutputsTree(outputHashes: readonly Hex[]): { root: Hex; proof(position: number): Hex[] } {
  return standardTree(outputHashes.map((hash, position) => servingOutputLeaf(position, hash)));
}

/** The sampling seed of a request: fixed by the request, so no operator picks the draw. */
export function requestSamplingSeed(requestId: bigint, inputHash: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }], [requestId, inputHash]));
}

/** Sampling terms of the last stage: temperature (0 = greedy) and top-k (0 = all). */
export type ServingSampling = { seed: Hex; temperature: number; topK: number };

/** `keccak256(abi.encode(bytes32 seed, uint32 temperatureMilli, uint32 topK))`: what the last stage commits as `sampling`. */
export function samplingHash({ seed, temperature, topK }: ServingSampling): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "bytes32" }, { type: "uint32" }, { type: "uint32" }], [seed, Math.round(temperature * 1000), topK]),
  );
}

/** `sampling` of a stage that does not sample. */
export const NO_SAMPLING: Hex = zeroHash;

/**
 * Whether the validators audit request `requestId`: `keccak256(abi.encode(fulfilBlockHash, requestId)) % 1e4 < auditBps`
 * (`auditBps` = the escrow's `SERVING_AUDIT_BPS`; the block hash is unknown to operators until the fulfilment is mined).
 */
export function servingAudited({
  fulfilBlockHash,
  requestId,
  auditBps,
}: {
  fulfilBlockHash: Hex;
  requestId: bigint;
  auditBps: number;
}): boolean {
  const word = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }], [fulfilBlockHash, requestId]));
  return hexToBigInt(word) % 10_000n < BigInt(auditBps);
}

/** A 64-byte compact signature as the 65-byte form viem's recovery takes (others unchanged). */
function expanded(signature: Hex): Hex {
  return signature.length === 2 + 128 ? serializeSignature(compactSignatureToSignature(parseCompactSignature(signature))) : signature;
}

function compact(signature: Hex): Hex {
  return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)));
}
