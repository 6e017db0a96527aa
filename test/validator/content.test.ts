import type { Libp2p } from "@libp2p/interface";
import { keccak256, toHex, zeroHash } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradRoot, weightsRoot } from "../../sdk/protocol/index.ts";
import { ContentMismatchError, ContentStore, float32FromBytes } from "../../worker/p2p/content.ts";
import { CONTENT_PROTOCOL, ContentUnavailableError, fetchContent, serveContent } from "../../worker/p2p/contentProtocol.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { encodeWireTensor } from "../../worker/p2p/wire.ts";
import { sampleIndices, sampleSize, samplingSeed } from "../../worker/validator/sampling.ts";

const nodes: Libp2p[] = [];
let miner: Libp2p;
let liar: Libp2p;
let validator: Libp2p;
const store = new ContentStore();
const addr = (n: Libp2p): string => n.getMultiaddrs()[0]?.toString() as string;

beforeAll(async () => {
  [miner, liar, validator] = await Promise.all([createPipeNode(), createPipeNode(), createPipeNode()]);
  nodes.push(miner, liar, validator);
  await serveContent(miner, store);
  // A peer that answers every request with bytes that are not the requested content.
  await liar.handle(CONTENT_PROTOCOL, async (stream) => {
    const body = new TextEncoder().encode("not the tensor");
    const header = new Uint8Array(5);
    new DataView(header.buffer).setUint32(1, body.length, true);
    stream.send(header);
    stream.send(body);
    await stream.close();
  });
});
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

describe("content-addressed fetch over /shardholder/fetch/1.0.0", () => {
  it("serves tensors, weights and gradients whose bytes match the requested key", async () => {
    const values = new Float32Array(5000).map((_, i) => Math.sin(i) * 0.01);
    const tensor = encodeWireTensor([2, 3], new Float32Array([1, -2, 3, 0.5, 0, -1]), "int8");
    const tensorKey = store.putTensor(tensor.bytes);
    const wKey = store.putWeights(values);
    const gKey = store.putGradient(values);
    expect([tensorKey, wKey, gKey]).toEqual([tensor.hash, weightsRoot(values), gradRoot(values)]);
    expect(await fetchContent({ node: validator, address: addr(miner), kind: "tensor", key: tensorKey })).toEqual(tensor.bytes);
    expect(float32FromBytes(await fetchContent({ node: validator, address: addr(miner), kind: "weights", key: wKey }))).toEqual(values);
    expect(float32FromBytes(await fetchContent({ node: validator, address: addr(miner), kind: "gradient", key: gKey }))).toEqual(values);
  });

  it("rejects bytes that do not hash to the key, absent or withheld content, and refuses to store mismatches", async () => {
    const key = keccak256(toHex("a tensor"));
    const err = await fetchContent({ node: validator, address: addr(liar), kind: "tensor", key }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentUnavailableError);
    expect((err as ContentUnavailableError).reason).toBe("mismatch");
    const absent = await fetchContent({ node: validator, address: addr(miner), kind: "tensor", key }).catch((e: unknown) => e);
    expect((absent as ContentUnavailableError).reason).toBe("not-found");
    const bytes = encodeWireTensor([1], new Float32Array([7]), "float32").bytes;
    const kept = store.putTensor(bytes);
    store.withheld.add(kept);
    const withheld = await fetchContent({ node: validator, address: addr(miner), kind: "tensor", key: kept }).catch((e: unknown) => e);
    expect((withheld as ContentUnavailableError).reason).toBe("not-found");
    expect(() => store.put("tensor", zeroHash, bytes)).toThrow(ContentMismatchError);
  });
});

describe("sampling", () => {
  it("samples ceil(f*n) >= 1 items, differently per block hash and per validator, reproducibly", () => {
    expect([sampleSize(0.05, 20), sampleSize(0.1, 20), sampleSize(0.2, 20), sampleSize(0.05, 4), sampleSize(1, 4)]).toEqual([
      1, 2, 4, 1, 4,
    ]);
    const indices = Array.from({ length: 64 }, (_, i) => i);
    const seed = (block: string, v: `0x${string}`) =>
      samplingSeed({ blockHash: keccak256(toHex(block)), validator: v, modelId: 1n, round: 3n });
    const a = sampleIndices(seed("b1", "0x0000000000000000000000000000000000000001"), zeroHash, indices, 0.1);
    expect(a).toEqual(sampleIndices(seed("b1", "0x0000000000000000000000000000000000000001"), zeroHash, indices, 0.1));
    expect(a.length).toBe(7);
    expect(new Set(a).size).toBe(7);
    expect(a).not.toEqual(sampleIndices(seed("b2", "0x0000000000000000000000000000000000000001"), zeroHash, indices, 0.1));
    expect(a).not.toEqual(sampleIndices(seed("b1", "0x0000000000000000000000000000000000000002"), zeroHash, indices, 0.1));
  });
});
