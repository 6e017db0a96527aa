import type { Address, LocalAccount } from "viem";
import { type Journal, loadCheckpoint, replay, saveCheckpoint } from "../journal/index.ts";
import { commitRound, journalMicrobatch, signBuiltCommitments, type StageMicrobatchRecord } from "./commitment.ts";
import type { CommitmentLedger } from "./ledger.ts";
import { type FlushOptions, type FlushResult, flushCommitments } from "./submit.ts";

/** One round of this stage, as the pipeline ran it (worker/pipeline `runStageRound` returns a superset). */
export type StageRoundOutput = {
  records: StageMicrobatchRecord[];
  /** Per-microbatch losses (last stage only). */
  losses: number[];
  bytesSent: number;
  bytesReceived: number;
};

/** The stage the rounds train: runs a round (forward, backward, `step()`) and moves weights in and out. */
export type RoundRunner = {
  runRound(round: bigint): Promise<StageRoundOutput>;
  exportWeights(): Float32Array;
  importWeights(values: Float32Array): void;
};

/** Reported after each round is journaled, committed, signed and flushed. */
export type RoundReport = {
  round: bigint;
  /** False when the journal already held the round (resumed past it). */
  trained: boolean;
  meanLoss?: number | undefined;
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
  /** Microbatches every round must have (the commitment's `itemCount`). */
  microbatches: number;
  flush?: FlushOptions | undefined;
  onRound?: ((report: RoundReport) => void) | undefined;
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
  await sign();
  await flushCommitments(p.journal, p.ledger, p.flush);

  const restored = replay(p.journal.records).lastCheckpoint;
  if (restored) p.runner.importWeights(await loadCheckpoint(p.journal.dir, restored));

  for (const round of p.rounds) {
    const started = performance.now();
    const state = replay(p.journal.records);
    const done = state.roundLatest.get(round);
    let trained = false;
    let output: StageRoundOutput | undefined;
    if (!done || done.step < 0) {
      if (!state.roundStarts.has(round)) await saveCheckpoint(p.journal, { round, step: -1, weights: p.runner.exportWeights() });
      output = await p.runner.runRound(round);
      if (output.records.length !== p.microbatches)
        throw new Error(`round ${round}: the pipeline returned ${output.records.length} microbatches, expected ${p.microbatches}`);
      for (const record of output.records) await journalMicrobatch(p.journal, { round, step: 0, record });
      const meanLoss = output.losses.length ? output.losses.reduce((a, b) => a + b, 0) / output.losses.length : undefined;
      await p.journal.append({ type: "step", round, step: 0, loss: meanLoss, tokens: 0, microbatches: output.records.length });
      await saveCheckpoint(p.journal, { round, step: 0, weights: p.runner.exportWeights() });
      trained = true;
    }
    await commitRound(p.journal, { modelId: p.modelId, round, stage: p.stage, worker: p.worker, expectedItems: p.microbatches });
    await sign();
    const flush = await flushCommitments(p.journal, p.ledger, p.flush);
    const losses = output?.losses ?? [];
    p.onRound?.({
      round,
      trained,
      meanLoss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : undefined,
      bytesOnWire: output ? output.bytesSent + output.bytesReceived : 0,
      wallMs: performance.now() - started,
      flush,
    });
  }
}
