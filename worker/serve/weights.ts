import path from "node:path";
import { JOURNAL_FILE, readJournalFile } from "../journal/journal.ts";
import { loadCheckpoint } from "../journal/checkpoint.ts";
import { replay } from "../journal/replay.ts";

/**
 * The newest checkpoint a stage's training journal holds (weights checked against the journaled
 * weightsRoot), so a serving stage runs the weights its own operator trained; undefined when the
 * journal has none (serve the initial weights).
 */
export async function loadJournaledWeights(journalDir: string): Promise<{ weights: Float32Array; round: bigint; weightsRoot: string } | undefined> {
  const { records } = await readJournalFile(path.join(journalDir, JOURNAL_FILE));
  const last = replay(records).lastCheckpoint;
  if (!last) return undefined;
  return { weights: await loadCheckpoint(journalDir, last), round: last.round, weightsRoot: last.weightsRoot };
}
