import { bytesToHex, hexToBytes, keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import {
  type CanonicalTensor,
  decodeTensor,
  dequantizeInt8,
  encodeTensor,
  hashTensor,
  quantizeInt8,
  TensorFormatError,
  tensorHash,
  toInt8Tensor,
} from "./tensorBytes.ts";

/** Deterministic pseudo-random floats (xorshift), so failures reproduce. */
function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 0xffffffff - 0.5) * 7;
  }
  return out;
}

describe("quantizeInt8", () => {
  it("rounds half away from zero with scale max|x|/127", () => {
    const { scale, q } = quantizeInt8(new Float32Array([127, 0.5, -0.5, 1.5, -2.5, 126.5]));
    expect(scale).toBe(1);
    expect([...q]).toEqual([127, 1, -1, 2, -3, 127]);
  });

  it("stores the scale as float32 and maps the extreme to +-127", () => {
    const { scale, q } = quantizeInt8(new Float32Array([0.5, -1, 0.25]));
    expect(scale).toBe(Math.fround(1 / 127));
    expect([...q]).toEqual([64, -127, 32]);
  });

  it("encodes an all-zero tensor with scale 0", () => {
    const { scale, q } = quantizeInt8(new Float32Array(5));
    expect(scale).toBe(0);
    expect([...q]).toEqual([0, 0, 0, 0, 0]);
  });

  it("rejects non-finite values", () => {
    expect(() => quantizeInt8(new Float32Array([1, Number.NaN]))).toThrow(TensorFormatError);
    expect(() => quantizeInt8(new Float32Array([Number.POSITIVE_INFINITY]))).toThrow(TensorFormatError);
  });

  it("round-trips within half a quantization step", () => {
    const x = randomFloats(5000, 7);
    const { scale, q } = quantizeInt8(x);
    const y = dequantizeInt8(q, scale);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
    expect(worst).toBeLessThanOrEqual(scale / 2 + 1e-6);
    expect(worst).toBeGreaterThan(0);
  });
});

describe("encodeTensor / decodeTensor", () => {
  // Fixed vectors: a reimplementation must produce these bytes and hashes exactly.
  const vectors: Array<{ name: string; tensor: CanonicalTensor; hex: string; hash: string }> = [
    {
      name: "int32 [2,3]",
      tensor: { dtype: "int32", shape: [2, 3], data: new Int32Array([0, 1, -1, 65, 66, 2147483647]) },
      hex: "0x030202000000030000000000000001000000ffffffff4100000042000000ffffff7f",
      hash: "0x885611cfbb70766e29fed543ab57f1d9125d36cb72149fbc1ebc6d79453a9426",
    },
    {
      name: "float32 [3]",
      tensor: { dtype: "float32", shape: [3], data: new Float32Array([1, -0.5, 3.25]) },
      hex: "0x0101030000000000803f000000bf00005040",
      hash: "0x63ab5597e649260de43cba000fe376b7fbe4dc0eaa4260c0b8d82d78df4b5ab8",
    },
    {
      name: "int8 [2,2] from [0.5,-1,0.25,0]",
      tensor: toInt8Tensor([2, 2], new Float32Array([0.5, -1, 0.25, 0])),
      hex: "0x020202000000020000000402013c40812000",
      hash: "0xcb9a50e909acaa62afa70cf331c05b7c2461015240d87bd9b83949aea0624ded",
    },
  ];

  for (const v of vectors) {
    it(`matches the fixed vector for ${v.name}`, () => {
      const bytes = encodeTensor(v.tensor);
      expect(bytesToHex(bytes)).toBe(v.hex);
      expect(tensorHash(bytes)).toBe(v.hash);
      expect(hashTensor(v.tensor)).toBe(keccak256(hexToBytes(v.hex as `0x${string}`)));
      expect(decodeTensor(bytes)).toEqual(v.tensor);
    });
  }

  it("round-trips random tensors of every dtype, including views into larger buffers", () => {
    const big = randomFloats(64, 3);
    const view = big.subarray(8, 8 + 24);
    const tensors: CanonicalTensor[] = [
      { dtype: "float32", shape: [2, 3, 4], data: view },
      toInt8Tensor([4, 6], view),
      { dtype: "int32", shape: [24], data: new Int32Array(view.length).map((_, i) => i * 1_000_003 - 7) },
      { dtype: "float32", shape: [], data: new Float32Array([2.5]) },
    ];
    for (const t of tensors) {
      const back = decodeTensor(encodeTensor(t));
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect([...back.data]).toEqual([...t.data]);
    }
  });

  it("rejects data that does not match the shape", () => {
    expect(() => encodeTensor({ dtype: "float32", shape: [2, 2], data: new Float32Array(3) })).toThrow(/4 elements/);
  });

  it("rejects malformed bytes: unknown dtype, short, trailing, bad scale", () => {
    const good = encodeTensor({ dtype: "int32", shape: [1], data: new Int32Array([5]) });
    expect(() => decodeTensor(Uint8Array.from([9, ...good.slice(1)]))).toThrow(/dtype/);
    expect(() => decodeTensor(good.slice(0, good.length - 1))).toThrow(TensorFormatError);
    expect(() => decodeTensor(Uint8Array.from([...good, 0]))).toThrow(TensorFormatError);
    expect(() => decodeTensor(Uint8Array.from([2, 1, 1, 0, 0, 0, 0, 0, 0x80, 0xbf, 1]))).toThrow(/scale/);
  });
});
