import { type Hex, keccak256 } from "viem";
import { BaseError } from "../errors/base.ts";

/**
 * A tensor in the canonical form that is hashed and sent on the wire (docs/PROTOCOL.md,
 * "Canonical tensor bytes"). Data is row-major; `shape` multiplies to `data.length`.
 */
export type CanonicalTensor =
  | { dtype: "float32"; shape: number[]; data: Float32Array }
  | { dtype: "int8"; shape: number[]; data: Int8Array; scale: number }
  | { dtype: "int32"; shape: number[]; data: Int32Array };

/** The dtype byte of each canonical dtype. */
export const dtypeCodes = { float32: 1, int8: 2, int32: 3 } as const;

/** Largest magnitude of a quantized value: symmetric int8 never uses -128. */
export const INT8_MAX_Q = 127;

/** Thrown for tensors or bytes that do not follow the canonical layout. */
export class TensorFormatError extends BaseError {
  constructor(reason: string) {
    super(`Invalid canonical tensor: ${reason}.`, { name: "TensorFormatError" });
  }
}

/**
 * Symmetric int8 quantization as specified: `scale = fround(max|x| / 127)`,
 * `q = clamp(roundHalfAwayFromZero(x / scale), -127, 127)`; an all-zero input (or one whose
 * scale rounds to 0 in float32) gives `scale = 0` and all-zero `q`.
 *
 * @example
 * const { scale, q } = quantizeInt8(new Float32Array([0.5, -1, 0.25]))
 * // scale = fround(1/127), q = [64, -127, 32]
 */
export function quantizeInt8(values: Float32Array): { scale: number; q: Int8Array } {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new TensorFormatError(`cannot quantize a non-finite value at ${i}: ${v}`);
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
  }
  const scale = Math.fround(maxAbs / INT8_MAX_Q);
  const q = new Int8Array(values.length);
  if (scale === 0) return { scale: 0, q };
  for (let i = 0; i < values.length; i++) {
    const r = (values[i] as number) / scale;
    // Math.round rounds .5 up; applying it to |r| makes it round half away from zero.
    const rounded = Math.sign(r) * Math.round(Math.abs(r));
    q[i] = rounded > INT8_MAX_Q ? INT8_MAX_Q : rounded < -INT8_MAX_Q ? -INT8_MAX_Q : rounded;
  }
  return { scale, q };
}

/**
 * Inverse of {@link quantizeInt8}: `value = q * scale`, rounded to float32.
 *
 * @example
 * const x = dequantizeInt8(q, scale)
 */
export function dequantizeInt8(q: Int8Array, scale: number): Float32Array {
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i] as number) * scale;
  return out;
}

/** Quantizes float32 values of the given shape into a canonical int8 tensor. */
export function toInt8Tensor(shape: number[], values: Float32Array): CanonicalTensor {
  const { scale, q } = quantizeInt8(values);
  return { dtype: "int8", shape: [...shape], data: q, scale };
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new TensorFormatError(`bad dimension ${d}`);
    n *= d;
  }
  return n;
}

/** Copies 4-byte elements as little-endian bytes into `out` at `offset`. */
function writeWords(out: Uint8Array, offset: number, data: Float32Array | Int32Array): void {
  if (hostIsLittleEndian) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, data.length * 4);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i] as number, true);
    else view.setInt32(i * 4, data[i] as number, true);
  }
}

/**
 * Serializes a tensor into its canonical bytes:
 * `u8 dtype | u8 rank | u32 LE shape[rank] | (f32 LE scale, int8 only) | row-major data (LE)`.
 *
 * @example
 * const bytes = encodeTensor({ dtype: "int32", shape: [2], data: new Int32Array([1, 2]) })
 * // 0x0301020000000100000002000000
 */
export function encodeTensor(t: CanonicalTensor): Uint8Array {
  const rank = t.shape.length;
  if (rank > 255) throw new TensorFormatError(`rank ${rank} exceeds 255`);
  const n = elementCount(t.shape);
  if (n !== t.data.length) throw new TensorFormatError(`shape [${t.shape}] has ${n} elements, data has ${t.data.length}`);
  const header = 2 + 4 * rank + (t.dtype === "int8" ? 4 : 0);
  const bytesPerElement = t.dtype === "int8" ? 1 : 4;
  const out = new Uint8Array(header + n * bytesPerElement);
  const view = new DataView(out.buffer);
  out[0] = dtypeCodes[t.dtype];
  out[1] = rank;
  t.shape.forEach((d, i) => view.setUint32(2 + 4 * i, d, true));
  if (t.dtype === "int8") {
    if (!Number.isFinite(t.scale) || t.scale < 0) throw new TensorFormatError(`bad scale ${t.scale}`);
    view.setFloat32(2 + 4 * rank, t.scale, true);
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), header);
  } else {
    writeWords(out, header, t.data);
  }
  return out;
}

/**
 * Parses canonical tensor bytes; rejects unknown dtypes and any length mismatch, so that
 * exactly one byte string decodes to each tensor.
 *
 * @example
 * const t = decodeTensor(bytes) // { dtype: "int32", shape: [2], data: Int32Array [1, 2] }
 */
export function decodeTensor(bytes: Uint8Array): CanonicalTensor {
  if (bytes.length < 2) throw new TensorFormatError("tensor bytes shorter than the header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = bytes[0];
  const rank = bytes[1] as number;
  const scaleBytes = code === dtypeCodes.int8 ? 4 : 0;
  const header = 2 + 4 * rank + scaleBytes;
  if (bytes.length < header) throw new TensorFormatError("tensor bytes shorter than the header");
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(2 + 4 * i, true));
  const n = elementCount(shape);
  const bytesPerElement = code === dtypeCodes.int8 ? 1 : 4;
  if (code !== dtypeCodes.float32 && code !== dtypeCodes.int8 && code !== dtypeCodes.int32)
    throw new TensorFormatError(`unknown dtype byte ${code}`);
  if (bytes.length !== header + n * bytesPerElement)
    throw new TensorFormatError(`expected ${header + n * bytesPerElement} bytes for shape [${shape}], got ${bytes.length}`);
  if (code === dtypeCodes.int8) {
    const scale = view.getFloat32(2 + 4 * rank, true);
    if (!Number.isFinite(scale) || scale < 0) throw new TensorFormatError(`bad scale ${scale}`);
    return { dtype: "int8", shape, data: new Int8Array(bytes.slice(header)), scale };
  }
  const data = code === dtypeCodes.float32 ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = header + 4 * i;
    data[i] = code === dtypeCodes.float32 ? view.getFloat32(at, true) : view.getInt32(at, true);
  }
  return code === dtypeCodes.float32
    ? { dtype: "float32", shape, data: data as Float32Array }
    : { dtype: "int32", shape, data: data as Int32Array };
}

/**
 * `keccak256` of canonical tensor bytes: the hash that goes into commitment leaves.
 *
 * @example
 * const h = tensorHash(encodeTensor(t))
 */
export function tensorHash(bytes: Uint8Array): Hex {
  return keccak256(bytes);
}

/** Convenience: `tensorHash(encodeTensor(t))`. */
export function hashTensor(t: CanonicalTensor): Hex {
  return tensorHash(encodeTensor(t));
}
