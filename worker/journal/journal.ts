import { type FileHandle, mkdir, open, readFile, rename, truncate, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Address } from "viem";
import { type CompactionPlan, planCompaction } from "./compact.ts";
import { JournalMismatchError } from "./errors.ts";
import { encodeLine, JOURNAL_VERSION, type JournalRecord, parseJournal, type SequencedRecord } from "./records.ts";

/** Name of the journal file inside a journal directory. */
export const JOURNAL_FILE = "journal.log";

/** Whom a journal belongs to; a journal opened for someone else is refused. */
export type JournalOwner = { modelId: bigint; stage: number; worker: Address };

/** What opening found: records already there and how many torn bytes were cut off the tail. */
export type JournalOpenInfo = { existingRecords: number; tornBytesDropped: number };

/** Opens a directory for `fsync`: needed so a newly created or renamed file survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Append-only, crash-safe journal: one checksummed JSON record per line, `fsync` after every
 * append, so a record whose `append` resolved survives `kill -9` and power loss. Opening cuts a
 * torn last line (a write the crash interrupted) before new records go after it.
 *
 * @example
 * const journal = await Journal.open("state/stage-1", { modelId: 1n, stage: 1, worker })
 * await journal.append({ type: "step", round: 3n, step: 0, loss: 2.1, tokens: 4096, microbatches: 4 })
 * const state = replay(journal.records)
 */
export class Journal {
  readonly dir: string;
  readonly file: string;
  readonly openInfo: JournalOpenInfo;
  #handle: FileHandle;
  #records: SequencedRecord[];
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(dir: string, handle: FileHandle, records: SequencedRecord[], openInfo: JournalOpenInfo) {
    this.dir = dir;
    this.file = path.join(dir, JOURNAL_FILE);
    this.#handle = handle;
    this.#records = records;
    this.openInfo = openInfo;
  }

  /** Opens (or creates) the journal in `dir` for `owner`, repairing a torn tail. */
  static async open(dir: string, owner: JournalOwner): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, JOURNAL_FILE);
    const { records, tornBytes, validBytes } = await readJournalFile(file);
    if (tornBytes > 0) {
      await truncate(file, validBytes);
    }
    const handle = await open(file, "a");
    await handle.sync();
    await fsyncDir(dir);
    const journal = new Journal(dir, handle, records, { existingRecords: records.length, tornBytesDropped: tornBytes });
    const header = records[0];
    const expected = describeOwner({ version: JOURNAL_VERSION, ...owner });
    if (!header) {
      await journal.append({ type: "open", version: JOURNAL_VERSION, ...owner, worker: owner.worker });
    } else if (header.type !== "open" || describeOwner(header) !== expected) {
      await handle.close();
      throw new JournalMismatchError({
        file,
        expected,
        found: header.type === "open" ? describeOwner(header) : `a journal without header`,
      });
    } else {
      await journal.append({ type: "resume", pid: process.pid });
    }
    return journal;
  }

  /** Records in journal order (including the `open` header). */
  get records(): readonly SequencedRecord[] {
    return this.#records;
  }

  /**
   * Appends one record and resolves once it is on disk (`write` + `fsync`). Appends are
   * serialized in call order.
   */
  append(record: JournalRecord): Promise<SequencedRecord> {
    const run = async (): Promise<SequencedRecord> => {
      if (this.#closed) throw new Error("journal is closed");
      const seq = this.#records.length;
      const line = encodeLine(seq, record);
      await this.#handle.write(line);
      await this.#handle.sync();
      const sequenced = { ...record, seq };
      this.#records.push(sequenced);
      return sequenced;
    };
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Drops the records of settled rounds before `keepFromRound` (see {@link planCompaction}) by
   * rewriting the journal: the kept records, numbered again, go to a temporary file that is
   * fsynced and renamed over the journal (then the directory is fsynced), so a crash leaves either
   * the old journal or the new one, never a mix. Checkpoint files named only by dropped records
   * are deleted. Replay, and the in-memory records with it, stay proportional to the recent rounds
   * instead of the whole history. Serialized with appends. Returns the plan, or undefined when
   * nothing was dropped.
   *
   * @example
   * await journal.compact(currentRound - 8n)
   */
  compact(keepFromRound: bigint): Promise<CompactionPlan | undefined> {
    const run = async (): Promise<CompactionPlan | undefined> => {
      if (this.#closed) throw new Error("journal is closed");
      const plan = planCompaction(this.#records, keepFromRound);
      if (!plan) return undefined;
      const lines = plan.kept.map((record, seq) => encodeLine(seq, record));
      const tmp = `${this.file}.compact.tmp`;
      await writeFile(tmp, lines.join(""));
      const written = await open(tmp, "r+");
      await written.sync();
      await written.close();
      await this.#handle.close();
      await rename(tmp, this.file);
      await fsyncDir(this.dir);
      this.#handle = await open(this.file, "a");
      this.#records = plan.kept.map((record, seq) => ({ ...record, seq }));
      for (const f of plan.droppedFiles)
        await unlink(path.join(this.dir, f)).catch((err: NodeJS.ErrnoException) =>
          err.code === "ENOENT" ? undefined : Promise.reject(err),
        );
      return plan;
    };
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    await this.#tail;
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

function describeOwner(o: { version: number; modelId: bigint; stage: number; worker: Address }): string {
  return `v${o.version} model ${o.modelId} stage ${o.stage} worker ${o.worker.toLowerCase()}`;
}

/** Reads and parses a journal file without opening it for writing (missing file: empty). */
export async function readJournalFile(file: string): Promise<ReturnType<typeof parseJournal>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { records: [], validBytes: 0, tornBytes: 0 };
    throw err;
  }
  return parseJournal(bytes, file);
}
