import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "./select.ts";
import { simdBatchMatMul, simdBatchMatMulSupports, simdKernelAvailable } from "./simd.ts";

/** The kernel's contract: per output, the float32 sum over k in increasing order. */
function sequentialReference(a: Float32Array, b: Float32Array, g: number, m: number, n: number, k: number): Float32Array {
  const c = new Float32Array(g * m * n);
  for (let x = 0; x < g; x++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++)
          s = Math.fround(s + Math.fround((a[(x * m + i) * k + t] as number) * (b[(x * k + t) * n + j] as number)));
        c[(x * m + i) * n + j] = s;
      }
  return c;
}

const values = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

beforeAll(async () => {
  await selectBackend({ backend: "wasm" });
});

describe("SIMD batched matmul kernel", () => {
  it("validates in this engine", () => {
    expect(simdKernelAvailable()).toBe(true);
  });

  it("equals the sequential float32 sum bit for bit, for several shapes", () => {
    for (const [g, m, n, k] of [
      [1, 1, 16, 1],
      [3, 5, 32, 7],
      [8, 64, 64, 32],
      [2, 17, 48, 64],
    ] as const) {
      const a = values(g * m * k, (i) => Math.sin(i * 1.3) * 2);
      const b = values(g * k * n, (i) => Math.cos(i * 0.7) - 0.25);
      const got = simdBatchMatMul(a, b, g, m, n, k);
      expect(Buffer.from(got.buffer).equals(Buffer.from(sequentialReference(a, b, g, m, n, k).buffer))).toBe(true);
    }
  });

  it("agrees with tfjs matMul to float32 rounding, and grows its memory for large inputs", () => {
    const [g, m, n, k] = [64, 64, 64, 64];
    const a = values(g * m * k, (i) => Math.sin(i));
    const b = values(g * k * n, (i) => Math.cos(i * 0.3));
    const want = tf.tidy(() => tf.matMul(tf.tensor3d(a, [g, m, k]), tf.tensor3d(b, [g, k, n])).dataSync() as Float32Array);
    const got = simdBatchMatMul(a, b, g, m, n, k);
    let num = 0;
    let den = 0;
    for (let i = 0; i < got.length; i++) {
      num += ((got[i] as number) - (want[i] as number)) ** 2;
      den += (want[i] as number) ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-6);
    expect(got.some((v) => v !== 0)).toBe(true);
  });

  it("rejects shapes it does not take", () => {
    expect(simdBatchMatMulSupports(16, 3)).toBe(true);
    expect(simdBatchMatMulSupports(12, 4)).toBe(false);
    expect(simdBatchMatMulSupports(0, 4)).toBe(false);
    expect(() => simdBatchMatMul(new Float32Array(12), new Float32Array(48), 1, 1, 12, 4)).toThrow(RangeError);
    expect(() => simdBatchMatMul(new Float32Array(3), new Float32Array(16), 1, 1, 16, 1)).toThrow(RangeError);
  });
});
