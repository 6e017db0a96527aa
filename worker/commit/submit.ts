import { type Hex, keccak256, toHex } from "viem";
import type { SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import { type BatchState, type CommitmentState, type Journal, replay, submittable } from "../journal/index.ts";
import { isTransientRpcError } from "../rpc/transport.ts";
import type { CommitmentLedger } from "./ledger.ts";

/** Tuning of {@link flushCommitments}. */
export type FlushOptions = {
  /** Commitments per transaction (the ledger amortizes best around 32). */
  batchSize?: number | undefined;
  /** How long to wait for a known transaction of an in-doubt batch to be mined. */
  receiptTimeoutMs?: number | undefined;
  /** How long to wait for an in-doubt nonce that sits in the mempool. */
  pendingTimeoutMs?: number | undefined;
  /** Poll interval while waiting for the mempool. */
  pollMs?: number | undefined;
};

/** What a flush did, by commitment key. */
export type FlushResult = {
  /** Stored by a transaction this flush sent and saw mined. */
  confirmed: string[];
  /** Found already stored (a transaction sent before a crash, or a relayer's). */
  foundOnChain: string[];
  /** Back in the queue (their transaction never landed). */
  requeued: string[];
  /** Never stored, and their round's commit window closed: dropped from the queue (that work earns nothing). */
  expired: string[];
  /** Transactions this flush sent. */
  transactions: Hex[];
  /**
   * Caught by a chain outage mid-submission (the RPC layer gave up, or the receipt wait timed
   * out): settled by the nonce when the chain answered again, else left in doubt; either way the
   * next flush finishes them. The process goes on training.
   */
  deferred: string[];
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The chain did not answer (the RPC layer gave up, or a receipt wait ran out), as opposed to a refusal. */
function isChainOutage(err: unknown): boolean {
  return (
    isTransientRpcError(err) ||
    (err instanceof Error && (err.name === "RpcStalledError" || err.name === "WaitForTransactionReceiptTimeoutError"))
  );
}

function emptyResult(): FlushResult {
  return { confirmed: [], foundOnChain: [], requeued: [], expired: [], transactions: [], deferred: [] };
}

/** Splits keys into stored / not stored on the chain and journals the stored ones. */
async function settleByChain(journal: Journal, ledger: CommitmentLedger, batchId: string, keys: string[], out: FlushResult, txHash?: Hex) {
  const state = replay(journal.records);
  const stored: string[] = [];
  const missing: string[] = [];
  for (const key of keys) {
    const c = state.commitments.get(key);
    if (c && (await ledger.isStored(c.commitment))) stored.push(key);
    else missing.push(key);
  }
  if (stored.length) await journal.append({ type: "submitResult", batchId, status: "foundOnChain", keys: stored, txHash });
  if (missing.length) await journal.append({ type: "submitResult", batchId, status: "abandoned", keys: missing, txHash });
  out.foundOnChain.push(...stored);
  out.requeued.push(...missing);
}

async function waitForNonce(ledger: CommitmentLedger, above: number, timeoutMs: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await ledger.nonce("latest")) > above) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}

/**
 * Settles batches a crash left with an intent and no result, asking the chain, never guessing:
 * - a known transaction that is mined decides (success: stored; revert: check each commitment);
 * - otherwise the intent's nonce decides: if the sender's mined nonce passed it, some
 *   transaction with that nonce landed, and each commitment is looked up on-chain; if the nonce
 *   sits in the mempool, wait for it; if the node never saw it, the batch is abandoned and its
 *   commitments are requeued (a resend reuses that same nonce, so at most one of the two lands).
 * A batch still pending after `pendingTimeoutMs` stays in doubt and its keys are not resent.
 */
export async function resolveInDoubt(journal: Journal, ledger: CommitmentLedger, options: FlushOptions = {}): Promise<FlushResult> {
  const { receiptTimeoutMs = 30_000, pendingTimeoutMs = 60_000, pollMs = 250 } = options;
  const out = emptyResult();
  for (const batch of replay(journal.records).inDoubt) {
    if (batch.sender.toLowerCase() !== ledger.sender.toLowerCase()) continue;
    await resolveBatch(journal, ledger, batch, out, { receiptTimeoutMs, pendingTimeoutMs, pollMs });
  }
  return out;
}

async function resolveBatch(
  journal: Journal,
  ledger: CommitmentLedger,
  batch: BatchState,
  out: FlushResult,
  o: { receiptTimeoutMs: number; pendingTimeoutMs: number; pollMs: number },
) {
  if (batch.txHash) {
    const mined = await ledger.receipt(batch.txHash, o.receiptTimeoutMs);
    if (mined?.status === "success") {
      await journal.append({
        type: "submitResult",
        batchId: batch.batchId,
        status: "confirmed",
        keys: batch.keys,
        txHash: mined.txHash,
        blockNumber: mined.blockNumber,
      });
      out.confirmed.push(...batch.keys);
      return;
    }
    if (mined) return settleByChain(journal, ledger, batch.batchId, batch.keys, out, mined.txHash);
  }
  if ((await ledger.nonce("latest")) > batch.nonce) return settleByChain(journal, ledger, batch.batchId, batch.keys, out, batch.txHash);
  if ((await ledger.nonce("pending")) > batch.nonce) {
    if (await waitForNonce(ledger, batch.nonce, o.pendingTimeoutMs, o.pollMs))
      return settleByChain(journal, ledger, batch.batchId, batch.keys, out, batch.txHash);
    return; // still in the mempool: leave it in doubt rather than risk a second submission
  }
  await journal.append({ type: "submitResult", batchId: batch.batchId, status: "abandoned", keys: batch.keys, txHash: batch.txHash });
  out.requeued.push(...batch.keys);
}

function batchIdOf(nonce: number, keys: readonly string[]): string {
  return `${nonce}-${keccak256(toHex(keys.join(","))).slice(2, 14)}`;
}

function toSigned(c: CommitmentState): SignedCommitment {
  if (!c.signature) throw new Error(`commitment ${c.key} is not signed`);
  return { commitment: c.commitment, signature: c.signature.signature };
}

/**
 * Sends every signed, unsubmitted commitment in batches. Before each batch, commitments the
 * chain already stores are journaled as `foundOnChain` and skipped; then an intent with the
 * nonce is fsynced before the transaction leaves, and its outcome after it is mined.
 * Call {@link resolveInDoubt} first after a restart ({@link flushCommitments} does both).
 */
export async function submitPending(journal: Journal, ledger: CommitmentLedger, options: FlushOptions = {}): Promise<FlushResult> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const out = emptyResult();
  const state = replay(journal.records);
  if (state.inDoubt.length) return out; // never send while an earlier batch may still land
  const queue: CommitmentState[] = [];
  const alreadyStored: string[] = [];
  const expired: string[] = [];
  const closed = new Map<string, Promise<boolean>>();
  const windowClosed = (c: CommitmentState): Promise<boolean> => {
    const at = `${c.commitment.modelId}:${c.commitment.round}`;
    let known = closed.get(at);
    if (!known) closed.set(at, (known = ledger.commitWindowClosed(c.commitment.modelId, c.commitment.round)));
    return known;
  };
  for (const c of submittable(state)) {
    if (await ledger.isStored(c.commitment)) alreadyStored.push(c.key);
    // A commitment the ledger can no longer accept would fail every batch it rides in, forever.
    else if (await windowClosed(c)) expired.push(c.key);
    else queue.push(c);
  }
  if (alreadyStored.length) {
    await journal.append({ type: "submitResult", batchId: "precheck", status: "foundOnChain", keys: alreadyStored });
    out.foundOnChain.push(...alreadyStored);
  }
  if (expired.length) {
    await journal.append({ type: "submitResult", batchId: "precheck", status: "expired", keys: expired });
    out.expired.push(...expired);
  }
  for (let start = 0; start < queue.length; start += batchSize) {
    const batch = queue.slice(start, start + batchSize);
    const keys = batch.map((c) => c.key);
    const nonce = await ledger.nonce("pending");
    const batchId = batchIdOf(nonce, keys);
    await journal.append({ type: "submitIntent", batchId, keys, sender: ledger.sender, nonce });
    let mined;
    let sentHash: Hex | undefined;
    try {
      mined = await ledger.submit(batch.map(toSigned), {
        onSent: async (txHash) => {
          sentHash = txHash;
          await journal.append({ type: "submitSent", batchId, txHash });
        },
      });
    } catch (err) {
      // A refused simulation sent nothing, but a failure while waiting may follow a send: let
      // the nonce decide, exactly as after a crash.
      const inDoubt: BatchState = { batchId, keys, sender: ledger.sender, nonce, txHash: sentHash };
      const outage = isChainOutage(err);
      try {
        await resolveBatch(journal, ledger, inDoubt, out, {
          receiptTimeoutMs: 5_000,
          pendingTimeoutMs: 5_000,
          pollMs: options.pollMs ?? 250,
        });
      } catch (resolveErr) {
        // Still no chain: the intent stays journaled without a result, so the batch is in doubt
        // and the next flush (or a restart) settles it by its nonce before anything is resent.
        if (!outage || !isChainOutage(resolveErr)) throw resolveErr;
      }
      if (!outage) throw err;
      out.deferred.push(...keys.filter((k) => !out.confirmed.includes(k) && !out.foundOnChain.includes(k)));
      return out;
    }
    out.transactions.push(mined.txHash);
    if (mined.status === "success") {
      await journal.append({
        type: "submitResult",
        batchId,
        status: "confirmed",
        keys,
        txHash: mined.txHash,
        blockNumber: mined.blockNumber,
      });
      out.confirmed.push(...keys);
    } else {
      await settleByChain(journal, ledger, batchId, keys, out, mined.txHash);
    }
  }
  return out;
}

/**
 * Resume-safe submission: settle in-doubt batches against the chain, then send the queue.
 *
 * @example
 * const result = await flushCommitments(journal, sdkCommitmentLedger(client, { deployments, account }), { batchSize: 32 })
 */
export async function flushCommitments(journal: Journal, ledger: CommitmentLedger, options: FlushOptions = {}): Promise<FlushResult> {
  const first = await resolveInDoubt(journal, ledger, options);
  const second = await submitPending(journal, ledger, options);
  return {
    confirmed: [...first.confirmed, ...second.confirmed],
    foundOnChain: [...first.foundOnChain, ...second.foundOnChain],
    requeued: [...first.requeued, ...second.requeued],
    expired: [...first.expired, ...second.expired],
    transactions: second.transactions,
    deferred: [...first.deferred, ...second.deferred],
  };
}
