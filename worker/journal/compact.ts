import type { JournalRecord, SequencedRecord } from "./records.ts";

/** What a compaction keeps and drops. */
export type CompactionPlan = {
  /** Records to keep, in order, without their old `seq` (the rewrite numbers them again). */
  kept: JournalRecord[];
  /** Rounds whose records were dropped, ascending. */
  droppedRounds: bigint[];
  /** Checkpoint files named only by dropped records (to delete if still on disk). */
  droppedFiles: string[];
};

/** The round a commitment key names (`${modelId}:${round}:${stage}:${worker}`). */
const roundOfKey = (key: string): bigint => BigInt(key.split(":")[1] ?? "0");

/** The round(s) a record belongs to; undefined for records of no round (`open`, `resume`). */
function roundsOf(r: SequencedRecord, batchKeys: Map<string, string[]>): bigint[] | undefined {
  switch (r.type) {
    case "microbatch":
    case "step":
    case "checkpoint":
    case "receipt":
      return [r.round];
    case "commitment":
    case "signature":
      return [roundOfKey(r.key)];
    case "submitIntent":
      return r.keys.map(roundOfKey);
    case "submitSent":
      return (batchKeys.get(r.batchId) ?? []).map(roundOfKey);
    case "submitResult":
      return [...r.keys, ...(batchKeys.get(r.batchId) ?? [])].map(roundOfKey);
    default:
      return undefined;
  }
}

/**
 * Which records of a journal a restart can do without: every record of the rounds before
 * `keepFromRound` once those rounds are settled. A round is settled when each of its commitments
 * has a final outcome (confirmed, found on-chain or expired) and every batch that carried one of
 * its keys has a result and carried only keys of such rounds; the cut moves down to the oldest
 * round that is not settled, so nothing a resume or a submission still needs is dropped. The
 * newest checkpoint is never dropped (it is in a kept round by construction: `keepFromRound` is
 * never above it). Pass a `keepFromRound` below the round before the chain's current round: a
 * restart checks that round's commitment against the chain (`missingCommittedRound`).
 * Returns undefined when nothing would be dropped.
 *
 * What replay then rebuilds for the kept rounds is what it rebuilt before: their checkpoints,
 * items, commitments, signatures and batches are kept whole, and so is every `resume` record.
 *
 * @example
 * const plan = planCompaction(journal.records, currentRound - 8n)
 */
export function planCompaction(records: readonly SequencedRecord[], keepFromRound: bigint): CompactionPlan | undefined {
  const batchKeys = new Map<string, string[]>();
  const batchResult = new Set<string>();
  const commitmentStatus = new Map<string, boolean>();
  for (const r of records) {
    if (r.type === "submitIntent") batchKeys.set(r.batchId, r.keys);
    if (r.type === "commitment") commitmentStatus.set(r.key, commitmentStatus.get(r.key) ?? false);
    if (r.type === "submitResult") {
      batchResult.add(r.batchId);
      const final = r.status === "confirmed" || r.status === "foundOnChain" || r.status === "expired";
      for (const key of r.keys) commitmentStatus.set(key, final || (commitmentStatus.get(key) ?? false));
    }
  }
  const lastCheckpoint = [...records].reverse().find((r) => r.type === "checkpoint");
  let cut = keepFromRound;
  if (lastCheckpoint?.type === "checkpoint" && lastCheckpoint.round < cut) cut = lastCheckpoint.round;
  // Unsettled commitments and open or mixed batches hold the cut below their oldest round.
  for (const [key, final] of commitmentStatus) if (!final && roundOfKey(key) < cut) cut = roundOfKey(key);
  for (const [batchId, keys] of batchKeys) {
    const rounds = keys.map(roundOfKey);
    const oldest = rounds.reduce((a, b) => (b < a ? b : a), cut);
    if (oldest < cut && (!batchResult.has(batchId) || rounds.some((x) => x >= cut))) cut = oldest;
  }
  const kept: JournalRecord[] = [];
  const dropped = new Set<bigint>();
  const droppedFiles: string[] = [];
  for (const r of records) {
    const rounds = roundsOf(r, batchKeys);
    if (rounds !== undefined && rounds.length > 0 && rounds.every((x) => x < cut)) {
      for (const x of rounds) dropped.add(x);
      if (r.type === "checkpoint") for (const f of [r.file, r.optimizerFile]) if (f) droppedFiles.push(f);
      continue;
    }
    const { seq: _seq, ...record } = r;
    kept.push(record);
  }
  if (dropped.size === 0) return undefined;
  return { kept, droppedRounds: [...dropped].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), droppedFiles };
}
