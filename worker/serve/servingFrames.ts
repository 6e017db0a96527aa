// Signed serving frames (docs/PROTOCOL.md "Verified inference"): each serving frame carries its
// sender's ServingFrame signature over keccak256(payload); a receiver checks it against the
// operator of the stage that produced it. Control payloads: `inferBegin` (the request's input
// hash) and `inferCommitment` (a stage's signed commitment).
import {
  type Address,
  bytesToHex,
  concatBytes,
  encodeAbiParameters,
  type Hex,
  hexToBytes,
  isAddressEqual,
  keccak256,
  type LocalAccount,
  numberToBytes,
  zeroAddress,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  recoverServingCommitmentSigner,
  recoverServingFrameSigner,
  type ServingCommitment,
  type ServingContext,
  signServingFrame,
} from "../../sdk/protocol/serving.ts";
import type { Frame, FrameKind } from "../p2p/frames.ts";

/**
 * Position an `inferBegin` frame is signed at: past any generated position, so its statement can
 * never be taken for (or contradict) a committed output leaf.
 */
export const BEGIN_POSITION = 0xffff_ffff;

/** What a serving stage needs to sign its frames and commitment and to check its neighbours'. */
export type ServingIdentity = {
  /** This stage's operator key: the account of `stageOperators[stage]`. */
  account: LocalAccount;
  /** The pipeline's operators in stage order (the escrow's `stageOperators`). */
  stageOperators: readonly Address[];
  /** The escrow and chain the statements are signed for. */
  context: ServingContext;
  /** Chunk-tree root of the weights this stage serves. */
  weightsRoot: Hex;
};

/** Thrown when a stage's key is not the operator the pipeline names for that stage. */
export class ServingKeyMismatchError extends Error {
  constructor(stage: number, key: Address, operator: Address | undefined) {
    super(`stage ${stage} signs with ${key} but the pipeline's operator of stage ${stage} is ${operator ?? "missing"}`);
    this.name = "ServingKeyMismatchError";
  }
}

/** A serving frame or commitment refused: not signed by the operator it must come from, or malformed. */
export class ServingFrameRefusedError extends Error {
  constructor(
    readonly kind: FrameKind,
    readonly requestId: bigint,
    readonly position: number,
    reason: string,
  ) {
    super(`refused ${kind} ${requestId}/${position}: ${reason}`);
    this.name = "ServingFrameRefusedError";
  }
}

/** Throws {@link ServingKeyMismatchError} unless `identity.account` is the operator of `stage`. */
export function checkServingKey(identity: ServingIdentity, stage: number): void {
  const operator = identity.stageOperators[stage];
  if (!operator || !isAddressEqual(operator, identity.account.address))
    throw new ServingKeyMismatchError(stage, identity.account.address, operator);
}

/** A frame of `kind` signed by `identity` as stage `stage` at `position` (`round` = the request id). */
export async function signedFrame(
  identity: ServingIdentity,
  stage: number,
  kind: "inferBegin" | "inferActivation" | "inferToken",
  requestId: bigint,
  position: number,
  payload: Uint8Array,
  microbatch = position,
): Promise<Frame> {
  const signature = await signServingFrame(identity.account, identity.context, {
    requestId,
    stage,
    position,
    payloadHash: keccak256(payload),
  });
  return { kind, round: requestId, microbatch, payload, signature: hexToBytes(signature) };
}

/**
 * Throws {@link ServingFrameRefusedError} unless `frame` carries the signature of `stage`'s
 * operator over its payload at `position` of request `frame.round`.
 */
export async function checkFrameSignature(identity: ServingIdentity, frame: Frame, stage: number, position: number): Promise<void> {
  const refuse = (reason: string) => new ServingFrameRefusedError(frame.kind, frame.round, position, reason);
  if (frame.signature?.length !== 64) throw refuse("no signature");
  const expected = identity.stageOperators[stage];
  if (!expected) throw refuse(`the pipeline has no stage ${stage}`);
  let signer: Address;
  try {
    signer = await recoverServingFrameSigner(
      identity.context,
      { requestId: frame.round, stage, position, payloadHash: keccak256(frame.payload) },
      bytesToHex(frame.signature),
    );
  } catch {
    throw refuse("unreadable signature");
  }
  if (!isAddressEqual(signer, expected)) throw refuse(`signed by ${signer}, not stage ${stage}'s operator ${expected}`);
}

/** `inferBegin` payload: the request's 32-byte input hash. */
export function decodeBeginPayload(frame: Frame): Hex {
  if (frame.payload.length !== 32)
    throw new ServingFrameRefusedError(frame.kind, frame.round, BEGIN_POSITION, `payload of ${frame.payload.length} bytes, expected 32`);
  return bytesToHex(frame.payload);
}

/** Bytes of an `inferCommitment` payload. */
export const COMMITMENT_PAYLOAD_BYTES = 32 * 3 + 4 + 64;

/** `inferCommitment` payload: `bytes32 weightsRoot | bytes32 sampling | bytes32 outputsRoot | u32 LE positions | 64-byte signature`. */
export function encodeCommitmentPayload(c: ServingCommitment, signature: Hex): Uint8Array {
  return concatBytes([
    hexToBytes(c.weightsRoot),
    hexToBytes(c.sampling),
    hexToBytes(c.outputsRoot),
    numberToBytes(c.positions, { size: 4 }).reverse(),
    hexToBytes(signature),
  ]);
}

/**
 * The commitment in `frame` (stage `frame.microbatch`'s), checked: well formed, `positions` as
 * served, and signed by that stage's operator. Throws {@link ServingFrameRefusedError} otherwise.
 */
export async function readCommitment(
  identity: ServingIdentity,
  frame: Frame,
  positions: number,
): Promise<{ commitment: ServingCommitment; signature: Hex }> {
  const stage = frame.microbatch;
  const refuse = (reason: string) => new ServingFrameRefusedError(frame.kind, frame.round, stage, reason);
  const b = frame.payload;
  if (b.length !== COMMITMENT_PAYLOAD_BYTES) throw refuse(`payload of ${b.length} bytes, expected ${COMMITMENT_PAYLOAD_BYTES}`);
  const commitment: ServingCommitment = {
    weightsRoot: bytesToHex(b.subarray(0, 32)),
    sampling: bytesToHex(b.subarray(32, 64)),
    outputsRoot: bytesToHex(b.subarray(64, 96)),
    positions: new DataView(b.buffer, b.byteOffset + 96, 4).getUint32(0, true),
  };
  const signature = bytesToHex(b.subarray(100));
  if (commitment.positions !== positions) throw refuse(`commits ${commitment.positions} positions, ${positions} were served`);
  const expected = identity.stageOperators[stage];
  if (!expected) throw refuse(`the pipeline has no stage ${stage}`);
  const signer = await Promise.resolve()
    .then(() => recoverServingCommitmentSigner(identity.context, frame.round, stage, commitment, signature))
    .catch(() => undefined);
  if (!signer || !isAddressEqual(signer, expected)) throw refuse(`not signed by stage ${stage}'s operator ${expected}`);
  return { commitment, signature };
}

/** The key of stage `stage`'s loopback operator in a chain-less run: `keccak256(abi.encode("shardholder local serving", modelId, stage))`. */
function localServingKey(modelId: bigint, stage: number): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "string" }, { type: "uint64" }, { type: "uint16" }], ["shardholder local serving", modelId, stage]),
  );
}

/**
 * A serving identity for chain-less runs on loopback (benchmarks, tests of worker/pipeline/stageMain.ts):
 * every stage's key is derived from the model id, so every process knows its neighbours' operators
 * without a chain; statements are signed for the zero escrow on chain 31337. Public keys: never on a network.
 */
export function localServingIdentity(modelId: bigint, stage: number, stageCount: number, weightsRoot: Hex): ServingIdentity {
  return {
    account: privateKeyToAccount(localServingKey(modelId, stage)),
    stageOperators: Array.from({ length: stageCount }, (_, s) => privateKeyToAccount(localServingKey(modelId, s)).address),
    context: { escrow: zeroAddress, chainId: 31337 },
    weightsRoot,
  };
}
