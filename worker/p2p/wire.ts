import { constants as zlibConstants, deflateRawSync, inflateRawSync } from "node:zlib";
import type { Hex } from "viem";
import { type CanonicalTensor, decodeTensor, dequantizeInt8, encodeTensor, toInt8Tensor } from "../../sdk/protocol/tensorBytes.ts";
import { fastKeccak256 } from "../backend/keccak.ts";
import { FrameFormatError } from "./errors.ts";

/** How float tensors travel: int8 quantized (default) or raw float32 (the uncompressed baseline). */
export type WireFormat = "int8" | "float32";

/**
 * `tensorHash` of docs/PROTOCOL.md (keccak256 of the canonical bytes) by the WebAssembly keccak:
 * the same digest as the SDK's, ~20x faster (it hashes every tensor a stage sends or receives).
 */
const hashCanonical = (bytes: Uint8Array): Hex => fastKeccak256(bytes);

/** Canonical bytes of a tensor as sent, and their hash (the value committed in items). */
export type WireTensor = { bytes: Uint8Array; hash: Hex };

/**
 * Canonical bytes of a float tensor in the chosen wire format (docs/PROTOCOL.md).
 *
 * @example
 * const { bytes, hash } = encodeWireTensor([2, 3], values, "int8")
 */
export function encodeWireTensor(shape: number[], values: Float32Array, format: WireFormat): WireTensor {
  const canonical: CanonicalTensor =
    format === "int8" ? toInt8Tensor(shape, values) : { dtype: "float32", shape: [...shape], data: values };
  const bytes = encodeTensor(canonical);
  return { bytes, hash: hashCanonical(bytes) };
}

/** Float values of canonical float32 or int8 tensor bytes (int8 dequantized); int32 is refused. */
function floatTensor(bytes: Uint8Array): { shape: number[]; values: Float32Array; format: WireFormat } {
  const t = decodeTensor(bytes);
  if (t.dtype === "int8") return { shape: t.shape, values: dequantizeInt8(t.data, t.scale), format: "int8" };
  if (t.dtype === "float32") return { shape: t.shape, values: t.data, format: "float32" };
  throw new FrameFormatError("an int32 tensor arrived where a float activation or gradient was expected");
}

/**
 * Parses received canonical bytes back into float values (dequantizing int8), plus their hash.
 * int32 tensors are rejected: only float activations and gradients travel between stages.
 */
export function decodeWireTensor(bytes: Uint8Array): { shape: number[]; values: Float32Array; hash: Hex; format: WireFormat } {
  return { ...floatTensor(bytes), hash: hashCanonical(bytes) };
}

/** Canonical int32 bytes of a microbatch's target ids `[B, T]` (the second part of an activation payload). */
export function encodeTargets(shape: number[], ids: Int32Array): Uint8Array {
  return encodeTensor({ dtype: "int32", shape: [...shape], data: ids });
}

/**
 * An activation payload (docs/PROTOCOL.md "Stage links"): the canonical bytes of stage s's output
 * `[B, T, d]` in the wire format, immediately followed by the canonical int32 bytes of the
 * microbatch's targets `[B, T]`, which stage 0 drew and every later stage forwards verbatim. Its
 * hash is stage s's `outputActHash` and stage s+1's `inputActHash`, so the targets are committed
 * by every stage that carried them.
 *
 * @example
 * const { bytes, hash } = encodeActivationPayload([4, 16, 32], values, "int8", encodeTargets([4, 16], ids))
 */
export function encodeActivationPayload(shape: number[], values: Float32Array, format: WireFormat, targets: Uint8Array): WireTensor {
  const activation = encodeWireTensor(shape, values, format).bytes;
  const bytes = new Uint8Array(activation.length + targets.length);
  bytes.set(activation, 0);
  bytes.set(targets, activation.length);
  return { bytes, hash: hashCanonical(bytes) };
}

/** A decoded activation payload; `targets.bytes` are the exact received bytes, to forward unchanged. */
export type ActivationPayload = {
  shape: number[];
  values: Float32Array;
  format: WireFormat;
  hash: Hex;
  targets: { shape: number[]; ids: Int32Array; bytes: Uint8Array };
};

/**
 * Parses an activation payload (see {@link encodeActivationPayload}): a float activation of rank
 * >= 2, then int32 targets whose shape is the activation's first two dimensions, and nothing
 * else; anything other is {@link FrameFormatError}.
 */
export function decodeActivationPayload(bytes: Uint8Array): ActivationPayload {
  const layout = payloadLayout(bytes);
  if (!layout?.targets) throw new FrameFormatError("an activation payload is a float tensor followed by int32 targets");
  const { tensor, targets } = layout;
  if (tensor.shape.length < 2 || !sameShape(targets.shape, tensor.shape.slice(0, 2)))
    throw new FrameFormatError(`targets [${targets.shape}] do not match an activation [${tensor.shape}]`);
  const activation = floatTensor(bytes.subarray(0, tensor.bytes));
  const targetBytes = bytes.subarray(tensor.bytes);
  const ids = decodeTensor(targetBytes).data as Int32Array;
  return { ...activation, hash: hashCanonical(bytes), targets: { shape: targets.shape, ids, bytes: targetBytes } };
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** Hash of int32 token ids in canonical form (stage 0's `inputActHash`). */
export function hashTokenIds(shape: number[], ids: Int32Array): Hex {
  return hashCanonical(encodeTensor({ dtype: "int32", shape: [...shape], data: ids }));
}

/** Hash of a scalar float32 loss in canonical form (the last stage's `outputActHash`). */
export function hashScalarLoss(loss: number): Hex {
  return hashCanonical(encodeTensor({ dtype: "float32", shape: [], data: new Float32Array([loss]) }));
}

/*
 * Lossless stage of the pipe: a frame's payload (canonical tensor bytes, or an activation payload:
 * tensor bytes then targets bytes; its hash is what gets committed) travels as one of these
 * encodings, chosen per frame as the smallest. The receiver restores the exact payload bytes
 * before anybody sees them.
 * - `none`: the bytes as they are.
 * - `deflate`: raw DEFLATE (RFC 1951, Huffman-only) of the bytes. Gradients gain ~15% (rows of small values).
 * - `channelDeflate` (int8 tensors of rank >= 2): the residual-stream activations' marginal
 *   entropy is ~7.7 bits/value but only ~4.6 given the channel (last axis): channels have their
 *   own offsets and spreads. So: the canonical header as is, then per channel (last-axis index)
 *   its rounded mean as int8, then the channel order as u16 LE (by increasing spread), then
 *   Huffman-only DEFLATE of `(q - mean) mod 256` channel by channel in that order, so each
 *   DEFLATE block's code table fits channels of similar spread, followed in the same stream by
 *   the payload's bytes after the tensor (an activation payload's targets). ~1.7x on activations.
 */

/** Lossless payload encodings of the pipe (the frame kind byte's high nibble). */
export const payloadCodecs = { none: 0, deflate: 1, channelDeflate: 2 } as const;
export type PayloadCodec = keyof typeof payloadCodecs;

/** Payloads below this size are sent as they are (compression cannot pay for its own cost). */
export const MIN_COMPRESSED_PAYLOAD_BYTES = 256;

const INT8_CODE = 2;

/** The header of canonical tensor bytes: dtype, shape, and the exact byte length the tensor must have. */
export type TensorHeader = { dtype: "float32" | "int8" | "int32"; shape: number[]; bytes: number };

const dtypeByCode = { 1: "float32", 2: "int8", 3: "int32" } as const;

/**
 * Parses the header of canonical tensor bytes (docs/PROTOCOL.md) without touching the data:
 * undefined for an unknown dtype, a truncated header, or a negative or non-finite int8 scale.
 * `bytes` may be a prefix (a compressed payload's clear header); `bytes.length` is not checked.
 *
 * @example
 * const header = tensorHeader(frame.payload) // { dtype: "int8", shape: [16, 64, 128], bytes: 131090 }
 */
export function tensorHeader(bytes: Uint8Array): TensorHeader | undefined {
  if (bytes.length < 2) return undefined;
  const dtype = dtypeByCode[bytes[0] as 1 | 2 | 3] as TensorHeader["dtype"] | undefined;
  if (!dtype) return undefined;
  const rank = bytes[1] as number;
  const headerBytes = 2 + 4 * rank + (dtype === "int8" ? 4 : 0);
  if (bytes.length < headerBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(2 + 4 * i, true);
    shape.push(d);
    n *= d;
  }
  if (dtype === "int8") {
    const scale = view.getFloat32(2 + 4 * rank, true);
    if (!Number.isFinite(scale) || scale < 0) return undefined;
  }
  return { dtype, shape, bytes: headerBytes + n * (dtype === "int8" ? 1 : 4) };
}

/**
 * The tensors of a pipe payload: one canonical tensor (`targets` undefined), or an activation
 * payload's tensor followed by one int32 tensor (`targets`), with nothing after them.
 */
export type PayloadLayout = { tensor: TensorHeader; targets?: TensorHeader | undefined };

/**
 * Splits a tensor payload by its clear headers, touching no data: undefined unless `bytes` are
 * exactly one canonical tensor, or a canonical tensor followed by exactly one canonical int32 tensor.
 *
 * @example
 * const layout = payloadLayout(frame.payload) // { tensor: { dtype: "int8", shape: [4, 16, 32], ... }, targets: { dtype: "int32", shape: [4, 16], ... } }
 */
export function payloadLayout(bytes: Uint8Array): PayloadLayout | undefined {
  const tensor = tensorHeader(bytes);
  if (!tensor || tensor.bytes > bytes.length) return undefined;
  if (tensor.bytes === bytes.length) return { tensor };
  const targets = tensorHeader(bytes.subarray(tensor.bytes));
  if (!targets || targets.dtype !== "int32" || tensor.bytes + targets.bytes !== bytes.length) return undefined;
  return { tensor, targets };
}

/**
 * Layout of a payload whose first tensor is int8 of rank >= 2 (`tail` = the bytes after it: an
 * activation payload's targets, or none), or undefined for any other payload.
 */
function int8Layout(bytes: Uint8Array): { header: number; rows: number; channels: number; tail: number } | undefined {
  if (bytes.length < 2 || bytes[0] !== INT8_CODE) return undefined;
  const rank = bytes[1] as number;
  const header = 2 + 4 * rank + 4;
  if (rank < 2 || bytes.length < header) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 1;
  for (let i = 0; i < rank; i++) n *= view.getUint32(2 + 4 * i, true);
  const channels = view.getUint32(2 + 4 * (rank - 1), true);
  if (channels < 2 || channels > 0xffff || n === 0 || bytes.length < header + n) return undefined;
  return { header, rows: n / channels, channels, tail: bytes.length - header - n };
}

function channelDeflate(bytes: Uint8Array, layout: { header: number; rows: number; channels: number; tail: number }): Uint8Array {
  const { header, rows, channels, tail } = layout;
  const q = new Int8Array(bytes.buffer, bytes.byteOffset + header, rows * channels);
  // Integer sums (|q| <= 127, so no overflow below 2^24 rows), row by row: no modulo per value.
  const sums = new Int32Array(channels);
  const squares = new Float64Array(channels);
  for (let r = 0, at = 0; r < rows; r++)
    for (let c = 0; c < channels; c++, at++) {
      const v = q[at] as number;
      sums[c] = (sums[c] as number) + v;
      squares[c] = (squares[c] as number) + v * v;
    }
  const means = new Int8Array(channels);
  const spread = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const m = Math.round((sums[c] as number) / rows);
    means[c] = m;
    // sum (q - m)^2 = sum q^2 - 2 m sum q + rows m^2
    spread[c] = (squares[c] as number) - 2 * m * (sums[c] as number) + rows * m * m;
  }
  const order = Array.from({ length: channels }, (_, c) => c).sort((a, b) => (spread[a] as number) - (spread[b] as number) || a - b);
  // The tail (an activation payload's targets) rides in the same DEFLATE stream, after the values.
  const centered = new Uint8Array(q.length + tail);
  let at = 0;
  for (const c of order) {
    const m = means[c] as number;
    for (let i = c; i < q.length; i += channels) centered[at++] = ((q[i] as number) - m) & 0xff;
  }
  centered.set(bytes.subarray(header + q.length), q.length);
  const packed = deflateRawSync(centered, { level: 6, strategy: zlibConstants.Z_HUFFMAN_ONLY });
  const out = new Uint8Array(header + 3 * channels + packed.length);
  out.set(bytes.subarray(0, header), 0);
  out.set(new Uint8Array(means.buffer), header);
  const view = new DataView(out.buffer);
  order.forEach((c, k) => view.setUint16(header + channels + 2 * k, c, true));
  out.set(packed, header + 3 * channels);
  return out;
}

/** Inflates to at least `least` and at most `most` bytes; anything else is {@link FrameFormatError}. */
function inflateBetween(packed: Uint8Array, least: number, most: number): Uint8Array {
  let out: Buffer;
  try {
    out = inflateRawSync(packed, { maxOutputLength: Math.max(1, most) });
  } catch (err) {
    throw new FrameFormatError(`payload does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  if (out.length < least || out.length > most)
    throw new FrameFormatError(`payload inflates to ${out.length} bytes, expected ${least}..${most}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function channelInflate(packed: Uint8Array, maxBytes: number): Uint8Array {
  if (packed.length < 2 || packed[0] !== INT8_CODE || (packed[1] as number) < 2)
    throw new FrameFormatError("channelDeflate payload is not an int8 tensor of rank >= 2");
  const rank = packed[1] as number;
  const header = 2 + 4 * rank + 4;
  if (packed.length < header) throw new FrameFormatError("channelDeflate payload is shorter than its tensor header");
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  let n = 1;
  for (let i = 0; i < rank; i++) n *= view.getUint32(2 + 4 * i, true);
  const channels = view.getUint32(2 + 4 * (rank - 1), true);
  if (channels < 2 || channels > 0xffff || n === 0 || header + n > maxBytes)
    throw new FrameFormatError(`channelDeflate tensor of ${n} values in ${channels} channels is out of range`);
  if (packed.length < header + 3 * channels) throw new FrameFormatError("channelDeflate payload is shorter than its channel table");
  const means = new Int8Array(packed.buffer, packed.byteOffset + header, channels);
  const order = new Uint16Array(channels);
  const seen = new Uint8Array(channels);
  for (let k = 0; k < channels; k++) {
    const c = view.getUint16(header + channels + 2 * k, true);
    if (c >= channels || seen[c]) throw new FrameFormatError("channelDeflate channel order is not a permutation");
    seen[c] = 1;
    order[k] = c;
  }
  // The values, then whatever followed the tensor (an activation payload's targets: the frame
  // checks their layout once restored); never more than the receiver's limit.
  const centered = inflateBetween(packed.subarray(header + 3 * channels), n, maxBytes - header);
  const out = new Uint8Array(header + centered.length);
  out.set(packed.subarray(0, header), 0);
  out.set(centered.subarray(n), header + n);
  const q = new Int8Array(out.buffer, header, n);
  let at = 0;
  for (const c of order) {
    const m = means[c] as number;
    for (let i = c; i < n; i += channels) q[i] = (centered[at++] as number) + m; // Int8Array wraps mod 256
  }
  return out;
}

/**
 * The smallest lossless encoding of a payload (ties keep the simpler one). Only tensor payloads
 * (canonical tensor bytes, or an activation payload: see {@link payloadLayout}) are compressed;
 * anything else travels as it is.
 *
 * @example
 * const { codec, bytes } = packPayload(encodeWireTensor([8, 64, 128], values, "int8").bytes)
 */
export function packPayload(payload: Uint8Array): { codec: PayloadCodec; bytes: Uint8Array } {
  let best: { codec: PayloadCodec; bytes: Uint8Array } = { codec: "none", bytes: payload };
  if (payload.length < MIN_COMPRESSED_PAYLOAD_BYTES || !payloadLayout(payload)) return best;
  // Huffman-only: int8 tensors have no repeats worth LZ matching; their gain is the skewed value distribution.
  const deflated = deflateRawSync(payload, { strategy: zlibConstants.Z_HUFFMAN_ONLY });
  if (deflated.length < best.bytes.length)
    best = { codec: "deflate", bytes: new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.length) };
  const layout = int8Layout(payload);
  if (layout) {
    const byChannel = channelDeflate(payload, layout);
    if (byChannel.length < best.bytes.length) best = { codec: "channelDeflate", bytes: byChannel };
  }
  return best;
}

/**
 * {@link packPayload} that stops trying when it does not pay: trying both deflates costs ~1.3 ms
 * for a 17 KB activation, and tensors of one link are alike, so after `window` frames that saved
 * under `minSaving` of their bytes it sends the next `pause` frames as they are, then tries again.
 * Any frame it sends is one `packPayload` could have sent (codec none is always valid).
 *
 * @example
 * const pack = adaptivePacker(); const { codec, bytes } = pack(payload)
 */
export function adaptivePacker({ window = 8, minSaving = 0.1, pause = 64 }: { window?: number; minSaving?: number; pause?: number } = {}): (
  payload: Uint8Array,
) => { codec: PayloadCodec; bytes: Uint8Array } {
  let raw = 0;
  let packed = 0;
  let tried = 0;
  let skip = 0;
  return (payload) => {
    if (skip > 0) {
      skip--;
      return { codec: "none", bytes: payload };
    }
    const out = packPayload(payload);
    raw += payload.length;
    packed += out.bytes.length;
    if (++tried >= window) {
      if (packed > (1 - minSaving) * raw) skip = pause;
      raw = packed = tried = 0;
    }
    return out;
  };
}

/**
 * Restores the exact payload from its encoding; garbled, truncated or oversized (above
 * `maxBytes` once restored) input throws `FrameFormatError`.
 */
export function unpackPayload(codec: PayloadCodec, bytes: Uint8Array, maxBytes: number): Uint8Array {
  switch (codec) {
    case "none":
      return bytes;
    case "deflate": {
      let out: Buffer;
      try {
        out = inflateRawSync(bytes, { maxOutputLength: maxBytes });
      } catch (err) {
        throw new FrameFormatError(`payload does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    }
    case "channelDeflate":
      return channelInflate(bytes, maxBytes);
  }
}
