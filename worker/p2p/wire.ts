import type { Hex } from "viem";
import { type CanonicalTensor, decodeTensor, dequantizeInt8, encodeTensor, tensorHash, toInt8Tensor } from "../../sdk/protocol/tensorBytes.ts";
import { FrameFormatError } from "./errors.ts";

/** How float tensors travel: int8 quantized (default) or raw float32 (the uncompressed baseline). */
export type WireFormat = "int8" | "float32";

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
  return { bytes, hash: tensorHash(bytes) };
}

/**
 * Parses received canonical bytes back into float values (dequantizing int8), plus their hash.
 * int32 tensors are rejected: only float activations and gradients travel between stages.
 */
export function decodeWireTensor(bytes: Uint8Array): { shape: number[]; values: Float32Array; hash: Hex; format: WireFormat } {
  const t = decodeTensor(bytes);
  const hash = tensorHash(bytes);
  if (t.dtype === "int8") return { shape: t.shape, values: dequantizeInt8(t.data, t.scale), hash, format: "int8" };
  if (t.dtype === "float32") return { shape: t.shape, values: t.data, hash, format: "float32" };
  throw new FrameFormatError("an int32 tensor arrived where a float activation or gradient was expected");
}

/** Hash of int32 token ids in canonical form (stage 0's `inputActHash`). */
export function hashTokenIds(shape: number[], ids: Int32Array): Hex {
  return tensorHash(encodeTensor({ dtype: "int32", shape: [...shape], data: ids }));
}

/** Hash of a scalar float32 loss in canonical form (the last stage's `outputActHash`). */
export function hashScalarLoss(loss: number): Hex {
  return tensorHash(encodeTensor({ dtype: "float32", shape: [], data: new Float32Array([loss]) }));
}
