import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Hex, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { firstRoundToTrain } from "../commit/rounds.ts";
import { commitmentKey, Journal, replay, saveCheckpoint } from "./index.ts";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const hash = (k: number): Hex => `0x${k.toString(16).padStart(64, "0")}`;
const who = { modelId: 1n, stage: 0, worker: privateKeyToAccount(generatePrivateKey()).address };

/** A journal of `rounds` trained rounds; `submit(round)` says how each commitment was settled. */
async function journalOf(rounds: number, submit: (round: bigint) => "confirmed" | "unsent" = () => "confirmed"): Promise<Journal> {
  const dir = await mkdtemp(path.join(tmpdir(), "compact-"));
  dirs.push(dir);
  const journal = await Journal.open(dir, who);
  const weights = new Float32Array(8).fill(0.5);
  for (let r = 0n; r < BigInt(rounds); r++) {
    await saveCheckpoint(journal, { round: r, step: -1, weights });
    await journal.append({
      type: "microbatch",
      round: r,
      step: 0,
      item: {
        index: 0,
        microbatch: 0,
        inputActHash: hash(Number(r) + 1),
        outputActHash: hash(2),
        upstreamGradHash: hash(3),
        inputGradHash: hash(4),
        gradRoot: hash(5),
        weightsRoot: hash(6),
        upstream: zeroAddress,
        downstream: zeroAddress,
      },
    });
    await journal.append({ type: "step", round: r, step: 0, tokens: 0, microbatches: 1 });
    await saveCheckpoint(journal, { round: r, step: 0, weights });
    const key = commitmentKey({ ...who, round: r });
    await journal.append({
      type: "commitment",
      key,
      commitment: { ...who, round: r, itemsRoot: hash(9), itemCount: 1, weightsRootBefore: hash(7), weightsRootAfter: hash(8) },
    });
    await journal.append({ type: "signature", key, signer: who.worker, signature: `0x${"11".repeat(65)}` });
    if (submit(r) === "unsent") continue;
    await journal.append({ type: "submitIntent", batchId: `b${r}`, keys: [key], sender: who.worker, nonce: Number(r) });
    await journal.append({ type: "submitResult", batchId: `b${r}`, status: "confirmed", keys: [key], txHash: hash(100 + Number(r)) });
  }
  return journal;
}

/** What a restart derives from the journal for rounds from `from` on. */
function resumeView(journal: Journal, from: bigint) {
  const s = replay(journal.records);
  return {
    need: firstRoundToTrain(s, from, from + 10n),
    lastCheckpoint: s.lastCheckpoint?.file,
    commitments: [...s.commitments.values()]
      .filter((c) => c.commitment.round >= from - 1n)
      .map((c) => [c.key, c.status, c.signature?.signature]),
    items: [...s.items.entries()].filter(([r]) => r >= from).map(([r, m]) => [r, [...m.values()].map((d) => d.item)]),
    inDoubt: s.inDoubt,
  };
}

describe("Journal.compact", () => {
  it("test_compact_dropsSettledOldRounds_keepsWhatARestartNeeds_andSurvivesReopen", async () => {
    const journal = await journalOf(20);
    const before = resumeView(journal, 12n);
    const recordsBefore = journal.records.length;
    // A restart at round 12 checks round 11's commitment (missingCommittedRound): keep from 11.
    const plan = await journal.compact(11n);
    expect(plan?.droppedRounds).toEqual(Array.from({ length: 11 }, (_, i) => BigInt(i)));
    expect(journal.records.length).toBeLessThan(recordsBefore * 0.5);
    expect(journal.records.map((r) => r.seq)).toEqual(journal.records.map((_, i) => i));
    expect(resumeView(journal, 12n)).toEqual(before);
    // The old rounds' checkpoint files are gone, the kept ones are there.
    const files = await readdir(journal.dir);
    expect(files.filter((f) => f.startsWith("weights-r3-"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("weights-r19-"))).toHaveLength(2);
    // Appends continue the new numbering, and a reopen reads exactly the compacted journal.
    await journal.append({ type: "step", round: 20n, step: 0, tokens: 0, microbatches: 1 });
    const n = journal.records.length;
    await journal.close();
    const reopened = await Journal.open(journal.dir, who);
    expect(reopened.records.length).toBe(n + 1); // + its resume record
    expect(resumeView(reopened, 12n)).toEqual(before);
    // Nothing left to drop: no rewrite.
    expect(await reopened.compact(11n)).toBeUndefined();
    await reopened.close();
  });

  it("test_compact_anUnsentOldCommitment_holdsTheCutAtItsRound", async () => {
    const journal = await journalOf(12, (r) => (r === 4n ? "unsent" : "confirmed"));
    const plan = await journal.compact(10n);
    expect(plan?.droppedRounds).toEqual([0n, 1n, 2n, 3n]);
    const state = replay(journal.records);
    expect(state.commitments.get(commitmentKey({ ...who, round: 4n }))?.status).toBe("signed");
    await journal.close();
  });

  it("test_compact_neverDropsTheNewestCheckpoint", async () => {
    const journal = await journalOf(6);
    const plan = await journal.compact(100n);
    expect(plan?.droppedRounds).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(replay(journal.records).lastCheckpoint?.round).toBe(5n);
    await journal.close();
  });
});
