import { crc32 } from "node:zlib";
import type { Address, Hex } from "viem";
import type { Commitment, MicrobatchItem } from "../../sdk/protocol/index.ts";
import { JournalCorruptError } from "./errors.ts";

/** Format version written in every journal's `open` record. */
export const JOURNAL_VERSION = 1;

/** Identity of the (model, stage, worker) a journal belongs to; one journal per stage worker. */
export type JournalOpenRecord = { type: "open"; version: number; modelId: bigint; stage: number; worker: Address };

/** A process (re)opened an existing journal: work journaled after the last checkpoint is void. */
export type ResumeJournalRecord = { type: "resume"; pid: number };

/** One microbatch's hashes (the commitment item), done at `step` of `round`. Gradients are not stored. */
export type MicrobatchJournalRecord = { type: "microbatch"; round: bigint; step: number; item: MicrobatchItem };

/**
 * The staked workers a stage exchanged one round's data with (from their signed pipe hellos): its
 * commitment names them, and each must name it back (docs/PROTOCOL.md, "Pipeline links"). The zero
 * address where the stage has no such neighbour (stage 0's upstream, the last stage's downstream).
 */
export type PipelineNeighbours = { upstream: Address; downstream: Address };

/** An optimizer step finished (weights updated in memory; durable only once a checkpoint follows). */
export type StepJournalRecord = {
  type: "step";
  round: bigint;
  step: number;
  loss?: number | undefined;
  tokens: number;
  microbatches: number;
  /** Who the round's data was exchanged with (absent in journals written before pipeline links). */
  neighbours?: PipelineNeighbours | undefined;
};

/**
 * Stage weights after `step` of `round` were written to `file` (atomically) and hash to
 * `weightsRoot`. `step = -1` is the round's starting point (weights before any step).
 */
export type CheckpointJournalRecord = {
  type: "checkpoint";
  round: bigint;
  step: number;
  file: string;
  weightsRoot: Hex;
  elements: number;
  /** Optimizer state file (u32 LE step, then m and v as float32 LE) and its keccak256, when the stage has one. */
  optimizerFile?: string | undefined;
  optimizerHash?: Hex | undefined;
};

/** The round's commitment was built from the journaled items. `key` is {@link commitmentKey}. */
export type CommitmentJournalRecord = { type: "commitment"; key: string; commitment: Commitment };

/** The commitment `key` was signed by `signer` (the worker's signing key). */
export type SignatureJournalRecord = { type: "signature"; key: string; signer: Address; signature: Hex };

/**
 * About to send one batched `submitCommitments` transaction with `nonce` from `sender`. Written
 * (and fsynced) before the transaction leaves the process, so a crash is always detectable.
 */
export type SubmitIntentJournalRecord = { type: "submitIntent"; batchId: string; keys: string[]; sender: Address; nonce: number };

/** The batch's transaction was handed to the node. */
export type SubmitSentJournalRecord = { type: "submitSent"; batchId: string; txHash: Hex };

/**
 * Final outcome of a batch: `confirmed` (mined, succeeded), `reverted` (mined, failed),
 * `foundOnChain` (resume found the commitments already stored), `abandoned` (never mined; the
 * keys go back to the queue), `expired` (never stored and their round's commit window has closed:
 * the ledger would refuse them, so they leave the queue for good).
 */
export type SubmitResultJournalRecord = {
  type: "submitResult";
  batchId: string;
  status: "confirmed" | "reverted" | "foundOnChain" | "abandoned" | "expired";
  keys: string[];
  txHash?: Hex | undefined;
  blockNumber?: bigint | undefined;
};

/**
 * A link receipt a neighbour signed for this worker (docs/PROTOCOL.md "Link receipts"): the evidence
 * that restores this worker's commitment if that neighbour's leaves then name someone else.
 */
export type ReceiptJournalRecord = {
  type: "receipt";
  round: bigint;
  stage: number;
  upstream: Address;
  downstream: Address;
  microbatches: Hex;
  signer: Address;
  signature: Hex;
};

/** Every record a journal holds. */
export type JournalRecord =
  | JournalOpenRecord
  | ResumeJournalRecord
  | MicrobatchJournalRecord
  | StepJournalRecord
  | CheckpointJournalRecord
  | CommitmentJournalRecord
  | SignatureJournalRecord
  | SubmitIntentJournalRecord
  | SubmitSentJournalRecord
  | SubmitResultJournalRecord
  | ReceiptJournalRecord;

/** A record as read back, with its position in the journal (0-based, gap-free). */
export type SequencedRecord = JournalRecord & { seq: number };

/** Key of a commitment: one per `(modelId, round, stage, worker)`, as the ledger accepts at most one. */
export function commitmentKey(c: Pick<Commitment, "modelId" | "round" | "stage" | "worker">): string {
  return `${c.modelId}:${c.round}:${c.stage}:${c.worker.toLowerCase()}`;
}

// bigints travel as "<digits>n" strings: no hex or address value matches the pattern.
const BIGINT_STRING = /^-?\d+n$/;

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}

function reviver(_key: string, value: unknown): unknown {
  return typeof value === "string" && BIGINT_STRING.test(value) ? BigInt(value.slice(0, -1)) : value;
}

function checksum(text: string): string {
  return crc32(Buffer.from(text, "utf8")).toString(16).padStart(8, "0");
}

/**
 * One journal line: `<json>\t<crc32 of json, 8 hex>\n`. JSON never contains a raw tab, so the
 * last tab splits payload and checksum.
 */
export function encodeLine(seq: number, record: JournalRecord): string {
  const json = JSON.stringify({ seq, ...record }, replacer);
  return `${json}\t${checksum(json)}\n`;
}

/** Decodes one line (without its newline); `undefined` when the checksum or JSON is bad. */
export function decodeLine(line: string): SequencedRecord | undefined {
  const tab = line.lastIndexOf("\t");
  if (tab < 0) return undefined;
  const json = line.slice(0, tab);
  if (line.slice(tab + 1) !== checksum(json)) return undefined;
  try {
    const parsed: unknown = JSON.parse(json, reviver);
    if (typeof parsed !== "object" || parsed === null || typeof (parsed as { seq?: unknown }).seq !== "number") return undefined;
    return parsed as SequencedRecord;
  } catch {
    return undefined;
  }
}

/** Result of parsing a journal's bytes: the records and how many bytes of the file are sound. */
export type ParsedJournal = { records: SequencedRecord[]; validBytes: number; tornBytes: number };

/**
 * Parses a journal. Only the last line may be bad (a write torn by a crash: no newline, or a
 * checksum mismatch) and it is ignored; a bad line before a good one, or a sequence gap, means
 * the file was damaged after it was fsynced and throws {@link JournalCorruptError}.
 */
export function parseJournal(bytes: Buffer, file = "journal"): ParsedJournal {
  const records: SequencedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const newline = bytes.indexOf(0x0a, offset);
    const end = newline < 0 ? bytes.length : newline;
    const record = newline < 0 ? undefined : decodeLine(bytes.subarray(offset, end).toString("utf8"));
    if (!record) {
      const rest = bytes.subarray(newline < 0 ? bytes.length : newline + 1);
      if (rest.some((b) => b === 0x0a)) throw new JournalCorruptError({ file, offset, reason: "a bad line is followed by more lines" });
      return { records, validBytes: offset, tornBytes: bytes.length - offset };
    }
    if (record.seq !== records.length)
      throw new JournalCorruptError({ file, offset, reason: `sequence ${record.seq} where ${records.length} was expected` });
    records.push(record);
    offset = end + 1;
  }
  return { records, validBytes: offset, tornBytes: 0 };
}
