import { FrameFormatError } from "./errors.ts";
import { type PayloadCodec, packPayload, payloadCodecs, payloadLayout, type TensorHeader, tensorHeader, unpackPayload } from "./wire.ts";

/**
 * libp2p protocol id of the stage-to-stage tensor stream (2: payloads may be losslessly
 * compressed; 3: both ends open with a signed hello and nothing else is decoded before it;
 * 4: serving frames carry their sender's signature and requests open and close with control frames).
 */
export const PIPE_PROTOCOL = "/shardholder/pipe/4.0.0";

/**
 * Frame kinds: training activations flow to stage s+1 and gradients to stage s-1; hello opens a
 * link; serving opens a request with `inferBegin` (forward), sends `inferActivation` forward and
 * the chosen `inferToken` back to stage 0, and each stage's `inferCommitment` back at its end.
 * For training frames `round`/`microbatch` are the round and microbatch index; for serving
 * frames `round` is the request id and `microbatch` the generated token's position (`inferBegin`:
 * the positions the request will serve; `inferCommitment`: the committing stage).
 */
export const frameKinds = {
  activation: 1,
  gradient: 2,
  hello: 3,
  inferActivation: 4,
  inferToken: 5,
  inferBegin: 6,
  inferCommitment: 7,
} as const;
export type FrameKind = keyof typeof frameKinds;

/** Serving frames that carry their sender's 64-byte `ServingFrame` signature after the payload. */
export const SIGNED_FRAME_KINDS: ReadonlySet<FrameKind> = new Set(["inferBegin", "inferActivation", "inferToken"]);
/** Bytes of a signed frame's trailer: an EIP-2098 compact signature. */
export const FRAME_SIGNATURE_BYTES = 64;

/**
 * One frame of the pipe protocol. `payload` is an activation payload (canonical activation bytes
 * then the microbatch's canonical int32 targets, docs/PROTOCOL.md) for activations, canonical
 * tensor bytes for gradients and serving activations, UTF-8 JSON for hello: always the exact
 * bytes, whatever lossless encoding carried them on the wire. `signature`: the 64-byte trailer
 * of a {@link SIGNED_FRAME_KINDS} frame (required there, absent elsewhere).
 */
export type Frame = { kind: FrameKind; round: bigint; microbatch: number; payload: Uint8Array; signature?: Uint8Array | undefined };

/**
 * `u8 codec<<4 | kind | u64 LE round | u32 LE microbatch`, then the payload in that codec
 * (`payloadCodecs` of wire.ts; tensor frames only, the smallest encoding is chosen per frame),
 * then, on signed serving kinds, the 64-byte signature (outside the codec).
 */
export const FRAME_HEADER_BYTES = 13;
/** Every frame travels behind a `u32 LE` byte length. */
export const LENGTH_PREFIX_BYTES = 4;
/** Default largest frame accepted (256 MiB); a bigger length is treated as corrupt input. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/**
 * What a receiver accepts, checked before a payload is restored where the codec allows it and
 * always after: a hostile or broken peer can neither make a stage inflate a bomb nor hand the
 * model a tensor of the wrong shape.
 */
export type FrameLimits = {
  /** Largest frame (the length prefix's value) read at all. */
  maxFrameBytes: number;
  /** Largest payload once restored (decompressed). */
  maxPayloadBytes: number;
  /** Frame kinds accepted; any other is corrupt input. Default: all. */
  kinds?: ReadonlySet<FrameKind> | undefined;
  /**
   * Shape check of tensor payloads (activation, gradient, inferActivation), which must also be
   * well-formed float tensors. Default: any well-formed float tensor within the size limits.
   */
  acceptTensor?: ((kind: FrameKind, tensor: TensorHeader) => boolean) | undefined;
  /**
   * Target ids of activation frames must lie in `[0, targetVocab)` (checked once restored, before
   * anyone decodes the frame): a neighbour cannot hand the loss a token outside the vocabulary.
   * Default: any int32. Their shape is always the activation's first two dimensions.
   */
  targetVocab?: number | undefined;
};

/** Limits of a link before anything is known about the payloads: the old 256 MiB ceiling. */
export const UNBOUNDED_FRAME_LIMITS: FrameLimits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxPayloadBytes: DEFAULT_MAX_FRAME_BYTES };

/**
 * Limits of a training link that carries exactly tensors of `shape` (activations and gradients
 * between two stages have the same `[microbatchSize, contextLength, dModel]`; activation frames
 * add their int32 targets `[microbatchSize, contextLength]`, with ids below `targetVocab` when
 * given). The restored payload is at most the float32 form's size plus the targets; the frame at
 * most that plus its header, since the sender never picks an encoding larger than the raw bytes.
 *
 * @example
 * const limits = tensorFrameLimits([16, 64, 128], { targetVocab: 95 })
 */
export function tensorFrameLimits(shape: readonly number[], { targetVocab }: { targetVocab?: number | undefined } = {}): FrameLimits {
  const targetsBytes = 2 + 4 * 2 + 4 * shape.slice(0, 2).reduce((a, b) => a * b, 1);
  const maxPayloadBytes = 2 + 4 * shape.length + 4 + 4 * shape.reduce((a, b) => a * b, 1) + targetsBytes;
  return {
    maxFrameBytes: FRAME_HEADER_BYTES + maxPayloadBytes,
    maxPayloadBytes,
    acceptTensor: (_kind, t) => t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]),
    targetVocab,
  };
}

/**
 * Limits of a serving link: prompt windows `[1, t, dModel]` with `1 <= t <= contextLength`
 * forward, 4-byte token ids back, small control frames, and only serving kinds (and the hello).
 */
export function servingFrameLimits(contextLength: number, dModel: number): FrameLimits {
  const maxPayloadBytes = 2 + 4 * 3 + 4 + 4 * contextLength * dModel;
  return {
    maxFrameBytes: FRAME_HEADER_BYTES + maxPayloadBytes + FRAME_SIGNATURE_BYTES,
    kinds: new Set(["hello", "inferBegin", "inferActivation", "inferToken", "inferCommitment"]),
    maxPayloadBytes,
    acceptTensor: (kind, t) =>
      kind === "inferActivation" &&
      t.shape.length === 3 &&
      t.shape[0] === 1 &&
      (t.shape[1] as number) >= 1 &&
      (t.shape[1] as number) <= contextLength &&
      t.shape[2] === dModel,
  };
}

const kindByCode = new Map<number, FrameKind>(Object.entries(frameKinds).map(([k, v]) => [v, k as FrameKind]));
const codecByCode = new Map<number, PayloadCodec>(Object.entries(payloadCodecs).map(([k, v]) => [v, k as PayloadCodec]));
/** Frames whose payload is a tensor, the only ones worth compressing. */
const TENSOR_KINDS: ReadonlySet<FrameKind> = new Set(["activation", "gradient", "inferActivation"]);

/**
 * Serializes a frame with its length prefix, ready for `stream.send`; tensor payloads go through
 * `pack` (default: {@link packPayload}, the smallest of the codecs).
 *
 * @example
 * const bytes = encodeFrame({ kind: "activation", round: 3n, microbatch: 1, payload })
 */
export function encodeFrame(
  frame: Frame,
  pack: (payload: Uint8Array) => { codec: PayloadCodec; bytes: Uint8Array } = packPayload,
): Uint8Array {
  if (!Number.isInteger(frame.microbatch) || frame.microbatch < 0 || frame.microbatch > 0xffffffff)
    throw new FrameFormatError(`microbatch ${frame.microbatch} is not a uint32`);
  if (frame.round < 0n || frame.round > 0xffffffffffffffffn) throw new FrameFormatError(`round ${frame.round} is not a uint64`);
  const signed = SIGNED_FRAME_KINDS.has(frame.kind);
  if (signed && frame.signature?.length !== FRAME_SIGNATURE_BYTES)
    throw new FrameFormatError(`a ${frame.kind} frame needs its sender's ${FRAME_SIGNATURE_BYTES}-byte signature`);
  if (!signed && frame.signature !== undefined) throw new FrameFormatError(`a ${frame.kind} frame carries no signature`);
  const { codec, bytes } = TENSOR_KINDS.has(frame.kind) ? pack(frame.payload) : { codec: "none" as const, bytes: frame.payload };
  const length = FRAME_HEADER_BYTES + bytes.length + (signed ? FRAME_SIGNATURE_BYTES : 0);
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  out[4] = (payloadCodecs[codec] << 4) | frameKinds[frame.kind];
  view.setBigUint64(5, frame.round, true);
  view.setUint32(13, frame.microbatch, true);
  out.set(bytes, LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES);
  if (signed) out.set(frame.signature as Uint8Array, LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + bytes.length);
  return out;
}

/**
 * Parses one frame body (without its length prefix) and restores its payload within `limits`:
 * a payload that would restore to more than `maxPayloadBytes`, a kind not allowed, or a tensor
 * that is malformed or of a refused shape is {@link FrameFormatError}. Where the codec keeps the
 * tensor header in the clear (none, channelDeflate) the shape is checked before inflating.
 */
export function decodeFrameBody(body: Uint8Array, limits: FrameLimits | number = UNBOUNDED_FRAME_LIMITS): Frame {
  const l: FrameLimits = typeof limits === "number" ? { maxFrameBytes: limits, maxPayloadBytes: limits } : limits;
  if (body.length < FRAME_HEADER_BYTES) throw new FrameFormatError(`frame of ${body.length} bytes is shorter than its header`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const kind = kindByCode.get((body[0] as number) & 0x0f);
  if (!kind) throw new FrameFormatError(`unknown frame kind ${(body[0] as number) & 0x0f}`);
  if (l.kinds && !l.kinds.has(kind)) throw new FrameFormatError(`a ${kind} frame is not accepted here`);
  const codec = codecByCode.get((body[0] as number) >> 4);
  if (!codec) throw new FrameFormatError(`unknown payload codec ${(body[0] as number) >> 4}`);
  if (codec !== "none" && !TENSOR_KINDS.has(kind)) throw new FrameFormatError(`a ${kind} frame cannot be compressed`);
  const signed = SIGNED_FRAME_KINDS.has(kind);
  if (signed && body.length < FRAME_HEADER_BYTES + FRAME_SIGNATURE_BYTES)
    throw new FrameFormatError(`a ${kind} frame of ${body.length} bytes has no room for its signature`);
  const end = signed ? body.length - FRAME_SIGNATURE_BYTES : body.length;
  const packed = body.subarray(FRAME_HEADER_BYTES, end);
  const isTensor = TENSOR_KINDS.has(kind);
  if (isTensor && codec !== "deflate") checkTensor(kind, packed, codec, l);
  const payload = unpackPayload(codec, packed, l.maxPayloadBytes);
  if (payload.length > l.maxPayloadBytes) throw new FrameFormatError(`payload of ${payload.length} bytes exceeds ${l.maxPayloadBytes}`);
  if (isTensor) checkPayload(kind, payload, l);
  return {
    kind,
    round: view.getBigUint64(1, true),
    microbatch: view.getUint32(9, true),
    // A copy for plain payloads, so a frame kept in a mailbox does not pin the receive buffer.
    payload: codec === "none" ? payload.slice() : payload,
    ...(signed ? { signature: body.slice(end) } : {}),
  };
}

/**
 * Checks of the first tensor's clear header (`bytes` restored, or the packed bytes of codecs that
 * keep the header in the clear), before anything is inflated.
 */
function checkTensor(kind: FrameKind, bytes: Uint8Array, codec: PayloadCodec, l: FrameLimits): void {
  const header = tensorHeader(bytes);
  if (!header) throw new FrameFormatError(`a ${kind} frame does not carry canonical tensor bytes`);
  if (header.dtype === "int32") throw new FrameFormatError(`a ${kind} frame carries an int32 tensor`);
  if (header.bytes > l.maxPayloadBytes)
    throw new FrameFormatError(`a ${kind} tensor of ${header.bytes} bytes exceeds ${l.maxPayloadBytes}`);
  if (codec === "channelDeflate" && header.dtype !== "int8") throw new FrameFormatError(`a channelDeflate ${kind} frame is not int8`);
  if (l.acceptTensor && !l.acceptTensor(kind, header))
    throw new FrameFormatError(`a ${kind} tensor of shape [${header.shape}] is not expected here`);
}

/**
 * Layout of a restored tensor payload: an activation frame is exactly a float tensor then int32
 * targets of the tensor's first two dimensions (ids within `targetVocab`); other tensor frames
 * are exactly one float tensor.
 */
function checkPayload(kind: FrameKind, payload: Uint8Array, l: FrameLimits): void {
  checkTensor(kind, payload, "none", l);
  const layout = payloadLayout(payload);
  if (!layout) throw new FrameFormatError(`a ${kind} frame of ${payload.length} bytes is not laid out as its tensor headers say`);
  const { tensor, targets } = layout;
  if (kind !== "activation") {
    if (targets) throw new FrameFormatError(`a ${kind} frame carries more than one tensor`);
    return;
  }
  if (!targets) throw new FrameFormatError("an activation frame carries no targets");
  if (tensor.shape.length < 2 || targets.shape.length !== 2 || targets.shape[0] !== tensor.shape[0] || targets.shape[1] !== tensor.shape[1])
    throw new FrameFormatError(`activation targets of shape [${targets.shape}] do not match the activation [${tensor.shape}]`);
  if (l.targetVocab !== undefined) checkTargetIds(payload.subarray(tensor.bytes + 2 + 4 * 2), l.targetVocab);
}

/** Every int32 LE id of `data` lies in `[0, vocab)`. */
function checkTargetIds(data: Uint8Array, vocab: number): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at < data.length; at += 4) {
    const id = view.getInt32(at, true);
    if (id < 0 || id >= vocab) throw new FrameFormatError(`activation target id ${id} is outside the vocabulary [0, ${vocab})`);
  }
}

/**
 * Incremental splitter of a byte stream into frames: feed it chunks as they arrive (libp2p 3
 * streams deliver arbitrary slices), get back every frame completed so far.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  limits: FrameLimits;
  constructor(limits: FrameLimits | number = UNBOUNDED_FRAME_LIMITS) {
    this.limits = typeof limits === "number" ? { maxFrameBytes: limits, maxPayloadBytes: limits } : limits;
  }

  /**
   * Frames completed by `chunk`, at most `maxFrames` (the rest stays buffered, undecoded: a link
   * decodes nothing past the hello until the peer is authenticated). A length out of range throws
   * before any of that frame is buffered beyond what already arrived.
   */
  push(chunk: Uint8Array, maxFrames = Number.POSITIVE_INFINITY): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (frames.length < maxFrames) {
      if (this.buffered < LENGTH_PREFIX_BYTES) return frames;
      const length = new DataView(this.peek(LENGTH_PREFIX_BYTES).buffer).getUint32(0, true);
      if (length < FRAME_HEADER_BYTES || length > this.limits.maxFrameBytes)
        throw new FrameFormatError(`frame length ${length} outside [${FRAME_HEADER_BYTES}, ${this.limits.maxFrameBytes}]`);
      if (this.buffered < LENGTH_PREFIX_BYTES + length) return frames;
      const whole = this.take(LENGTH_PREFIX_BYTES + length);
      frames.push(decodeFrameBody(whole.subarray(LENGTH_PREFIX_BYTES), this.limits));
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
      if (at === n) break;
    }
    return out;
  }

  private take(n: number): Uint8Array {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const head = this.chunks[0] as Uint8Array;
      if (head.length <= left) {
        this.chunks.shift();
        left -= head.length;
      } else {
        this.chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}
