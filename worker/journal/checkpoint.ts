import { open, readFile, rename, unlink } from "node:fs/promises";
import { fastWeightsRoot } from "../backend/roots.ts";
import path from "node:path";
import { type Hex, keccak256 } from "viem";
import { CheckpointError } from "./errors.ts";
import { fsyncDir, type Journal } from "./journal.ts";
import type { CheckpointJournalRecord } from "./records.ts";

/** Adam-style optimizer state saved with a checkpoint so training resumes exactly. */
export type CheckpointOptimizerState = { step: number; m: Float32Array; v: Float32Array };

function encodeOptimizer(state: CheckpointOptimizerState): Uint8Array {
  if (state.m.length !== state.v.length) throw new RangeError("optimizer m and v differ in length");
  const bytes = new Uint8Array(4 + 8 * state.m.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, state.step, true);
  for (let i = 0; i < state.m.length; i++) {
    view.setFloat32(4 + 4 * i, state.m[i] as number, true);
    view.setFloat32(4 + 4 * (state.m.length + i), state.v[i] as number, true);
  }
  return bytes;
}

function decodeOptimizer(bytes: Uint8Array): CheckpointOptimizerState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = (bytes.byteLength - 4) / 8;
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = view.getFloat32(4 + 4 * i, true);
    v[i] = view.getFloat32(4 + 4 * (n + i), true);
  }
  return { step: view.getUint32(0, true), m, v };
}

/** Checkpoint file name of `(round, step)`; `step = -1` is the weights a round starts from. */
export function checkpointFileName(round: bigint, step: number): string {
  return `weights-r${round}-s${step < 0 ? "start" : step}.f32`;
}

function toBytes(weights: Float32Array): Uint8Array {
  const bytes = new Uint8Array(weights.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i] as number, true);
  return bytes;
}

function fromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/**
 * Writes `bytes` to `file` atomically: a temp file in the same directory, `fsync`, `rename`,
 * then `fsync` of the directory. A crash leaves either the old file or the new one, never half.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const handle = await open(tmp, "w");
  try {
    await handle.write(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/**
 * Saves a stage's flattened weights (float32 LE, the bytes the weights chunk tree hashes) next to
 * the journal, then journals a `checkpoint` record with their `weightsRoot`. The record is
 * written only after the file is durable, so every journaled checkpoint can be loaded.
 *
 * @example
 * const cp = await saveCheckpoint(journal, { round: 2n, step: 3, weights })
 */
export async function saveCheckpoint(
  journal: Journal,
  {
    round,
    step,
    weights,
    optimizer,
  }: { round: bigint; step: number; weights: Float32Array; optimizer?: CheckpointOptimizerState | undefined },
): Promise<CheckpointJournalRecord> {
  const file = checkpointFileName(round, step);
  const root = fastWeightsRoot(weights);
  await writeFileAtomic(path.join(journal.dir, file), toBytes(weights));
  const record: CheckpointJournalRecord = { type: "checkpoint", round, step, file, weightsRoot: root, elements: weights.length };
  if (optimizer) {
    const bytes = encodeOptimizer(optimizer);
    record.optimizerFile = file.replace(/^weights-/, "optimizer-");
    record.optimizerHash = keccak256(bytes);
    await writeFileAtomic(path.join(journal.dir, record.optimizerFile), bytes);
  }
  await journal.append(record);
  return record;
}

/**
 * Loads a journaled checkpoint and checks it against the recorded `weightsRoot`.
 *
 * @example
 * const weights = await loadCheckpoint(journal.dir, state.lastCheckpoint)
 */
export async function loadCheckpoint(
  dir: string,
  checkpoint: Pick<CheckpointJournalRecord, "file" | "weightsRoot" | "elements">,
): Promise<Float32Array> {
  const file = path.join(dir, checkpoint.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CheckpointError({ file, reason: (err as Error).message });
  }
  if (bytes.byteLength !== checkpoint.elements * 4)
    throw new CheckpointError({ file, reason: `${bytes.byteLength} bytes where ${checkpoint.elements * 4} were expected` });
  const weights = fromBytes(bytes);
  const root: Hex = fastWeightsRoot(weights);
  if (root !== checkpoint.weightsRoot)
    throw new CheckpointError({ file, reason: `weightsRoot ${root} is not the journaled ${checkpoint.weightsRoot}` });
  return weights;
}

/**
 * Loads the optimizer state saved with a checkpoint (`undefined` when none was saved), checked
 * against its journaled hash.
 */
export async function loadOptimizerState(
  dir: string,
  checkpoint: Pick<CheckpointJournalRecord, "optimizerFile" | "optimizerHash" | "elements">,
): Promise<CheckpointOptimizerState | undefined> {
  if (!checkpoint.optimizerFile) return undefined;
  const file = path.join(dir, checkpoint.optimizerFile);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CheckpointError({ file, reason: (err as Error).message });
  }
  if (keccak256(bytes) !== checkpoint.optimizerHash)
    throw new CheckpointError({ file, reason: "optimizer state does not match its journaled hash" });
  if (bytes.byteLength !== 4 + 8 * checkpoint.elements)
    throw new CheckpointError({ file, reason: `${bytes.byteLength} bytes for ${checkpoint.elements} parameters` });
  return decodeOptimizer(bytes);
}

/**
 * Loads `checkpoint`'s weights and optimizer state; when its files are missing or damaged (a
 * deleted newest checkpoint), from the newest other checkpoint of `records` that journaled the
 * same `weightsRoot` and optimizer hash (a round's end and the next round's start hold the same
 * state). Returns which record the state came from; throws the original {@link CheckpointError}
 * when no twin loads either.
 *
 * @example
 * const { weights, optimizer } = await loadCheckpointOrTwin(journal.dir, state.lastCheckpoint, journal.records)
 */
export async function loadCheckpointOrTwin(
  dir: string,
  checkpoint: CheckpointJournalRecord,
  records: readonly { type: string }[],
): Promise<{ weights: Float32Array; optimizer: CheckpointOptimizerState | undefined; from: CheckpointJournalRecord }> {
  const load = async (c: CheckpointJournalRecord) => ({
    weights: await loadCheckpoint(dir, c),
    optimizer: await loadOptimizerState(dir, c),
    from: c,
  });
  try {
    return await load(checkpoint);
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    const twins = records
      .filter((r): r is CheckpointJournalRecord => r.type === "checkpoint")
      .filter(
        (r) =>
          r.file !== checkpoint.file &&
          r.weightsRoot === checkpoint.weightsRoot &&
          r.elements === checkpoint.elements &&
          r.optimizerHash === checkpoint.optimizerHash,
      )
      .reverse();
    for (const twin of twins) {
      try {
        return await load(twin);
      } catch (twinErr) {
        if (!(twinErr instanceof CheckpointError)) throw twinErr;
      }
    }
    throw err;
  }
}

/**
 * Deletes the checkpoint files (weights and optimizer state) of rounds below
 * `newestRound - keepRounds`; the journal records stay, the files are what grows (two per round,
 * each the stage's weights, plus twice that of Adam state). A stage only ever reloads its newest
 * checkpoint, or the start and end of a round its pipeline reruns, and reruns never reach behind
 * the chain's current round. Returns the files removed.
 *
 * @example
 * await pruneCheckpoints(journal, { newestRound: round, keepRounds: RING_SIZE })
 */
export async function pruneCheckpoints(
  journal: Journal,
  { newestRound, keepRounds }: { newestRound: bigint; keepRounds: number },
): Promise<string[]> {
  const cutoff = newestRound - BigInt(keepRounds);
  const checkpoints = journal.records.filter((r): r is CheckpointJournalRecord & { seq: number } => r.type === "checkpoint");
  const keep = new Set<string>();
  for (const c of checkpoints) if (c.round >= cutoff) for (const f of [c.file, c.optimizerFile]) if (f) keep.add(f);
  // The newest checkpoint is what a restart loads: never prune it, however old.
  const newest = checkpoints.at(-1);
  for (const f of [newest?.file, newest?.optimizerFile]) if (f) keep.add(f);
  const removed: string[] = [];
  for (const c of checkpoints) {
    if (c.round >= cutoff) continue;
    for (const f of [c.file, c.optimizerFile]) {
      if (!f || keep.has(f)) continue;
      try {
        await unlink(path.join(journal.dir, f));
        removed.push(f);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  }
  return removed;
}
