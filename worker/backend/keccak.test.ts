import { keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { encodeTensor, tensorHash, toInt8Tensor } from "../../sdk/protocol/tensorBytes.ts";
import { decodeWireTensor, encodeWireTensor, hashScalarLoss, hashTokenIds } from "../p2p/wire.ts";
import { fastKeccak256 } from "./keccak.ts";

describe("fastKeccak256 (hash-wasm)", () => {
  it("equals viem's keccak256 at every padding boundary and on large inputs", () => {
    expect(fastKeccak256(new Uint8Array())).toBe("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    for (const n of [1, 2, 55, 56, 134, 135, 136, 137, 271, 272, 273, 1000, 4096, 65554, 262158]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
      expect(fastKeccak256(bytes)).toBe(keccak256(bytes));
    }
    // Reuse after a large input (the module's memory grew) still hashes small inputs right.
    expect(fastKeccak256(new Uint8Array([0x61, 0x62, 0x63]))).toBe(keccak256(new Uint8Array([0x61, 0x62, 0x63])));
  });

  it("gives the wire the SDK's tensorHash (docs/PROTOCOL.md test vectors)", () => {
    const vector = toInt8Tensor([2, 2], new Float32Array([0.5, -1, 0.25, 0]));
    expect(fastKeccak256(encodeTensor(vector))).toBe("0xcb9a50e909acaa62afa70cf331c05b7c2461015240d87bd9b83949aea0624ded");
    const values = Float32Array.from({ length: 8 * 64 * 128 }, (_, i) => Math.sin(i) * 3);
    for (const format of ["int8", "float32"] as const) {
      const sent = encodeWireTensor([8, 64, 128], values, format);
      expect(sent.hash).toBe(tensorHash(sent.bytes));
      expect(decodeWireTensor(sent.bytes).hash).toBe(tensorHash(sent.bytes));
    }
    expect(hashTokenIds([2, 3], new Int32Array([0, 1, -1, 65, 66, 2147483647]))).toBe(
      "0x885611cfbb70766e29fed543ab57f1d9125d36cb72149fbc1ebc6d79453a9426",
    );
    expect(hashScalarLoss(3.25)).toBe(tensorHash(encodeTensor({ dtype: "float32", shape: [], data: new Float32Array([3.25]) })));
  });
});
