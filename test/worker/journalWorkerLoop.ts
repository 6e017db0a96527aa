// Test fixture: a stage worker's round loop over the real journal, checkpoints, commitments and
// submitter (against the real ComputeLedger), with a deterministic stand-in for the stage's
// compute, so a crashed and a clean run must reach byte-identical commitments and many kills fit
// in seconds. The real trainer under kill -9 is covered by trainKill.test.ts.
import { type Address, keccak256, type LocalAccount, toHex, zeroAddress } from "viem";
import {
  commitRound,
  type CommitmentLedger,
  flushCommitments,
  journalMicrobatch,
  signBuiltCommitments,
  type StageMicrobatchRecord,
} from "../../worker/commit/index.ts";
import { Journal, loadCheckpoint, replay, saveCheckpoint, type SequencedRecord } from "../../worker/journal/index.ts";

const STANDIN_UPSTREAM: Address = "0x00000000000000000000000000000000005ea3e0";

export type LoopParameters = {
  dir: string;
  ledger: CommitmentLedger;
  ledgerAddress: Address;
  chainId: number;
  signer: LocalAccount;
  worker: Address;
  modelId: bigint;
  stage: number;
  rounds: number;
  stepsPerRound: number;
  microbatchesPerStep: number;
  batchSize: number;
  elements: number;
  onAppend?: ((record: SequencedRecord) => void) | undefined;
  onOpen?: ((info: Journal["openInfo"]) => void) | undefined;
  /** Resolves once the chain's commit window of `round` is open (the ledger refuses others). */
  waitForRound?: ((round: bigint) => Promise<void>) | undefined;
};

/** The loop's deterministic initial weights (their root is the model's registered initial root). */
export function initWeights(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = Math.fround(Math.sin(i * 0.37) * 0.05);
  return w;
}

function microbatch(weights: Float32Array, round: bigint, index: number): StageMicrobatchRecord {
  const g = new Float32Array(weights.length);
  for (let i = 0; i < g.length; i++) g[i] = Math.fround(Math.sin((weights[i] as number) * 31 + index * 0.7 + Number(round)) * 0.01);
  const tag = (s: string) => keccak256(toHex(`${s}:${round}:${index}:${weights[index % weights.length]}`));
  return {
    index,
    inputActHash: tag("in"),
    outputActHash: tag("out"),
    upstreamGradHash: tag("up"),
    inputGradHash: tag("ig"),
    parameterGradient: g,
    weightsRoot: tag("w"),
  };
}

/** Runs (or resumes) the loop until every round is committed and submitted. */
export async function runWorkerLoop(p: LoopParameters): Promise<void> {
  const journal = await Journal.open(p.dir, { modelId: p.modelId, stage: p.stage, worker: p.worker });
  p.onOpen?.(journal.openInfo);
  if (p.onAppend) {
    const append = journal.append.bind(journal);
    journal.append = async (record) => {
      const sequenced = await append(record);
      p.onAppend?.(sequenced);
      return sequenced;
    };
  }
  const flush = () => flushCommitments(journal, p.ledger, { batchSize: p.batchSize, pendingTimeoutMs: 2_000, pollMs: 20 });
  const sign = () => signBuiltCommitments(journal, p.signer, { ledger: p.ledgerAddress, chainId: p.chainId });
  // Settle anything a crash left in flight before any new work.
  await sign();
  await flush();

  const state = replay(journal.records);
  let weights: Float32Array;
  let round: bigint;
  let nextStep: number;
  if (!state.lastCheckpoint) {
    weights = initWeights(p.elements);
    round = 0n;
    await saveCheckpoint(journal, { round, step: -1, weights });
    nextStep = 0;
  } else {
    weights = await loadCheckpoint(journal.dir, state.lastCheckpoint);
    round = state.lastCheckpoint.round;
    nextStep = state.lastCheckpoint.step + 1;
  }
  while (round < BigInt(p.rounds)) {
    if (nextStep === p.stepsPerRound) {
      await commitRound(journal, {
        modelId: p.modelId,
        round,
        stage: p.stage,
        worker: p.worker,
        expectedItems: p.stepsPerRound * p.microbatchesPerStep,
      });
      await sign();
      await p.waitForRound?.(round);
      await flush();
      round++;
      if (round < BigInt(p.rounds)) await saveCheckpoint(journal, { round, step: -1, weights });
      nextStep = 0;
      continue;
    }
    // The stand-in stage is the last of its model: a fixed stage-(s-1) neighbour upstream, nobody downstream.
    const neighbours = { upstream: p.stage > 0 ? STANDIN_UPSTREAM : zeroAddress, downstream: zeroAddress };
    const sum = new Float32Array(weights.length);
    for (let j = 0; j < p.microbatchesPerStep; j++) {
      const record = microbatch(weights, round, nextStep * p.microbatchesPerStep + j);
      await journalMicrobatch(journal, { round, step: nextStep, record, neighbours });
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (record.parameterGradient[i] as number);
    }
    const next = new Float32Array(weights.length);
    for (let i = 0; i < next.length; i++)
      next[i] = Math.fround((weights[i] as number) - (0.5 * (sum[i] as number)) / p.microbatchesPerStep);
    weights = next;
    await journal.append({
      type: "step",
      round,
      step: nextStep,
      loss: Number(weights[0]),
      tokens: 64 * p.microbatchesPerStep,
      microbatches: p.microbatchesPerStep,
      neighbours,
    });
    await saveCheckpoint(journal, { round, step: nextStep, weights });
    nextStep++;
  }
  await sign();
  await flush();
  await journal.close();
}
