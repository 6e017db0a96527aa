import path from "node:path";
import type { Hex } from "viem";
import { JOURNAL_FILE, readJournalFile } from "../journal/journal.ts";
import { loadCheckpoint } from "../journal/checkpoint.ts";
import { replay } from "../journal/replay.ts";
import { readStageCheckpoint, StageCheckpointFileError } from "./checkpointFile.ts";

/** Trained weights a serving stage starts from, and where they come from. */
export type ServedWeights = { weights: Float32Array; round: bigint; weightsRoot: string };

/**
 * The newest checkpoint a stage's training journal holds (weights checked against the journaled
 * weightsRoot), so a serving stage runs the weights its own operator trained; undefined when the
 * journal has none (serve the initial weights).
 */
export async function loadJournaledWeights(journalDir: string): Promise<ServedWeights | undefined> {
  const { records } = await readJournalFile(path.join(journalDir, JOURNAL_FILE));
  const last = replay(records).lastCheckpoint;
  if (!last) return undefined;
  return { weights: await loadCheckpoint(journalDir, last), round: last.round, weightsRoot: last.weightsRoot };
}

/**
 * An exported stage checkpoint (`shardholder export`), checked against what this process serves:
 * the same model, stage and spec, and as many weights as the stage has.
 */
export async function loadExportedWeights(
  file: string,
  serving: { modelId: string; stage: number; specHash: Hex; parameterCount: number },
): Promise<ServedWeights> {
  const { header, weights } = await readStageCheckpoint(file);
  const mismatch =
    header.modelId !== serving.modelId
      ? `model ${header.modelId}, not ${serving.modelId}`
      : header.stage !== serving.stage
        ? `stage ${header.stage}, not ${serving.stage}`
        : header.specHash.toLowerCase() !== serving.specHash.toLowerCase()
          ? `spec ${header.specHash}, not the served spec ${serving.specHash}`
          : weights.length !== serving.parameterCount
            ? `${weights.length} weights, the stage has ${serving.parameterCount}`
            : undefined;
  if (mismatch) throw new StageCheckpointFileError(file, `it holds ${mismatch}`);
  return { weights, round: BigInt(header.round), weightsRoot: header.weightsRoot };
}
