import { BaseError } from "../../sdk/errors/base.ts";

/** The journal holds a damaged record that is not a torn last write: refuse to guess. */
export class JournalCorruptError extends BaseError {
  constructor({ file, offset, reason }: { file: string; offset: number; reason: string }) {
    super(`Journal ${file} is corrupt at byte ${offset}: ${reason}.`, {
      name: "JournalCorruptError",
      metaMessages: ["Only a torn last line is repaired automatically; restore the file or start a new journal."],
    });
  }
}

/** The journal belongs to another (model, stage, worker) or another format version. */
export class JournalMismatchError extends BaseError {
  constructor({ file, expected, found }: { file: string; expected: string; found: string }) {
    super(`Journal ${file} belongs to ${found}, not ${expected}.`, { name: "JournalMismatchError" });
  }
}

/** Replaying the journal found two records that cannot both be true. */
export class JournalConflictError extends BaseError {
  constructor({ seq, reason }: { seq: number; reason: string }) {
    super(`Journal record ${seq} conflicts with an earlier one: ${reason}.`, { name: "JournalConflictError" });
  }
}

/** A checkpoint file is missing or does not hash to the weightsRoot the journal recorded. */
export class CheckpointError extends BaseError {
  constructor({ file, reason }: { file: string; reason: string }) {
    super(`Checkpoint ${file} is unusable: ${reason}.`, { name: "CheckpointError" });
  }
}
