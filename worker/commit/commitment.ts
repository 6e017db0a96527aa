import type { Address, Hex, LocalAccount } from "viem";
import { fastGradRoot } from "../backend/roots.ts";
import { type Commitment, itemsTree, type MicrobatchItem, signCommitment } from "../../sdk/protocol/index.ts";
import { BaseError } from "../../sdk/errors/base.ts";
import {
  commitmentKey,
  type Journal,
  type MicrobatchJournalRecord,
  type PipelineNeighbours,
  replay,
  roundItems,
  type CommitmentState,
} from "../journal/index.ts";

/**
 * What a pipeline stage returns per microbatch (worker/pipeline's stage runner): the hashes of
 * the tensors it received and sent, and its parameter gradient for this microbatch.
 */
export type StageMicrobatchRecord = {
  /** The round's microbatch (the item's `microbatch`; its slot is assigned when the round is committed). */
  index: number;
  inputActHash: Hex;
  outputActHash: Hex;
  upstreamGradHash: Hex;
  inputGradHash: Hex;
  parameterGradient: Float32Array;
  /** Root of the weights the microbatch ran on (its optimizer step's start). */
  weightsRoot: Hex;
  /** `gradRoot(parameterGradient)` when the caller already hashed it (storing the gradient does). */
  gradRoot?: Hex | undefined;
  /** The neighbours this microbatch was exchanged with, when they differ per microbatch (replicas). */
  upstream?: Address | undefined;
  downstream?: Address | undefined;
};

/** Thrown when a round cannot be committed from what the journal holds. */
export class CommitRoundError extends BaseError {
  constructor({ round, reason }: { round: bigint; reason: string }) {
    super(`Cannot commit round ${round}: ${reason}.`, { name: "CommitRoundError" });
  }
}

/**
 * The commitment item of one microbatch: the stage's hashes plus the `gradRoot` (SDK chunk tree
 * of the quantized parameter gradient) and the neighbours it was exchanged with (the record's own,
 * else the round's `neighbours`). Its slot (`index`) is provisionally the microbatch;
 * {@link buildCommitment} assigns the final ones.
 *
 * @example
 * const item = toItem(record, { upstream, downstream }) // item.gradRoot === gradRoot(record.parameterGradient)
 */
export function toItem(record: StageMicrobatchRecord, neighbours: PipelineNeighbours): MicrobatchItem {
  return {
    index: record.index,
    microbatch: record.index,
    inputActHash: record.inputActHash,
    outputActHash: record.outputActHash,
    upstreamGradHash: record.upstreamGradHash,
    inputGradHash: record.inputGradHash,
    gradRoot: record.gradRoot ?? fastGradRoot(record.parameterGradient),
    weightsRoot: record.weightsRoot,
    upstream: record.upstream ?? neighbours.upstream,
    downstream: record.downstream ?? neighbours.downstream,
  };
}

/**
 * Journals one finished microbatch as its item (the gradient itself is not stored).
 *
 * @example
 * await journalMicrobatch(journal, { round: 3n, step: 0, record, neighbours })
 */
export async function journalMicrobatch(
  journal: Journal,
  { round, step, record, neighbours }: { round: bigint; step: number; record: StageMicrobatchRecord; neighbours: PipelineNeighbours },
): Promise<MicrobatchJournalRecord> {
  const entry: MicrobatchJournalRecord = { type: "microbatch", round, step, item: toItem(record, neighbours) };
  await journal.append(entry);
  return entry;
}

/** Parameters of {@link buildCommitment}. */
export type BuildCommitmentParameters = {
  modelId: bigint;
  round: bigint;
  stage: number;
  /** The staking identity (rewards go to its payout address). */
  worker: Address;
  /** The items in slot order ({@link assignSlots}; `roundItems` returns them so). */
  items: readonly MicrobatchItem[];
  weightsRootBefore: Hex;
  weightsRootAfter: Hex;
};

/**
 * The round commitment (docs/PROTOCOL.md) over `items`: `itemsRoot` from the SDK items tree,
 * `itemCount` their number.
 *
 * @example
 * const commitment = buildCommitment({ modelId: 1n, round: 0n, stage: 1, worker, items: assignSlots(items), weightsRootBefore, weightsRootAfter })
 */
export function buildCommitment(p: BuildCommitmentParameters): Commitment {
  const tree = itemsTree(p.items);
  return {
    modelId: p.modelId,
    round: p.round,
    stage: p.stage,
    worker: p.worker,
    itemsRoot: tree.root,
    itemCount: p.items.length,
    weightsRootBefore: p.weightsRootBefore,
    weightsRootAfter: p.weightsRootAfter,
  };
}

/**
 * Builds `round`'s commitment from the journal alone (durable items, the round's start
 * checkpoint as `weightsRootBefore`, its latest checkpoint as `weightsRootAfter`; each item names
 * the neighbours its microbatch was exchanged with) and journals it. Idempotent: a commitment already journaled for the round is returned unchanged.
 *
 * @example
 * const { commitment } = await commitRound(journal, { modelId: 1n, round: 0n, stage: 0, worker, expectedItems: 8 })
 */
export async function commitRound(
  journal: Journal,
  p: { modelId: bigint; round: bigint; stage: number; worker: Address; expectedItems?: number | undefined },
): Promise<CommitmentState> {
  const state = replay(journal.records);
  const key = commitmentKey(p);
  const existing = state.commitments.get(key);
  if (existing) return existing;
  const start = state.roundStarts.get(p.round);
  const latest = state.roundLatest.get(p.round);
  if (!start) throw new CommitRoundError({ round: p.round, reason: "no start checkpoint (weightsRootBefore) was journaled" });
  if (!latest || latest.step < 0)
    throw new CommitRoundError({ round: p.round, reason: "no step checkpoint (weightsRootAfter) was journaled" });
  const items = roundItems(state, p.round);
  if (items.length === 0) throw new CommitRoundError({ round: p.round, reason: "no durable microbatch items" });
  if (p.expectedItems !== undefined && items.length !== p.expectedItems)
    throw new CommitRoundError({ round: p.round, reason: `${items.length} durable items where ${p.expectedItems} were expected` });
  const commitment = buildCommitment({ ...p, items, weightsRootBefore: start.weightsRoot, weightsRootAfter: latest.weightsRoot });
  await journal.append({ type: "commitment", key, commitment });
  return { key, commitment, status: "built" };
}

/**
 * Signs every journaled commitment that has no signature yet with the worker's signing key
 * (never the payout key) and journals the signatures. Returns how many were signed.
 *
 * @example
 * await signBuiltCommitments(journal, privateKeyToAccount(signingKey), { ledger, chainId })
 */
export async function signBuiltCommitments(
  journal: Journal,
  signer: LocalAccount,
  { ledger, chainId }: { ledger: Address; chainId: number },
): Promise<number> {
  const state = replay(journal.records);
  let signed = 0;
  for (const c of state.commitments.values()) {
    if (c.signature) continue;
    const signature = await signCommitment(signer, { ledger, chainId, commitment: c.commitment });
    await journal.append({ type: "signature", key: c.key, signer: signer.address, signature });
    signed++;
  }
  return signed;
}
