import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { zeroAddress, zeroHash } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { contentMatches, ContentStore, decodeManifest, type ItemsManifest, RING_SIZE } from "./content.ts";
import { directoryContentBackend } from "./contentDisk.ts";
import { loadOrCreatePeerKey, PeerKeyFileError } from "./identity.ts";
import { storeRoundContent } from "./contentCapture.ts";
import { itemsTree, weightsRoot } from "../../sdk/protocol/index.ts";

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const d = await mkdtemp(path.join(tmpdir(), "content-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** One round's content as a stage stores it: 4 activations, 4 gradients, weights and a manifest. */
function fillRound(store: ContentStore, round: bigint): ItemsManifest {
  store.enterRound(round);
  for (let m = 0; m < 4; m++) {
    const act = encodeTensor({
      dtype: "float32",
      shape: [256],
      data: Float32Array.from({ length: 256 }, (_, i) => Number(round) * 1000 + m * 10 + i),
    });
    store.putTensor(act, round);
  }
  const weights = Float32Array.from({ length: 1024 }, (_, i) => Number(round) + i / 1024);
  storeRoundContent(store, {
    round,
    stepWeights: [{ root: weightsRoot(weights), weights }],
    gradients: [0, 1, 2, 3].map((m) => Float32Array.from({ length: 1024 }, (_, i) => Number(round) * m + i)),
    losses: [Number(round)],
  });
  const items = [0, 1].map((index) => ({
    index,
    microbatch: index,
    upstream: zeroAddress,
    downstream: zeroAddress,
    inputActHash: zeroHash,
    outputActHash: zeroHash,
    upstreamGradHash: zeroHash,
    inputGradHash: zeroHash,
    gradRoot: `0x${(Number(round) * 2 + index + 1).toString(16).padStart(64, "0")}` as const,
    weightsRoot: zeroHash,
  }));
  const root = itemsTree(items).root;
  const manifest: ItemsManifest = {
    commitment: {
      modelId: 1n,
      round,
      stage: 0,
      worker: "0x00000000000000000000000000000000000000aa",
      itemsRoot: root,
      itemCount: 2,
      weightsRootBefore: zeroHash,
      weightsRootAfter: zeroHash,
    },
    signature: `0x${"11".repeat(65)}`,
    items,
  };
  store.putManifest(manifest);
  return manifest;
}

describe("content store", () => {
  it("contentStore_manyRounds_holdsAtMostKeepRoundsPlusOne_andEvictsTheOldest", () => {
    const store = new ContentStore();
    const perRound = 4 + 4 + 1 + 1 + 1; // activations, gradients, loss, weights, manifest
    const manifests: ItemsManifest[] = [];
    for (let r = 0n; r < 200n; r++) {
      manifests.push(fillRound(store, r));
      expect(store.size).toBeLessThanOrEqual((RING_SIZE + 1) * perRound);
      expect(store.rounds.length).toBeLessThanOrEqual(RING_SIZE + 1);
    }
    expect(store.rounds).toEqual(Array.from({ length: RING_SIZE + 1 }, (_, i) => 200n - BigInt(RING_SIZE + 1) + BigInt(i)));
    // The current round and the previous RING_SIZE are served; older ones are gone.
    const keep = manifests[199 - RING_SIZE] as ItemsManifest;
    const gone = manifests[198 - RING_SIZE] as ItemsManifest;
    expect(store.get("items", keep.commitment.itemsRoot)).toBeDefined();
    expect(store.get("items", gone.commitment.itemsRoot)).toBeUndefined();
    // A late put for an evicted round is not kept.
    store.putTensor(encodeTensor({ dtype: "float32", shape: [1], data: new Float32Array([1]) }), 3n);
    expect(store.rounds).not.toContain(3n);
  });

  it("contentStore_sameBytesInTwoRounds_surviveUntilTheNewerIsEvicted", () => {
    const store = new ContentStore({ keepRounds: 1 });
    const bytes = encodeTensor({ dtype: "float32", shape: [1], data: new Float32Array([7]) });
    const key = store.putTensor(bytes, 0n);
    store.putTensor(bytes, 1n);
    store.enterRound(2n); // evicts round 0, keeps 1
    expect(store.get("tensor", key)).toEqual(bytes);
    store.enterRound(3n);
    expect(store.get("tensor", key)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it("contentStore_sameItemsRootCommittedInTwoRounds_servesTheNewestManifest", () => {
    const store = new ContentStore();
    const m0 = fillRound(store, 0n);
    // A later round commits the very same items (a replay): same key, other commitment bytes.
    const replay: ItemsManifest = { ...m0, commitment: { ...m0.commitment, round: 1n } };
    store.enterRound(1n);
    store.putManifest(replay);
    expect(decodeManifest(store.get("items", m0.commitment.itemsRoot) as Uint8Array).commitment.round).toBe(1n);
  });

  it("directoryBackend_restart_servesTheSameContent_manifestsIncluded_andEvictsOnDisk", async () => {
    const dir = await tempDir();
    const first = new ContentStore({ backend: directoryContentBackend(dir), keepRounds: 2 });
    const manifests = [0n, 1n, 2n, 3n].map((r) => fillRound(first, r));
    const kept = manifests[3] as ItemsManifest;
    // A crash mid-write leaves a temporary file: not content, cleaned on open.
    await writeFile(path.join(dir, "r3", "tensor-0xdead.123.tmp"), "partial");
    const restarted = new ContentStore({ backend: directoryContentBackend(dir), keepRounds: 2 });
    expect(restarted.currentRound).toBe(3n);
    expect(restarted.rounds).toEqual([1n, 2n, 3n]);
    expect(restarted.size).toBe(first.size);
    const bytes = restarted.get("items", kept.commitment.itemsRoot);
    expect(bytes && contentMatches("items", kept.commitment.itemsRoot, bytes)).toBe(true);
    expect(decodeManifest(bytes as Uint8Array).commitment.round).toBe(3n);
    expect((await readdir(path.join(dir, "r3"))).some((n) => n.endsWith(".tmp"))).toBe(false);
    restarted.enterRound(5n);
    expect((await readdir(dir)).sort()).toEqual(["r3"]);
  });

  it("loadOrCreatePeerKey_keepsThePeerIdAcrossRestarts_andRefusesAGarbledFile", async () => {
    const dir = await tempDir();
    const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
    const a = peerIdFromPrivateKey(await loadOrCreatePeerKey(dir)).toString();
    const b = peerIdFromPrivateKey(await loadOrCreatePeerKey(dir)).toString();
    expect(b).toBe(a);
    await writeFile(path.join(dir, "libp2p.key"), "not a key");
    await expect(loadOrCreatePeerKey(dir)).rejects.toBeInstanceOf(PeerKeyFileError);
  });
});
