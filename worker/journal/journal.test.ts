import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Address, keccak256, toHex, zeroAddress } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  encodeLine,
  Journal,
  JOURNAL_FILE,
  JournalConflictError,
  JournalCorruptError,
  JournalMismatchError,
  loadCheckpoint,
  loadCheckpointOrTwin,
  pruneCheckpoints,
  loadOptimizerState,
  readJournalFile,
  replay,
  roundItems,
  saveCheckpoint,
} from "./index.ts";

const worker: Address = "0x00000000000000000000000000000000000000aa";
const owner = { modelId: 7n, stage: 2, worker };
const h = (s: string) => keccak256(toHex(s));
const item = (index: number, tag = "") => ({
  index,
  microbatch: index,
  inputActHash: h(`in${index}${tag}`),
  outputActHash: h(`out${index}${tag}`),
  upstreamGradHash: h(`up${index}${tag}`),
  inputGradHash: h(`ig${index}${tag}`),
  gradRoot: h(`g${index}${tag}`),
  weightsRoot: h(`w${tag}`),
  upstream: worker,
  downstream: zeroAddress,
});

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "journal-unit-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("Journal", () => {
  it("round-trips records (bigints included) across reopen and marks the restart", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    await j.append({ type: "microbatch", round: 2n ** 63n, step: 0, item: item(0) });
    await j.close();
    const again = await Journal.open(dir, owner);
    expect(again.openInfo).toEqual({ existingRecords: 2, tornBytesDropped: 0 });
    expect(again.records.map((r) => r.type)).toEqual(["open", "microbatch", "resume"]);
    const mb = again.records[1];
    expect(mb?.type === "microbatch" && mb.round).toBe(2n ** 63n);
    await again.close();
  });

  it("drops a torn last line (partial write or bad checksum) and appends cleanly after it", async () => {
    for (const tear of ["partial", "checksum"] as const) {
      const dir = await freshDir();
      const j = await Journal.open(dir, owner);
      await j.append({ type: "step", round: 0n, step: 0, loss: 1.5, tokens: 10, microbatches: 1 });
      await j.close();
      const file = path.join(dir, JOURNAL_FILE);
      const sizeBefore = (await readFile(file)).length;
      const line = encodeLine(2, { type: "step", round: 0n, step: 1, loss: 1.4, tokens: 10, microbatches: 1 });
      const torn = tear === "partial" ? line.slice(0, 25) : line.replace(/\t[0-9a-f]{8}\n$/, "\t00000000\n");
      await appendFile(file, torn);
      const reopened = await Journal.open(dir, owner);
      expect(reopened.openInfo.tornBytesDropped).toBe(Buffer.byteLength(torn));
      expect(reopened.records.map((r) => r.seq)).toEqual([0, 1, 2]);
      await reopened.close();
      const parsed = await readJournalFile(file);
      expect(parsed.tornBytes).toBe(0);
      expect(parsed.validBytes).toBeGreaterThan(sizeBefore);
    }
  });

  it("refuses a damaged line that is followed by good ones (not a torn write)", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    await j.append({ type: "step", round: 0n, step: 0, loss: 1, tokens: 1, microbatches: 1 });
    await j.append({ type: "step", round: 0n, step: 1, loss: 1, tokens: 1, microbatches: 1 });
    await j.close();
    const file = path.join(dir, JOURNAL_FILE);
    const text = await readFile(file, "utf8");
    await writeFile(file, text.replace('"step":0', '"step":9'));
    await expect(Journal.open(dir, owner)).rejects.toBeInstanceOf(JournalCorruptError);
  });

  it("refuses a journal of another model, stage or worker", async () => {
    const dir = await freshDir();
    await (await Journal.open(dir, owner)).close();
    await expect(Journal.open(dir, { ...owner, stage: 3 })).rejects.toBeInstanceOf(JournalMismatchError);
  });
});

describe("replay", () => {
  it("keeps items covered by a checkpoint and drops those after it or before a restart", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    const weights = new Float32Array(5000).map((_, i) => Math.sin(i));
    await saveCheckpoint(j, { round: 0n, step: -1, weights });
    await j.append({ type: "microbatch", round: 0n, step: 0, item: item(0) });
    await j.append({ type: "microbatch", round: 0n, step: 0, item: item(1) });
    await saveCheckpoint(j, { round: 0n, step: 0, weights });
    await j.append({ type: "microbatch", round: 0n, step: 1, item: item(2, "lost") });
    await j.close();
    const resumed = await Journal.open(dir, owner);
    // Recomputed after the restart (other hashes are fine: the first attempt never became durable).
    await resumed.append({ type: "microbatch", round: 0n, step: 1, item: item(2) });
    await saveCheckpoint(resumed, { round: 0n, step: 1, weights });
    const state = replay(resumed.records);
    expect(roundItems(state, 0n)).toEqual([item(0), item(1), item(2)]);
    expect(state.discardedItems).toBe(1);
    expect(state.restarts).toBe(1);
    expect(state.lastDurableStep).toEqual({ round: 0n, step: 1 });
    await resumed.close();
  });

  it("throws on a durable item recorded again with other hashes, and on a changed commitment", () => {
    const cp = (seq: number, step: number) => ({
      seq,
      type: "checkpoint" as const,
      round: 0n,
      step,
      file: "f",
      weightsRoot: h("w"),
      elements: 1,
    });
    expect(() =>
      replay([
        { seq: 0, type: "microbatch", round: 0n, step: 0, item: item(0) },
        cp(1, 0),
        { seq: 2, type: "microbatch", round: 0n, step: 0, item: item(0, "x") },
        cp(3, 0),
      ]),
    ).toThrow(JournalConflictError);
    const commitment = {
      modelId: 7n,
      round: 0n,
      stage: 2,
      worker,
      itemsRoot: h("r"),
      itemCount: 3,
      weightsRootBefore: h("a"),
      weightsRootAfter: h("b"),
    };
    expect(() =>
      replay([
        { seq: 0, type: "commitment", key: "k", commitment },
        { seq: 1, type: "commitment", key: "k", commitment: { ...commitment, itemCount: 4 } },
      ]),
    ).toThrow(JournalConflictError);
  });

  it("tracks a commitment from built to signed to in flight to stored, and flags a double submission", () => {
    const commitment = {
      modelId: 7n,
      round: 0n,
      stage: 2,
      worker,
      itemsRoot: h("r"),
      itemCount: 3,
      weightsRootBefore: h("a"),
      weightsRootAfter: h("b"),
    };
    const records = [
      { seq: 0, type: "commitment" as const, key: "k", commitment },
      { seq: 1, type: "signature" as const, key: "k", signer: worker, signature: h("sig") },
      { seq: 2, type: "submitIntent" as const, batchId: "b1", keys: ["k"], sender: worker, nonce: 4 },
    ];
    const inFlight = replay(records);
    expect(inFlight.commitments.get("k")?.status).toBe("inFlight");
    expect(inFlight.inDoubt.map((b) => b.batchId)).toEqual(["b1"]);
    const done = replay([...records, { seq: 3, type: "submitResult", batchId: "b1", status: "confirmed", keys: ["k"], txHash: h("tx") }]);
    expect(done.commitments.get("k")).toMatchObject({ status: "confirmed", txHash: h("tx") });
    expect(done.inDoubt).toEqual([]);
    const twice = replay([
      ...records,
      { seq: 3, type: "submitResult", batchId: "b1", status: "confirmed", keys: ["k"] },
      { seq: 4, type: "submitIntent", batchId: "b2", keys: ["k"], sender: worker, nonce: 5 },
    ]);
    expect(twice.doubleSubmissions).toEqual(["k"]);
  });
});

describe("checkpoints", () => {
  it("writes atomically (no temp file left), loads back, and rejects a tampered file", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    const weights = new Float32Array(9000).map((_, i) => Math.fround(Math.cos(i) * 0.1));
    const cp = await saveCheckpoint(j, { round: 3n, step: 1, weights });
    expect((await readdir(dir)).filter((f) => f.includes(".tmp"))).toEqual([]);
    expect(Array.from(await loadCheckpoint(dir, cp))).toEqual(Array.from(weights));
    const bytes = await readFile(path.join(dir, cp.file));
    bytes[100] = (bytes[100] as number) ^ 1;
    await writeFile(path.join(dir, cp.file), bytes);
    await expect(loadCheckpoint(dir, cp)).rejects.toBeInstanceOf(CheckpointError);
    await j.close();
  });

  it("saves the optimizer state beside the weights and refuses a tampered one", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    const weights = new Float32Array(100).map((_, i) => i / 100);
    const optimizer = { step: 7, m: weights.map((w) => w * 0.1), v: weights.map((w) => w * w) };
    const cp = await saveCheckpoint(j, { round: 1n, step: 0, weights, optimizer });
    const loaded = await loadOptimizerState(dir, cp);
    expect(loaded?.step).toBe(7);
    expect(Array.from(loaded?.m ?? [])).toEqual(Array.from(optimizer.m));
    expect(Array.from(loaded?.v ?? [])).toEqual(Array.from(optimizer.v));
    const bytes = await readFile(path.join(dir, cp.optimizerFile as string));
    bytes[0] = 8;
    await writeFile(path.join(dir, cp.optimizerFile as string), bytes);
    await expect(loadOptimizerState(dir, cp)).rejects.toBeInstanceOf(CheckpointError);
    expect(await loadOptimizerState(dir, { ...cp, optimizerFile: undefined })).toBeUndefined();
    await j.close();
  });

  it("loadCheckpointOrTwin_deletedNewestCheckpoint_fallsBackToTheIdenticalOlderOne_neverToOtherWeights", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    const before = new Float32Array(64).fill(0.5);
    const after = before.map((w, i) => w + i / 1000);
    const optimizer = { step: 3, m: after.map((w) => w * 0.1), v: after.map((w) => w * w) };
    await saveCheckpoint(j, { round: 0n, step: -1, weights: before, optimizer: { ...optimizer, step: 2 } });
    const end0 = await saveCheckpoint(j, { round: 0n, step: 0, weights: after, optimizer });
    const start1 = await saveCheckpoint(j, { round: 1n, step: -1, weights: after, optimizer });
    await rm(path.join(dir, start1.file));
    await rm(path.join(dir, start1.optimizerFile as string));
    const loaded = await loadCheckpointOrTwin(dir, start1, j.records);
    expect(loaded.from.file).toBe(end0.file);
    expect(Array.from(loaded.weights)).toEqual(Array.from(after));
    expect(loaded.optimizer?.step).toBe(3);
    // With the twin gone too, the round-0 start (other weights) is never used instead.
    await rm(path.join(dir, end0.file));
    await expect(loadCheckpointOrTwin(dir, start1, j.records)).rejects.toBeInstanceOf(CheckpointError);
    await j.close();
  });

  it("pruneCheckpoints_manyRounds_keepsTheLastRoundsFilesAndTheNewest_recordsUntouched", async () => {
    const dir = await freshDir();
    const j = await Journal.open(dir, owner);
    const weights = new Float32Array(16).fill(0.5);
    const optimizer = { step: 1, m: weights, v: weights };
    for (let r = 0n; r < 30n; r++) {
      await saveCheckpoint(j, { round: r, step: -1, weights, optimizer });
      await saveCheckpoint(j, { round: r, step: 0, weights, optimizer });
      await pruneCheckpoints(j, { newestRound: r, keepRounds: 3 });
      const files = (await readdir(dir)).filter((f) => f.endsWith(".f32"));
      // 4 rounds (r-3..r) x 2 checkpoints x (weights + optimizer) at most.
      expect(files.length).toBeLessThanOrEqual(16);
    }
    const files = (await readdir(dir)).filter((f) => f.startsWith("weights-")).sort();
    expect(files).toEqual([
      "weights-r26-s0.f32",
      "weights-r26-sstart.f32",
      "weights-r27-s0.f32",
      "weights-r27-sstart.f32",
      "weights-r28-s0.f32",
      "weights-r28-sstart.f32",
      "weights-r29-s0.f32",
      "weights-r29-sstart.f32",
    ]);
    expect(j.records.filter((r) => r.type === "checkpoint")).toHaveLength(60);
    await j.close();
  });
});
