import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Address, getAddress, type Hex } from "viem";
import { BaseError } from "../../sdk/errors/base.ts";
import { fastWeightsRoot } from "../backend/roots.ts";
import { loadCheckpoint } from "../journal/checkpoint.ts";
import { JOURNAL_FILE, readJournalFile } from "../journal/journal.ts";
import type { JournalOpenRecord, SequencedRecord } from "../journal/records.ts";
import { replay } from "../journal/replay.ts";
import { float32Bytes, float32FromBytes } from "../p2p/content.ts";

/** Format tag of an exported stage checkpoint (first line of the file). */
export const STAGE_CHECKPOINT_FORMAT = "shardholder/stage-checkpoint@1";

/**
 * What an exported checkpoint says about itself. One stage's weights only: a holder exports the
 * stage it trained, never the whole model.
 */
export type StageCheckpointHeader = {
  format: typeof STAGE_CHECKPOINT_FORMAT;
  modelId: string;
  stage: number;
  /** The staking identity whose journal the weights come from. */
  worker: Address;
  /** The round whose end the weights are (their root is that round's `weightsRootAfter`). */
  round: string;
  specHash: Hex;
  weightsRoot: Hex;
  elements: number;
};

/** A checkpoint file that is not one, or whose weights do not hash to its header's root. */
export class StageCheckpointFileError extends BaseError {
  constructor(file: string, reason: string) {
    super(`${file} is not a usable stage checkpoint: ${reason}.`, { name: "StageCheckpointFileError" });
  }
}

/**
 * Writes one stage's weights as a self-describing file: a JSON header line, then the weights as
 * float32 LE in canonical order (docs/PROTOCOL.md "Chunk trees"). Written to `file.tmp` and renamed,
 * so a crash leaves either the old file or the new one.
 *
 * @example
 * await writeStageCheckpoint("stage1.ckpt", { modelId: 1n, stage: 1, worker, round: 7n, specHash, weights })
 */
export async function writeStageCheckpoint(
  file: string,
  p: { modelId: bigint; stage: number; worker: Address; round: bigint; specHash: Hex; weights: Float32Array },
): Promise<StageCheckpointHeader> {
  const header: StageCheckpointHeader = {
    format: STAGE_CHECKPOINT_FORMAT,
    modelId: p.modelId.toString(),
    stage: p.stage,
    worker: getAddress(p.worker),
    round: p.round.toString(),
    specHash: p.specHash,
    weightsRoot: fastWeightsRoot(p.weights),
    elements: p.weights.length,
  };
  const head = new TextEncoder().encode(`${JSON.stringify(header)}\n`);
  const body = float32Bytes(p.weights);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
  return header;
}

/**
 * Reads an exported checkpoint and checks it: the header's format, and the weights' root equal to
 * the header's. The caller checks the rest against what it serves (model, stage, spec).
 *
 * @example
 * const { header, weights } = await readStageCheckpoint("stage1.ckpt")
 */
export async function readStageCheckpoint(file: string): Promise<{ header: StageCheckpointHeader; weights: Float32Array }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    throw new StageCheckpointFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const newline = bytes.indexOf(0x0a);
  if (newline < 0 || newline > 4096) throw new StageCheckpointFileError(file, "no header line");
  let header: StageCheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, newline))) as StageCheckpointHeader;
  } catch {
    throw new StageCheckpointFileError(file, "the header is not JSON");
  }
  if (header.format !== STAGE_CHECKPOINT_FORMAT)
    throw new StageCheckpointFileError(file, `format ${String(header.format)}, expected ${STAGE_CHECKPOINT_FORMAT}`);
  const body = bytes.subarray(newline + 1);
  if (body.length === 0 || body.length % 4 !== 0 || body.length / 4 !== header.elements)
    throw new StageCheckpointFileError(file, `${body.length} weight bytes for ${header.elements} float32 values`);
  const weights = float32FromBytes(body.slice());
  if (fastWeightsRoot(weights) !== header.weightsRoot)
    throw new StageCheckpointFileError(file, `the weights do not hash to its weightsRoot ${header.weightsRoot} (damaged or edited)`);
  return { header, weights };
}

/**
 * Exports what a stage's training journal holds: the weights at the end of `round` (default: the
 * newest round the journal made durable), checked against the journaled root, with the
 * journal's model, stage and worker in the header.
 *
 * @example
 * const header = await exportJournalCheckpoint({ journalDir: "journal-s1", out: "stage1.ckpt", specHash })
 */
export async function exportJournalCheckpoint(p: {
  journalDir: string;
  out: string;
  specHash: Hex;
  round?: bigint | undefined;
}): Promise<StageCheckpointHeader> {
  const { records } = await readJournalFile(path.join(p.journalDir, JOURNAL_FILE));
  const open = records.find((r): r is SequencedRecord & JournalOpenRecord => r.type === "open");
  if (!open) throw new StageCheckpointFileError(p.journalDir, "no training journal there");
  const state = replay(records);
  const round =
    p.round ??
    [...state.roundLatest.entries()]
      .filter(([, c]) => c.step >= 0)
      .reduce<bigint | undefined>((a, [r]) => (a === undefined || r > a ? r : a), undefined);
  const end = round === undefined ? undefined : state.roundLatest.get(round);
  if (round === undefined || !end || end.step < 0)
    throw new StageCheckpointFileError(
      p.journalDir,
      round === undefined ? "the journal finished no round yet" : `the journal holds no end of round ${round}`,
    );
  let weights: Float32Array;
  try {
    weights = await loadCheckpoint(p.journalDir, end);
  } catch (err) {
    throw new StageCheckpointFileError(
      p.journalDir,
      `round ${round}'s checkpoint cannot be loaded (${(err as Error).message}); older rounds' files are pruned, export a recent one`,
    );
  }
  return writeStageCheckpoint(p.out, {
    modelId: open.modelId,
    stage: open.stage,
    worker: open.worker,
    round,
    specHash: p.specHash,
    weights,
  });
}
