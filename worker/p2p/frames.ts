import { FrameFormatError } from "./errors.ts";
import { type PayloadCodec, packPayload, payloadCodecs, unpackPayload } from "./wire.ts";

/** libp2p protocol id of the stage-to-stage tensor stream (2: payloads may be losslessly compressed). */
export const PIPE_PROTOCOL = "/shardholder/pipe/2.0.0";

/**
 * Frame kinds: training activations flow to stage s+1 and gradients to stage s-1; hello opens a
 * link; serving sends `inferActivation` forward and the chosen `inferToken` back to stage 0.
 * For training frames `round`/`microbatch` are the round and microbatch index; for serving
 * frames they are the request sequence number and the generated token's position.
 */
export const frameKinds = { activation: 1, gradient: 2, hello: 3, inferActivation: 4, inferToken: 5 } as const;
export type FrameKind = keyof typeof frameKinds;

/**
 * One frame of the pipe protocol. `payload` is canonical tensor bytes (docs/PROTOCOL.md) for
 * activations and gradients, UTF-8 JSON for hello: always the exact bytes, whatever lossless
 * encoding carried them on the wire.
 */
export type Frame = { kind: FrameKind; round: bigint; microbatch: number; payload: Uint8Array };

/**
 * `u8 codec<<4 | kind | u64 LE round | u32 LE microbatch`, then the payload in that codec
 * (`payloadCodecs` of wire.ts; tensor frames only, the smallest encoding is chosen per frame).
 */
export const FRAME_HEADER_BYTES = 13;
/** Every frame travels behind a `u32 LE` byte length. */
export const LENGTH_PREFIX_BYTES = 4;
/** Default largest frame accepted (256 MiB); a bigger length is treated as corrupt input. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

const kindByCode = new Map<number, FrameKind>(Object.entries(frameKinds).map(([k, v]) => [v, k as FrameKind]));
const codecByCode = new Map<number, PayloadCodec>(Object.entries(payloadCodecs).map(([k, v]) => [v, k as PayloadCodec]));
/** Frames whose payload is a tensor, the only ones worth compressing. */
const TENSOR_KINDS: ReadonlySet<FrameKind> = new Set(["activation", "gradient", "inferActivation"]);

/**
 * Serializes a frame with its length prefix, ready for `stream.send`.
 *
 * @example
 * const bytes = encodeFrame({ kind: "activation", round: 3n, microbatch: 1, payload })
 */
export function encodeFrame(frame: Frame): Uint8Array {
  if (!Number.isInteger(frame.microbatch) || frame.microbatch < 0 || frame.microbatch > 0xffffffff)
    throw new FrameFormatError(`microbatch ${frame.microbatch} is not a uint32`);
  if (frame.round < 0n || frame.round > 0xffffffffffffffffn) throw new FrameFormatError(`round ${frame.round} is not a uint64`);
  const { codec, bytes } = TENSOR_KINDS.has(frame.kind) ? packPayload(frame.payload) : { codec: "none" as const, bytes: frame.payload };
  const length = FRAME_HEADER_BYTES + bytes.length;
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  out[4] = (payloadCodecs[codec] << 4) | frameKinds[frame.kind];
  view.setBigUint64(5, frame.round, true);
  view.setUint32(13, frame.microbatch, true);
  out.set(bytes, LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES);
  return out;
}

/**
 * Parses one frame body (without its length prefix) and restores its payload; a payload that
 * would restore to more than `maxPayloadBytes` is rejected as corrupt.
 */
export function decodeFrameBody(body: Uint8Array, maxPayloadBytes = DEFAULT_MAX_FRAME_BYTES): Frame {
  if (body.length < FRAME_HEADER_BYTES) throw new FrameFormatError(`frame of ${body.length} bytes is shorter than its header`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const kind = kindByCode.get((body[0] as number) & 0x0f);
  if (!kind) throw new FrameFormatError(`unknown frame kind ${(body[0] as number) & 0x0f}`);
  const codec = codecByCode.get((body[0] as number) >> 4);
  if (!codec) throw new FrameFormatError(`unknown payload codec ${(body[0] as number) >> 4}`);
  if (codec !== "none" && !TENSOR_KINDS.has(kind)) throw new FrameFormatError(`a ${kind} frame cannot be compressed`);
  const packed = body.slice(FRAME_HEADER_BYTES);
  return {
    kind,
    round: view.getBigUint64(1, true),
    microbatch: view.getUint32(9, true),
    payload: unpackPayload(codec, packed, maxPayloadBytes),
  };
}

/**
 * Incremental splitter of a byte stream into frames: feed it chunks as they arrive (libp2p 3
 * streams deliver arbitrary slices), get back every frame completed so far.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < LENGTH_PREFIX_BYTES) return frames;
      const length = new DataView(this.peek(LENGTH_PREFIX_BYTES).buffer).getUint32(0, true);
      if (length < FRAME_HEADER_BYTES || length > this.maxFrameBytes)
        throw new FrameFormatError(`frame length ${length} outside [${FRAME_HEADER_BYTES}, ${this.maxFrameBytes}]`);
      if (this.buffered < LENGTH_PREFIX_BYTES + length) return frames;
      const whole = this.take(LENGTH_PREFIX_BYTES + length);
      frames.push(decodeFrameBody(whole.subarray(LENGTH_PREFIX_BYTES), this.maxFrameBytes));
    }
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
