import type { Address, LocalAccount } from "viem";
import {
  type CheckpointJournalRecord,
  type CheckpointOptimizerState,
  commitmentKey,
  type Journal,
  type JournalState,
  loadCheckpointOrTwin,
  type PipelineNeighbours,
  type ReceiptJournalRecord,
  replay,
  roundItems,
  saveCheckpoint,
} from "../journal/index.ts";
import { commitRound, journalMicrobatch, signBuiltCommitments, type StageMicrobatchRecord, toItem } from "./commitment.ts";
import type { CommitmentLedger } from "./ledger.ts";
import { type FlushOptions, type FlushResult, flushCommitments } from "./submit.ts";

/** One round of this stage, as the pipeline ran it (worker/pipeline `runStageRound` returns a superset). */
export type StageRoundOutput = {
  records: StageMicrobatchRecord[];
  /** Per-microbatch losses (last stage only). */
  losses: number[];
  /** Last stage: held-out loss of the round's end weights, when the pipeline evaluated. */
  evalLoss?: number | undefined;
  /** Where the round's wall time went in the pipeline (worker/pipeline's `RoundTimings`). */
  timings?: Record<string, number> | undefined;
  bytesSent: number;
  bytesReceived: number;
  /** The staked workers the round's data came from and went to (from their signed pipe hellos). */
  neighbours: PipelineNeighbours;
};

/** The stage the rounds train: runs a round (forward, backward, `step()`) and moves weights in and out. */
export type RoundRunner = {
  /** Runs one round; `undefined` when no work of that round reached this stage (a replica that joined after it started). */
  runRound(round: bigint): Promise<StageRoundOutput | undefined>;
  exportWeights(): Float32Array;
  importWeights(values: Float32Array): void;
  /** Optimizer state (Adam step and moments), checkpointed with the weights when present. */
  exportOptimizerState?: (() => CheckpointOptimizerState) | undefined;
  importOptimizerState?: ((state: CheckpointOptimizerState) => void) | undefined;
};

/** Reported after each round is journaled, committed, signed and flushed. */
export type RoundReport = {
  round: bigint;
  /** False when the journal already held the round (resumed past it). */
  trained: boolean;
  /** The round was durable and was executed again only to keep the pipeline in lockstep. */
  rerun: boolean;
  /** On a rerun: items whose recomputed hashes differ from the journaled ones (0 when deterministic). */
  rerunMismatches: number;
  meanLoss?: number | undefined;
  /** Microbatches this process trained in the round (the commitment's `itemCount`), when it ran here. */
  items?: number | undefined;
  /** Last stage: held-out loss of the weights the round ended with (not on a resumed round). */
  evalLoss?: number | undefined;
  /** The pipeline round's own split of its wall time (ms), when it ran here: forward, backward, step, codec, idle. */
  pipelineMs?: Record<string, number> | undefined;
  bytesOnWire: number;
  wallMs: number;
  flush: FlushResult;
};

export type TrainRoundsParameters = {
  journal: Journal;
  runner: RoundRunner;
  modelId: bigint;
  stage: number;
  /** Staking identity of the worker (the commitment's `worker`). */
  worker: Address;
  /** The worker's signing key (registered in the ledger; never the payout key). */
  signer: LocalAccount;
  ledger: CommitmentLedger;
  ledgerAddress: Address;
  chainId: number;
  /** Rounds to train, in order. */
  rounds: readonly bigint[];
  /** Microbatches every round must have (the commitment's `itemCount`); with `routed`, the most a round may have. */
  microbatches: number;
  /**
   * The stage is a replica: a round holds the microbatches routed to it and kept (any count from
   * 1 to `microbatches`), and a round routed elsewhere entirely is skipped (no commitment).
   */
  routed?: boolean | undefined;
  flush?: FlushOptions | undefined;
  /**
   * Execute rounds the journal already holds again (from their start checkpoint, journaling
   * nothing new, restoring the durable end weights afterwards), so a neighbour stage that lost
   * the round can redo it: every stage of a pipeline must run the same rounds in lockstep.
   */
  rerunDurable?: boolean | undefined;
  /**
   * The chain's current round (the oldest whose commit window is open). A process killed after a
   * round's end checkpoint and before its commitment record left that round durable but never
   * committed; every such round from here on is committed and submitted before training goes on,
   * so finished work is not lost. Rounds before it are past their window. Default: only `rounds`.
   */
  firstOpenRound?: bigint | undefined;
  onRound?: ((report: RoundReport) => void) | undefined;
  /**
   * Link receipts with the pipeline neighbours (docs/PROTOCOL.md "Link receipts"). `beforeDurable`
   * runs after a round's pipeline work and before it is journaled (also on a lockstep rerun): it
   * returns the upstream's receipt for the round's microbatches, which is journaled first, so a
   * round is never durable without it. `afterDurable` runs once the round is durable (trained,
   * rerun or resumed): it signs and sends this stage's receipts and returns neighbours' receipts
   * that arrived meanwhile, to journal.
   */
  receipts?: ReceiptExchange | undefined;
};

/** See {@link TrainRoundsParameters.receipts}. */
export type ReceiptExchange = {
  beforeDurable(round: bigint, records: readonly StageMicrobatchRecord[]): Promise<ReceiptJournalRecord[]>;
  afterDurable(round: bigint, state: JournalState, rerun: boolean): Promise<ReceiptJournalRecord[]>;
};

/**
 * Trains `rounds` of one stage with crash safety. On start it settles in-flight submissions
 * against the chain and restores the stage's weights from the last checkpoint. Per round: a
 * start checkpoint (its root is `weightsRootBefore`), the pipeline round, every microbatch item
 * journaled, the step checkpoint (`weightsRootAfter`), then commit, sign and a batched flush.
 * A round the journal already made durable is never recomputed, only committed and submitted.
 *
 * @example
 * await trainRounds({ journal, runner, modelId: 1n, stage: 0, worker, signer, ledger, ledgerAddress, chainId, rounds: [0n, 1n], microbatches: 4 })
 */
export async function trainRounds(p: TrainRoundsParameters): Promise<void> {
  const sign = () => signBuiltCommitments(p.journal, p.signer, { ledger: p.ledgerAddress, chainId: p.chainId });
  await submitFinishedWork(p);

  const restored = replay(p.journal.records).lastCheckpoint;
  if (restored) await restore(p, restored);

  for (const round of p.rounds) {
    const started = performance.now();
    const state = replay(p.journal.records);
    const done = state.roundLatest.get(round);
    let trained = false;
    let rerun = false;
    let rerunMismatches = 0;
    let output: StageRoundOutput | undefined;
    if (done && done.step >= 0 && p.rerunDurable) {
      ({ output, mismatches: rerunMismatches } = await rerunRound(p, state, round));
      rerun = true;
      for (const r of (await p.receipts?.beforeDurable(round, output.records)) ?? []) await p.journal.append(r);
    } else if (!done || done.step < 0) {
      if (!state.roundStarts.has(round)) await saveCheckpoint(p.journal, { round, step: -1, ...snapshot(p.runner) });
      output = await p.runner.runRound(round);
      if (!output || (p.routed && output.records.length === 0)) {
        if (!p.routed) throw new Error(`round ${round}: the pipeline ran nothing`);
        // Nothing was routed here this round (the runner brings its weights up to date itself).
        p.onRound?.({
          round,
          trained: false,
          rerun: false,
          rerunMismatches: 0,
          bytesOnWire: 0,
          wallMs: performance.now() - started,
          flush: { confirmed: [], foundOnChain: [], requeued: [], expired: [], deferred: [], transactions: [] },
        });
        continue;
      }
      if (p.routed ? output.records.length > p.microbatches : output.records.length !== p.microbatches)
        throw new Error(
          `round ${round}: the pipeline returned ${output.records.length} microbatches, expected ${p.routed ? "at most " : ""}${p.microbatches}`,
        );
      for (const r of (await p.receipts?.beforeDurable(round, output.records)) ?? []) await p.journal.append(r);
      for (const record of output.records) await journalMicrobatch(p.journal, { round, step: 0, record, neighbours: output.neighbours });
      const meanLoss = output.losses.length ? output.losses.reduce((a, b) => a + b, 0) / output.losses.length : undefined;
      await p.journal.append({
        type: "step",
        round,
        step: 0,
        loss: meanLoss,
        tokens: 0,
        microbatches: output.records.length,
        neighbours: output.neighbours,
      });
      await saveCheckpoint(p.journal, { round, step: 0, ...snapshot(p.runner) });
      trained = true;
    }
    if (p.receipts && (trained || rerun))
      for (const r of await p.receipts.afterDurable(round, replay(p.journal.records), rerun)) await p.journal.append(r);
    await commitRound(p.journal, {
      modelId: p.modelId,
      round,
      stage: p.stage,
      worker: p.worker,
      expectedItems: p.routed ? undefined : p.microbatches,
    });
    await sign();
    const flush = await flushCommitments(p.journal, p.ledger, p.flush);
    const losses = output?.losses ?? [];
    p.onRound?.({
      round,
      trained,
      rerun,
      rerunMismatches,
      meanLoss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : undefined,
      items: output?.records.length,
      evalLoss: output?.evalLoss,
      pipelineMs: output?.timings,
      bytesOnWire: output ? output.bytesSent + output.bytesReceived : 0,
      wallMs: performance.now() - started,
      flush,
    });
  }
}

/** What {@link submitFinishedWork} needs: the commitment side of {@link TrainRoundsParameters}. */
export type SubmitFinishedWorkParameters = Pick<
  TrainRoundsParameters,
  | "journal"
  | "modelId"
  | "stage"
  | "worker"
  | "signer"
  | "ledger"
  | "ledgerAddress"
  | "chainId"
  | "microbatches"
  | "routed"
  | "flush"
  | "firstOpenRound"
>;

/**
 * Commits, signs and submits every round this journal made durable and did not submit yet (a
 * crash between a round's end checkpoint and its commitment, a signature not sent, a batch in
 * doubt). Needs no neighbour: `shardholder train` calls it before connecting, so finished work
 * is on its way while the commit window is open even if the pipeline takes long to re-form.
 *
 * @example
 * await submitFinishedWork({ journal, modelId, stage, worker, signer, ledger, ledgerAddress, chainId, microbatches, firstOpenRound })
 */
export async function submitFinishedWork(p: SubmitFinishedWorkParameters): Promise<FlushResult> {
  if (p.firstOpenRound !== undefined)
    for (const round of durableUncommittedRounds(replay(p.journal.records), p.firstOpenRound, {
      modelId: p.modelId,
      stage: p.stage,
      worker: p.worker,
    }))
      await commitRound(p.journal, {
        modelId: p.modelId,
        round,
        stage: p.stage,
        worker: p.worker,
        expectedItems: p.routed ? undefined : p.microbatches,
      });
  await signBuiltCommitments(p.journal, p.signer, { ledger: p.ledgerAddress, chainId: p.chainId });
  return flushCommitments(p.journal, p.ledger, p.flush);
}

/** Runs a durable round again from its start weights, compares its items, restores the end weights. */
async function rerunRound(
  p: TrainRoundsParameters,
  state: JournalState,
  round: bigint,
): Promise<{ output: StageRoundOutput; mismatches: number }> {
  const start = state.roundStarts.get(round);
  const end = state.roundLatest.get(round);
  if (!start || !end) throw new Error(`round ${round} has no start or end checkpoint to rerun from`);
  await restore(p, start);
  const output = await p.runner.runRound(round);
  if (!output) throw new Error(`round ${round} reran with no work: only routed replicas skip rounds, and they never rerun`);
  const journaled = new Map(roundItems(state, round).map((item) => [item.microbatch, item]));
  let mismatches = 0;
  for (const record of output.records) {
    const before = journaled.get(record.index);
    const now = toItem(record, output.neighbours);
    if (
      !before ||
      before.inputActHash !== now.inputActHash ||
      before.outputActHash !== now.outputActHash ||
      before.upstreamGradHash !== now.upstreamGradHash ||
      before.inputGradHash !== now.inputGradHash ||
      before.gradRoot !== now.gradRoot ||
      before.weightsRoot !== now.weightsRoot ||
      before.upstream !== now.upstream ||
      before.downstream !== now.downstream
    )
      mismatches++;
  }
  // The commitment states the durable weights; continue from exactly those.
  await restore(p, end);
  return { output, mismatches };
}

function snapshot(runner: RoundRunner): { weights: Float32Array; optimizer?: CheckpointOptimizerState | undefined } {
  return { weights: runner.exportWeights(), optimizer: runner.exportOptimizerState?.() };
}

async function restore(p: TrainRoundsParameters, checkpoint: CheckpointJournalRecord): Promise<void> {
  // A deleted newest checkpoint file is not fatal while an identical older one exists.
  const { weights, optimizer } = await loadCheckpointOrTwin(p.journal.dir, checkpoint, p.journal.records);
  p.runner.importWeights(weights);
  if (optimizer && p.runner.importOptimizerState) p.runner.importOptimizerState(optimizer);
}

/**
 * The first round of `from..until` whose training is not durable in this journal (`until + 1`
 * when all are): what this stage needs its pipeline to run next after a start or a reconnect.
 */
export function firstRoundToTrain(state: JournalState, from: bigint, until: bigint): bigint {
  for (let round = from; round <= until; round++) {
    const latest = state.roundLatest.get(round);
    if (!latest || latest.step < 0) return round;
  }
  return until + 1n;
}

/**
 * Rounds from `from` on that this journal made durable (end checkpoint written) but never built
 * a commitment for: what a crash between the two leaves behind. Ascending.
 */
export function durableUncommittedRounds(
  state: JournalState,
  from: bigint,
  who: { modelId: bigint; stage: number; worker: Address },
): bigint[] {
  const out: bigint[] = [];
  for (const [round, latest] of state.roundLatest) {
    if (round < from || latest.step < 0) continue;
    if (!state.commitments.has(commitmentKey({ ...who, round }))) out.push(round);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The round before `firstRound` when the chain stores this worker's commitment of it but the
 * journal knows nothing of that commitment: the journal was deleted or replaced by an older
 * copy. Training `firstRound` from the weights such a journal holds would break weights
 * continuity (docs/PROTOCOL.md: round r must start from the worker's own round r-1 result),
 * which anyone can prove and the stake pays for. Undefined when the journal is consistent.
 *
 * @example
 * const lost = await missingCommittedRound({ state, firstRound: need, who, isStored: (round) => ledger.isStored({ ...who, round }) })
 */
export async function missingCommittedRound(p: {
  state: JournalState;
  firstRound: bigint;
  who: { modelId: bigint; stage: number; worker: Address };
  isStored: (round: bigint) => Promise<boolean>;
}): Promise<bigint | undefined> {
  if (p.firstRound === 0n) return undefined;
  const previous = p.firstRound - 1n;
  if (p.state.commitments.has(commitmentKey({ ...p.who, round: previous }))) return undefined;
  return (await p.isStored(previous)) ? previous : undefined;
}

/** `from..until` inclusive (empty when `from > until`). */
export function roundRange(from: bigint, until: bigint): bigint[] {
  const out: bigint[] = [];
  for (let round = from; round <= until; round++) out.push(round);
  return out;
}
