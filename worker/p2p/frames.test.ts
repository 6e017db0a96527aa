import { describe, expect, it } from "vitest";
import { FrameFormatError } from "./errors.ts";
import { decodeFrameBody, encodeFrame, type Frame, FrameDecoder, FRAME_HEADER_BYTES, LENGTH_PREFIX_BYTES } from "./frames.ts";

const frames: Frame[] = [
  { kind: "activation", round: 0xfedcba9876543210n, microbatch: 7, payload: new Uint8Array([1, 2, 3, 4, 5]) },
  { kind: "gradient", round: 3n, microbatch: 0xffffffff, payload: new Uint8Array(0) },
  { kind: "hello", round: 0n, microbatch: 0, payload: new TextEncoder().encode('{"stage":0}') },
];

describe("pipe frames", () => {
  it("encode_prefixesLengthAndHeader_littleEndian", () => {
    const bytes = encodeFrame(frames[0] as Frame);
    expect(bytes.length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + 5);
    expect([...bytes.subarray(0, 4)]).toEqual([18, 0, 0, 0]);
    expect(bytes[4]).toBe(1);
    expect([...bytes.subarray(5, 13)]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
    expect([...bytes.subarray(13, 17)]).toEqual([7, 0, 0, 0]);
    expect(decodeFrameBody(bytes.subarray(4))).toEqual(frames[0]);
  });

  it("decoder_reassemblesFramesSplitAtEveryByte", () => {
    const stream = new Uint8Array(frames.flatMap((f) => [...encodeFrame(f)]));
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder();
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(out).toEqual(frames);
      expect(decoder.pendingBytes).toBe(0);
    }
    const byteByByte = new FrameDecoder();
    const out: Frame[] = [];
    for (const b of stream) out.push(...byteByByte.push(new Uint8Array([b])));
    expect(out).toEqual(frames);
  });

  it("decoder_rejectsUnknownKindAndAbsurdLengths", () => {
    const bad = encodeFrame(frames[0] as Frame);
    bad[4] = 9;
    expect(() => new FrameDecoder().push(bad)).toThrow(FrameFormatError);
    expect(() => new FrameDecoder(100).push(new Uint8Array([0xff, 0xff, 0, 0]))).toThrow(FrameFormatError);
    expect(() => new FrameDecoder().push(new Uint8Array([3, 0, 0, 0]))).toThrow(FrameFormatError);
  });

  it("encode_rejectsOutOfRangeIds", () => {
    expect(() => encodeFrame({ kind: "activation", round: -1n, microbatch: 0, payload: new Uint8Array() })).toThrow(FrameFormatError);
    expect(() => encodeFrame({ kind: "activation", round: 1n << 64n, microbatch: 0, payload: new Uint8Array() })).toThrow(FrameFormatError);
    expect(() => encodeFrame({ kind: "activation", round: 0n, microbatch: 1.5, payload: new Uint8Array() })).toThrow(FrameFormatError);
  });
});
