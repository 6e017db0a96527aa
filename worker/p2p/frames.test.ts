import { readFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";
import { bytesToHex, hexToBytes, keccak256 } from "viem";
import { describe, expect, it } from "vitest";
import { FrameFormatError } from "./errors.ts";
import {
  decodeFrameBody,
  encodeFrame,
  type Frame,
  FrameDecoder,
  FRAME_HEADER_BYTES,
  FRAME_SIGNATURE_BYTES,
  LENGTH_PREFIX_BYTES,
  servingFrameLimits,
  tensorFrameLimits,
} from "./frames.ts";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { adaptivePacker, encodeTargets, encodeWireTensor, packPayload, payloadCodecs, tensorHeader } from "./wire.ts";

/** Deterministic pseudo-noise in [-1, 1) (xorshift32), so the tests need no random seed. */
function noise(n: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 31 - 1;
  });
}

/** Residual-stream-like activations [B, T, d]: each channel has its own offset and spread. */
function activationBytes(): Uint8Array {
  const [b, t, d] = [4, 32, 64];
  const n = noise(b * t * d, 7);
  const values = n.map((v, i) => {
    const c = i % d;
    return Math.sin(c) * 3 + v * (0.2 + (c % 8) * 0.1);
  });
  return encodeWireTensor([b, t, d], values, "int8").bytes;
}

/** Gradient-like int8 tensor: most rows tiny, a few large. */
function gradientBytes(): Uint8Array {
  const [b, t, d] = [4, 32, 64];
  const values = noise(b * t * d, 11).map((v, i) => v * (Math.floor(i / d) % 16 === 0 ? 1 : 0.01));
  return encodeWireTensor([b, t, d], values, "int8").bytes;
}

/** Target ids `[b, t]` below 95 (a char vocabulary), as int32 canonical bytes. */
function targetBytes(b: number, t: number, seed = 1): Uint8Array {
  return encodeTargets(
    [b, t],
    Int32Array.from(noise(b * t, seed), (v) => Math.floor((v + 1) * 47)),
  );
}

/** An activation payload: the activation's canonical bytes, then its targets `[B, T]`. */
function withTargets(activation: Uint8Array, targets: Uint8Array): Uint8Array {
  const out = new Uint8Array(activation.length + targets.length);
  out.set(activation, 0);
  out.set(targets, activation.length);
  return out;
}

/** {@link activationBytes} with targets [4, 32]: what a training activation frame carries. */
const activationPayload = (): Uint8Array => withTargets(activationBytes(), targetBytes(4, 32));

const bodyOf = (bytes: Uint8Array): Uint8Array => bytes.subarray(LENGTH_PREFIX_BYTES);

const frames: Frame[] = [
  // Tensor frames carry canonical tensor bytes: an activation payload (float32 [1,1,1] then int32
  // targets [1,1]: 18 + 14 bytes) and an empty vector.
  {
    kind: "activation",
    round: 0xfedcba9876543210n,
    microbatch: 7,
    payload: withTargets(
      encodeTensor({ dtype: "float32", shape: [1, 1, 1], data: new Float32Array([1.5]) }),
      encodeTargets([1, 1], new Int32Array([7])),
    ),
  },
  {
    kind: "gradient",
    round: 3n,
    microbatch: 0xffffffff,
    payload: encodeTensor({ dtype: "float32", shape: [0], data: new Float32Array(0) }),
  },
  { kind: "hello", round: 0n, microbatch: 0, payload: new TextEncoder().encode('{"stage":0}') },
];

/** A stand-in serving signature (the frame layer carries it; the serving layer checks it). */
const SIGNATURE = Uint8Array.from({ length: FRAME_SIGNATURE_BYTES }, (_, i) => (i * 7 + 1) & 0xff);

describe("pipe frames", () => {
  it("servingFrames_carryTheSignatureAfterThePayload_controlFramesRoundTrip", () => {
    const begin: Frame = { kind: "inferBegin", round: 42n, microbatch: 12, payload: hexToBytes(keccak256("0x01")), signature: SIGNATURE };
    const bytes = encodeFrame(begin);
    expect(bytes.length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + 32 + FRAME_SIGNATURE_BYTES);
    expect(bytes[4]).toBe(6);
    expect(bytes.subarray(bytes.length - FRAME_SIGNATURE_BYTES)).toEqual(SIGNATURE);
    const limits = servingFrameLimits(16, 8);
    expect(decodeFrameBody(bodyOf(bytes), limits)).toEqual(begin);
    const token: Frame = { kind: "inferToken", round: 42n, microbatch: 3, payload: Uint8Array.of(5, 0, 0, 0), signature: SIGNATURE };
    expect(decodeFrameBody(bodyOf(encodeFrame(token)), limits)).toEqual(token);
    // A commitment carries its own EIP-712 signature in its payload: no frame trailer.
    const commitment: Frame = { kind: "inferCommitment", round: 42n, microbatch: 2, payload: new Uint8Array(164).fill(9) };
    const c = encodeFrame(commitment);
    expect(c.length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + 164);
    expect(c[4]).toBe(7);
    expect(decodeFrameBody(bodyOf(c), limits)).toEqual(commitment);
  });

  it("servingFrames_withoutTheirSignature_areRefused_andTrainingFramesCarryNone", () => {
    const payload = Uint8Array.of(5, 0, 0, 0);
    expect(() => encodeFrame({ kind: "inferToken", round: 1n, microbatch: 0, payload })).toThrow(FrameFormatError);
    expect(() => encodeFrame({ kind: "inferToken", round: 1n, microbatch: 0, payload, signature: SIGNATURE.subarray(1) })).toThrow(
      /64-byte signature/,
    );
    expect(() => encodeFrame({ kind: "gradient", round: 1n, microbatch: 0, payload, signature: SIGNATURE })).toThrow(
      /carries no signature/,
    );
    // A peer that sends a token without its trailer: the body is too short to hold one.
    const body = bodyOf(encodeFrame({ kind: "hello", round: 1n, microbatch: 0, payload }));
    body[0] = 5;
    expect(() => decodeFrameBody(body)).toThrow(/no room for its signature/);
    // A serving link refuses training kinds.
    const gradient = encodeFrame({
      kind: "gradient",
      round: 1n,
      microbatch: 0,
      payload: encodeWireTensor([1, 2, 8], noise(16, 1), "float32").bytes,
    });
    expect(() => decodeFrameBody(bodyOf(gradient), servingFrameLimits(16, 8))).toThrow(/not accepted here/);
  });

  it("encode_prefixesLengthAndHeader_littleEndian", () => {
    const bytes = encodeFrame(frames[0] as Frame);
    expect(bytes.length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + 32);
    expect([...bytes.subarray(0, 4)]).toEqual([45, 0, 0, 0]);
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

  it("adaptivePacker_stopsTryingWhenCompressionDoesNotPay_thenProbesAgain_andKeepsCompressingWhenItDoes", () => {
    const incompressible = encodeWireTensor([64, 64], noise(4096, 5), "int8").bytes;
    const pack = adaptivePacker({ window: 4, minSaving: 0.1, pause: 3 });
    // Four tries that save nothing, then three frames sent as they are without trying, then a probe.
    const codecs = Array.from({ length: 9 }, () => pack(incompressible));
    expect(codecs.every((c) => c.codec === "none" && c.bytes === incompressible)).toBe(true);
    const compressible = gradientBytes();
    const probing = adaptivePacker({ window: 4, minSaving: 0.1, pause: 3 });
    for (let i = 0; i < 4; i++) probing(incompressible);
    for (let i = 0; i < 3; i++) expect(probing(compressible).codec).toBe("none"); // paused
    for (let i = 0; i < 12; i++) expect(probing(compressible)).toEqual(packPayload(compressible)); // probes, pays, keeps going
    // Whatever it chose decodes to the same frame.
    const frame: Frame = { kind: "gradient", round: 1n, microbatch: 2, payload: compressible };
    expect(decodeFrameBody(bodyOf(encodeFrame(frame, adaptivePacker())))).toEqual(frame);
  });

  it("encode_compressesTensorFramesLosslessly_choosingTheSmallestCodec", () => {
    const cases = [
      { payload: activationBytes(), codec: "channelDeflate" },
      { payload: gradientBytes(), codec: "deflate" },
      { payload: encodeWireTensor([16, 64], noise(1024, 3), "float32").bytes, codec: "deflate" },
      { payload: encodeWireTensor([64, 64], noise(4096, 5), "int8").bytes, codec: "none" },
      // Not canonical tensor bytes (unknown dtype byte 0): never compressed, however compressible.
      { payload: new Uint8Array(64 * 1024), codec: "none" },
    ] as const;
    for (const { payload, codec } of cases) {
      expect(packPayload(payload).codec).toBe(codec);
      for (const kind of ["gradient", "inferActivation"] as const) {
        const trailer = kind === "inferActivation" ? FRAME_SIGNATURE_BYTES : 0;
        const frame: Frame = { kind, round: 9n, microbatch: 3, payload, ...(trailer ? { signature: SIGNATURE } : {}) };
        const bytes = encodeFrame(frame);
        expect(bytes[4]).toBe((payloadCodecs[codec] << 4) | ((bytes[4] as number) & 0x0f));
        if (codec === "none") expect(bytes.length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + payload.length + trailer);
        else expect(bytes.length).toBeLessThan(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + payload.length + trailer);
        // A receiver refuses tensor frames that are not canonical tensor bytes.
        if (payload[0] === 0) {
          expect(() => decodeFrameBody(bodyOf(bytes))).toThrow(/does not carry canonical tensor bytes/);
          continue;
        }
        const decoded = decodeFrameBody(bodyOf(bytes));
        expect(decoded).toEqual(frame);
        expect(Buffer.from(decoded.payload).equals(Buffer.from(payload))).toBe(true);
      }
      if (payload[0] === 0) continue;
      // The same tensor as an activation payload (targets after it) restores exactly too, never larger than raw.
      const [b, t] = tensorHeader(payload)?.shape as [number, number];
      const act: Frame = { kind: "activation", round: 9n, microbatch: 3, payload: withTargets(payload, targetBytes(b, t)) };
      const bytes = encodeFrame(act);
      expect(bytes.length).toBeLessThanOrEqual(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + act.payload.length);
      expect(decodeFrameBody(bodyOf(bytes))).toEqual(act);
    }
    // A training activation frame (activation then targets) keeps the channel coder's gain.
    const carried = activationPayload();
    expect(packPayload(carried).codec).toBe("channelDeflate");
    expect(carried.length / packPayload(carried).bytes.length).toBeGreaterThan(1.3);
    expect(
      decodeFrameBody(
        bodyOf(encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload: carried })),
        tensorFrameLimits([4, 32, 64], { targetVocab: 95 }),
      ).payload,
    ).toEqual(carried);
    // Activations with per-channel offsets: the channel coder beats plain DEFLATE clearly.
    const act = activationBytes();
    expect(act.length / packPayload(act).bytes.length).toBeGreaterThan(1.3);
    expect(packPayload(act).bytes.length).toBeLessThan(0.85 * deflateRawSync(act, { level: 9 }).length);
    // Hello frames are never compressed, however compressible.
    const hello: Frame = { kind: "hello", round: 0n, microbatch: 0, payload: new Uint8Array(4096).fill(32) };
    expect(encodeFrame(hello).length).toBe(LENGTH_PREFIX_BYTES + FRAME_HEADER_BYTES + 4096);
    expect(new FrameDecoder().push(encodeFrame(hello))).toEqual([hello]);
  });

  it("decoder_rejectsGarbledTruncatedAndOversizedCompressedPayloads", () => {
    const act = encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload: activationPayload() });
    const grad = encodeFrame({ kind: "gradient", round: 1n, microbatch: 0, payload: gradientBytes() });
    expect((act[4] as number) >> 4).toBe(payloadCodecs.channelDeflate);
    expect((grad[4] as number) >> 4).toBe(payloadCodecs.deflate);
    const reject = (body: Uint8Array, max?: number) => expect(() => decodeFrameBody(body, max)).toThrow(FrameFormatError);
    for (const frame of [act, grad]) {
      // Truncated inside the compressed stream (the length prefix adjusted, so the frame is whole).
      reject(bodyOf(frame).subarray(0, bodyOf(frame).length - 40));
      // Garbled compressed bytes.
      const garbled = bodyOf(frame).slice();
      for (let i = garbled.length - 200; i < garbled.length; i += 3) garbled[i] = (garbled[i] as number) ^ 0x5a;
      reject(garbled);
      // Restores to more than the receiver accepts.
      reject(bodyOf(frame), 1000);
    }
    // Unknown codec nibble, and a compressed codec on a hello frame.
    const unknown = bodyOf(act).slice();
    unknown[0] = (7 << 4) | 1;
    reject(unknown);
    const compressedHello = bodyOf(act).slice();
    compressedHello[0] = (payloadCodecs.channelDeflate << 4) | 3;
    reject(compressedHello);
    // channelDeflate whose channel order is not a permutation (channel 0 listed twice).
    const permuted = bodyOf(act).slice();
    const header = FRAME_HEADER_BYTES + 2 + 4 * 3 + 4;
    const channels = 64;
    permuted[header + channels + 2] = permuted[header + channels] as number;
    permuted[header + channels + 3] = permuted[header + channels + 1] as number;
    reject(permuted);
    // Cut inside the channel table.
    reject(bodyOf(act).subarray(0, header + channels));
    // The stream decoder surfaces the same typed error.
    const stream = act.slice();
    stream[LENGTH_PREFIX_BYTES] = (7 << 4) | 1;
    expect(() => new FrameDecoder().push(stream)).toThrow(FrameFormatError);
  });

  it("decodeFrameBody_compressionBomb_isRejectedAfterInflatingNoMoreThanTheLimit", () => {
    // The reported attack: a ~65 KB frame that inflates to 64 MiB. A receiver that expects
    // [16, 64, 128] tensors stops inflating just past that tensor's float32 size (512 KiB)
    // instead of the old 256 MiB ceiling.
    const bomb = deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    const body = new Uint8Array(FRAME_HEADER_BYTES + bomb.length);
    body[0] = (payloadCodecs.deflate << 4) | 1;
    body.set(bomb, FRAME_HEADER_BYTES);
    const limits = tensorFrameLimits([16, 64, 128]);
    expect(body.length).toBeLessThan(limits.maxFrameBytes);
    const prefixed = new Uint8Array(LENGTH_PREFIX_BYTES + body.length);
    new DataView(prefixed.buffer).setUint32(0, body.length, true);
    prefixed.set(body, LENGTH_PREFIX_BYTES);
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 16; i++) expect(() => new FrameDecoder(limits).push(prefixed)).toThrow(/does not inflate/);
    // 16 bombs would be 1 GiB inflated; bounded, they cost nothing that stays.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it("decodeFrameBody_tensorOfAnotherShapeOrDtype_isRejected_beforeInflatingWhereTheHeaderIsClear", () => {
    const limits = tensorFrameLimits([4, 32, 64]);
    const ok = encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload: activationPayload() });
    expect(decodeFrameBody(bodyOf(ok), limits).payload).toEqual(activationPayload());
    const wide = encodeWireTensor([4, 32, 65], noise(4 * 32 * 65, 3), "int8").bytes;
    for (const payload of [
      wide,
      encodeWireTensor([4, 32, 65], noise(4 * 32 * 65, 3), "float32").bytes,
      encodeTensor({ dtype: "int32", shape: [4, 32, 64], data: new Int32Array(4 * 32 * 64) }),
    ]) {
      const frame = encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload });
      expect(() => decodeFrameBody(bodyOf(frame), limits)).toThrow(FrameFormatError);
    }
    // channelDeflate keeps the tensor header in the clear: a huge claimed shape fails before any inflation.
    const lying = bodyOf(encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload: activationPayload() })).slice();
    expect((lying[0] as number) >> 4).toBe(payloadCodecs.channelDeflate);
    new DataView(lying.buffer).setUint32(FRAME_HEADER_BYTES + 2, 1 << 30, true);
    expect(() => decodeFrameBody(lying, limits)).toThrow(/exceeds|not expected/);
    // A truncated plain tensor (length disagrees with its shape).
    const plain = encodeFrame({
      kind: "gradient",
      round: 1n,
      microbatch: 0,
      payload: encodeWireTensor([4, 32, 64], noise(8192, 1), "int8").bytes,
    });
    expect(() => decodeFrameBody(bodyOf(plain).subarray(0, bodyOf(plain).length - 1), limits)).toThrow(FrameFormatError);
    // Gradients are one tensor: targets (or anything) after it are refused.
    const padded = encodeFrame({ kind: "gradient", round: 1n, microbatch: 0, payload: activationPayload() });
    expect(() => decodeFrameBody(bodyOf(padded), limits)).toThrow(/more than one tensor/);
    // Before authentication a link reads only the hello kind.
    expect(() => decodeFrameBody(bodyOf(ok), { ...limits, kinds: new Set(["hello"]) })).toThrow(/not accepted here/);
  });

  it("decodeFrameBody_activationTargetsMissingOfTheWrongShapeDtypeOrVocab_isRejected", () => {
    const limits = tensorFrameLimits([4, 32, 64], { targetVocab: 95 });
    const act = activationBytes();
    const floatTargets = encodeTensor({ dtype: "float32", shape: [4, 32], data: new Float32Array(128) });
    const outOfVocab = encodeTargets([4, 32], new Int32Array(128).fill(95));
    const negative = encodeTargets([4, 32], new Int32Array(128).fill(-1));
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["no targets", act, /carries no targets/],
      ["targets [4, 31]", withTargets(act, targetBytes(4, 31)), /do not match the activation/],
      ["targets [32, 4]", withTargets(act, targetBytes(32, 4)), /do not match the activation/],
      ["targets [4, 32, 1]", withTargets(act, encodeTargets([4, 32, 1], new Int32Array(128))), /do not match the activation/],
      ["float32 targets", withTargets(act, floatTargets), /not laid out/],
      ["a byte too many", withTargets(activationPayload(), new Uint8Array(1)), /not laid out/],
      ["a byte too few", activationPayload().subarray(0, activationPayload().length - 1), /not laid out/],
      ["id 95 of a 95-token vocabulary", withTargets(act, outOfVocab), /outside the vocabulary/],
      ["id -1", withTargets(act, negative), /outside the vocabulary/],
    ];
    for (const [name, payload, why] of cases) {
      const body = bodyOf(encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload }));
      expect(() => decodeFrameBody(body, limits), name).toThrow(why);
    }
    // Without a vocabulary bound any int32 id passes the frame layer (the loss takes what it is given).
    expect(
      decodeFrameBody(
        bodyOf(encodeFrame({ kind: "activation", round: 1n, microbatch: 0, payload: withTargets(act, outOfVocab) })),
        tensorFrameLimits([4, 32, 64]),
      ).kind,
    ).toBe("activation");
  });

  it("matches the pipe frame test vectors of docs/PROTOCOL.md byte for byte", () => {
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const vectors: Array<[Frame, string]> = [
      [
        { kind: "hello", round: 0n, microbatch: 1, payload: utf8('{"round":"5"}') },
        "0x1a000000030000000000000000010000007b22726f756e64223a2235227d",
      ],
      [
        {
          kind: "activation",
          round: 2n,
          microbatch: 1,
          payload: withTargets(
            encodeTensor({ dtype: "float32", shape: [1, 1, 3], data: new Float32Array([1, -0.5, 3.25]) }),
            encodeTargets([1, 1], new Int32Array([66])),
          ),
        },
        "0x350000000102000000000000000100000001030100000001000000030000000000803f000000bf000050400302010000000100000042000000",
      ],
    ];
    const doc = readFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url), "utf8");
    // The activation payload's own bytes and hash (outputActHash of s, inputActHash of s+1).
    const payload = (vectors[1]?.[0] as Frame).payload;
    expect(bytesToHex(payload)).toBe("0x01030100000001000000030000000000803f000000bf000050400302010000000100000042000000");
    expect(keccak256(payload)).toBe("0x1a27b755132f5f398edb762e6188d318b4e3f1e08cf8e9c0d86ed103d93ac6df");
    expect(doc).toContain(bytesToHex(payload));
    expect(doc).toContain(keccak256(payload));
    for (const [frame, hex] of vectors) {
      expect(bytesToHex(encodeFrame(frame))).toBe(hex);
      expect(new FrameDecoder().push(hexToBytes(hex as `0x${string}`))).toEqual([frame]);
      expect(doc).toContain(hex);
    }
  });
});
