import type { Address, Hex } from "viem";
import { assignSlots, type Commitment, type MicrobatchItem } from "../../sdk/protocol/index.ts";
import { JournalConflictError } from "./errors.ts";
import type { CheckpointJournalRecord, ReceiptJournalRecord, SequencedRecord, SubmitResultJournalRecord } from "./records.ts";

/** Where a commitment is on its way to the chain. */
export type CommitmentStatus = "built" | "signed" | "inFlight" | "confirmed" | "foundOnChain" | "expired";

/** A commitment as the journal knows it. */
export type CommitmentState = {
  key: string;
  commitment: Commitment;
  signature?: { signer: Address; signature: Hex } | undefined;
  status: CommitmentStatus;
  /** Batch currently carrying it (status `inFlight`). */
  batchId?: string | undefined;
  /** Transaction that stored it, when known. */
  txHash?: Hex | undefined;
};

/** One batched submission and what is known of it. */
export type BatchState = {
  batchId: string;
  keys: string[];
  sender: Address;
  nonce: number;
  txHash?: Hex | undefined;
  result?: SubmitResultJournalRecord["status"] | undefined;
};

/** A journaled microbatch item that is durable (its step is covered by a checkpoint). */
export type DurableItem = { step: number; item: MicrobatchItem; seq: number };

/** Everything a restarted worker needs, rebuilt from the journal alone. */
export type JournalState = {
  /** Last checkpoint: training resumes right after it. */
  lastCheckpoint?: CheckpointJournalRecord | undefined;
  /** Each round's starting checkpoint (`step = -1`): its root is the commitment's `weightsRootBefore`. */
  roundStarts: Map<bigint, CheckpointJournalRecord>;
  /** Each round's latest checkpoint: after its last step, its root is `weightsRootAfter`. */
  roundLatest: Map<bigint, CheckpointJournalRecord>;
  /** Last optimizer step whose weights are durable (equal to the last checkpoint's). */
  lastDurableStep?: { round: bigint; step: number } | undefined;
  /** Durable microbatch items per round, by microbatch index. */
  items: Map<bigint, Map<number, DurableItem>>;
  /** Items journaled after the last checkpoint: lost with the crash, to be recomputed. */
  discardedItems: number;
  commitments: Map<string, CommitmentState>;
  batches: Map<string, BatchState>;
  /** Batches with an intent and no result: the crash may have sent them. Resolve against the chain first. */
  inDoubt: BatchState[];
  /** Link receipts neighbours signed for this worker, per round (docs/PROTOCOL.md "Link receipts"). */
  receipts: Map<bigint, ReceiptJournalRecord[]>;
  /** Rounds with a built commitment. */
  committedRounds: Set<bigint>;
  /** Process restarts seen (`resume` records). */
  restarts: number;
  /** Keys that an intent listed although they were already stored on-chain (must stay empty). */
  doubleSubmissions: string[];
};

function sameItem(a: MicrobatchItem, b: MicrobatchItem): boolean {
  return (
    a.index === b.index &&
    a.microbatch === b.microbatch &&
    a.upstream === b.upstream &&
    a.downstream === b.downstream &&
    a.inputActHash === b.inputActHash &&
    a.outputActHash === b.outputActHash &&
    a.upstreamGradHash === b.upstreamGradHash &&
    a.inputGradHash === b.inputGradHash &&
    a.gradRoot === b.gradRoot &&
    a.weightsRoot === b.weightsRoot
  );
}

function sameCommitment(a: Commitment, b: Commitment): boolean {
  return (
    a.modelId === b.modelId &&
    a.round === b.round &&
    a.stage === b.stage &&
    a.worker.toLowerCase() === b.worker.toLowerCase() &&
    a.itemsRoot === b.itemsRoot &&
    a.itemCount === b.itemCount &&
    a.weightsRootBefore === b.weightsRootBefore &&
    a.weightsRootAfter === b.weightsRootAfter
  );
}

const isStored = (s: CommitmentStatus): boolean => s === "confirmed" || s === "foundOnChain";

/**
 * Rebuilds the worker's state from journal records. Rules:
 * - weights and microbatch items are durable only up to the last checkpoint; items journaled
 *   after it (or before a restart without a covering checkpoint) are dropped and recomputed;
 * - a commitment never changes once built (a second, different one for the same key throws);
 * - a batch with an intent but no result is "in doubt": the caller must ask the chain before
 *   sending its commitments again (see `resolveInDoubt` in worker/commit).
 *
 * @example
 * const state = replay(journal.records)
 * if (state.lastCheckpoint) weights = await loadCheckpoint(journal.dir, state.lastCheckpoint)
 */
export function replay(records: readonly SequencedRecord[]): JournalState {
  const state: JournalState = {
    roundStarts: new Map(),
    roundLatest: new Map(),
    items: new Map(),
    discardedItems: 0,
    commitments: new Map(),
    batches: new Map(),
    inDoubt: [],
    committedRounds: new Set(),
    receipts: new Map(),
    restarts: 0,
    doubleSubmissions: [],
  };
  let pending: Array<{ round: bigint; step: number; item: MicrobatchItem; seq: number }> = [];

  for (const r of records) {
    switch (r.type) {
      case "open":
        break;
      case "resume":
        state.restarts++;
        state.discardedItems += pending.length;
        pending = [];
        break;
      case "microbatch":
        pending.push({ round: r.round, step: r.step, item: r.item, seq: r.seq });
        break;
      case "step":
        break;
      case "receipt": {
        const held = state.receipts.get(r.round) ?? [];
        if (!held.some((x) => x.signature === r.signature)) held.push(r);
        state.receipts.set(r.round, held);
        break;
      }
      case "checkpoint": {
        state.lastCheckpoint = r;
        state.roundLatest.set(r.round, r);
        if (r.step < 0) state.roundStarts.set(r.round, r);
        else state.lastDurableStep = { round: r.round, step: r.step };
        const keep = pending.filter((p) => p.round === r.round && p.step <= r.step);
        state.discardedItems += pending.length - keep.length;
        for (const p of keep) {
          const byIndex = state.items.get(p.round) ?? new Map<number, DurableItem>();
          state.items.set(p.round, byIndex);
          const earlier = byIndex.get(p.item.index);
          if (earlier && !sameItem(earlier.item, p.item))
            throw new JournalConflictError({
              seq: p.seq,
              reason: `round ${p.round} microbatch ${p.item.index} was already durable with other hashes`,
            });
          if (!earlier) byIndex.set(p.item.index, { step: p.step, item: p.item, seq: p.seq });
        }
        pending = [];
        break;
      }
      case "commitment": {
        const existing = state.commitments.get(r.key);
        if (existing && !sameCommitment(existing.commitment, r.commitment))
          throw new JournalConflictError({ seq: r.seq, reason: `commitment ${r.key} was already built with other contents` });
        if (!existing) state.commitments.set(r.key, { key: r.key, commitment: r.commitment, status: "built" });
        state.committedRounds.add(r.commitment.round);
        break;
      }
      case "signature": {
        const c = state.commitments.get(r.key);
        if (!c) throw new JournalConflictError({ seq: r.seq, reason: `signature for unknown commitment ${r.key}` });
        c.signature = { signer: r.signer, signature: r.signature };
        if (c.status === "built") c.status = "signed";
        break;
      }
      case "submitIntent": {
        const batch: BatchState = { batchId: r.batchId, keys: r.keys, sender: r.sender, nonce: r.nonce };
        state.batches.set(r.batchId, batch);
        for (const key of r.keys) {
          const c = state.commitments.get(key);
          if (!c) throw new JournalConflictError({ seq: r.seq, reason: `batch ${r.batchId} lists unknown commitment ${key}` });
          if (isStored(c.status)) state.doubleSubmissions.push(key);
          c.status = "inFlight";
          c.batchId = r.batchId;
        }
        break;
      }
      case "submitSent": {
        const batch = state.batches.get(r.batchId);
        if (!batch) throw new JournalConflictError({ seq: r.seq, reason: `unknown batch ${r.batchId}` });
        batch.txHash = r.txHash;
        break;
      }
      case "submitResult": {
        // A pre-send chain check may find commitments stored, or their window closed, without any batch of ours.
        const batch = state.batches.get(r.batchId);
        if (!batch && r.status !== "foundOnChain" && r.status !== "expired")
          throw new JournalConflictError({ seq: r.seq, reason: `unknown batch ${r.batchId}` });
        if (batch) {
          batch.result = r.status;
          if (r.txHash) batch.txHash = r.txHash;
        }
        const stored = r.status === "confirmed" || r.status === "foundOnChain";
        for (const key of r.keys) {
          const c = state.commitments.get(key);
          if (!c) continue;
          c.batchId = undefined;
          if (stored) {
            c.status = r.status === "confirmed" ? "confirmed" : "foundOnChain";
            c.txHash = r.txHash ?? batch?.txHash;
          } else if (r.status === "expired") c.status = "expired";
          else c.status = c.signature ? "signed" : "built";
        }
        break;
      }
    }
  }
  state.discardedItems += pending.length;
  state.inDoubt = [...state.batches.values()].filter((b) => b.result === undefined);
  return state;
}

/** The durable items of `round`, ordered by microbatch index. */
export function roundItems(state: JournalState, round: bigint): MicrobatchItem[] {
  const byIndex = state.items.get(round);
  if (!byIndex) return [];
  return assignSlots([...byIndex.values()].map((d) => d.item));
}

/** Signed commitments that are neither stored on-chain nor in a batch: the submission queue. */
export function submittable(state: JournalState): CommitmentState[] {
  return [...state.commitments.values()].filter((c) => c.status === "signed");
}
