// What a serving stage keeps of each request it served (docs/PROTOCOL.md "Verified inference"):
// per position, the hash of the payload it received and of the payload it sent, the payloads
// themselves by hash (validators fetch them to re-execute), and its signed commitment.
import { type Hex, keccak256 } from "viem";
import { type ServingCommitment, servingOutputsTree } from "../../sdk/protocol/serving.ts";

/** One generated position as a stage served it. */
export type ServedPosition = {
  /** keccak256 of the input payload received at this position (stage 0: none, its input is the token window). */
  inputHash?: Hex | undefined;
  /** keccak256 of the payload sent at this position: the committed leaf. */
  outputHash: Hex;
};

/** One request as one stage served it, and what it signed about it. */
export type ServingRecord = {
  requestId: bigint;
  stage: number;
  /** The request's input (prompt) hash, as stage 0 announced it. */
  inputHash: Hex;
  positions: ServedPosition[];
  /** Set once the stage committed (after its last position). */
  commitment?: ServingCommitment | undefined;
  /** The operator's 64-byte compact signature of `commitment`. */
  signature?: Hex | undefined;
};

/** The commitment of what a stage sent: its outputs tree over the positions in order. */
export function commitmentOf(record: Pick<ServingRecord, "positions">, terms: { weightsRoot: Hex; sampling: Hex }): ServingCommitment {
  return {
    weightsRoot: terms.weightsRoot,
    sampling: terms.sampling,
    outputsRoot: servingOutputsTree(record.positions.map((p) => p.outputHash)).root,
    positions: record.positions.length,
  };
}

/**
 * A stage's serving records and the payloads they name, in memory, the newest `maxRequests`
 * requests (older ones are forgotten with their payloads).
 *
 * @example
 * const log = new ServingLog()
 * log.begin(7n, 1, inputHash); log.served(7n, received, sent)
 * log.record(7n)?.positions[0]?.outputHash // keccak256(sent)
 */
export class ServingLog {
  private readonly records = new Map<bigint, ServingRecord>();
  private readonly payloads = new Map<Hex, { bytes: Uint8Array; refs: number }>();

  constructor(readonly maxRequests = 256) {}

  /** Opens the record of `requestId` (replacing an unfinished one of the same id). */
  begin(requestId: bigint, stage: number, inputHash: Hex): ServingRecord {
    this.forget(requestId);
    const record: ServingRecord = { requestId, stage, inputHash, positions: [] };
    this.records.set(requestId, record);
    while (this.records.size > this.maxRequests) this.forget(this.records.keys().next().value as bigint);
    return record;
  }

  /** Records the next position of `requestId`: the payload received (if any) and the payload sent. Returns the output hash. */
  served(requestId: bigint, input: Uint8Array | undefined, output: Uint8Array): Hex {
    const record = this.records.get(requestId);
    if (!record) throw new Error(`no serving record of request ${requestId}`);
    const outputHash = this.keep(output);
    record.positions.push({ inputHash: input && this.keep(input), outputHash });
    return outputHash;
  }

  /** Seals the record with the stage's signed commitment. */
  committed(requestId: bigint, commitment: ServingCommitment, signature: Hex): void {
    const record = this.records.get(requestId);
    if (!record) throw new Error(`no serving record of request ${requestId}`);
    record.commitment = commitment;
    record.signature = signature;
  }

  /** The record of `requestId`, if still kept. */
  record(requestId: bigint): ServingRecord | undefined {
    return this.records.get(requestId);
  }

  /** The payload hashing to `hash` (a received input or a sent output), if still kept. */
  payload(hash: Hex): Uint8Array | undefined {
    return this.payloads.get(hash.toLowerCase() as Hex)?.bytes;
  }

  private keep(bytes: Uint8Array): Hex {
    const hash = keccak256(bytes);
    const kept = this.payloads.get(hash);
    if (kept) kept.refs++;
    else this.payloads.set(hash, { bytes, refs: 1 });
    return hash;
  }

  private forget(requestId: bigint): void {
    const record = this.records.get(requestId);
    if (!record) return;
    this.records.delete(requestId);
    for (const p of record.positions)
      for (const hash of [p.inputHash, p.outputHash]) {
        if (!hash) continue;
        const kept = this.payloads.get(hash);
        if (kept && --kept.refs === 0) this.payloads.delete(hash);
      }
  }
}
