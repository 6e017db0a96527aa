// What every kind of `shardholder train` session shares (train.ts: one process per stage in
// lockstep; swarm.ts: replicas of the last stage): the per-process state, entering a round,
// reporting it, and the commitment side of `trainRounds`.
import type { Journal } from "../journal/index.ts";
import { pruneCheckpoints, replay, roundItems } from "../journal/index.ts";
import { type CommitmentLedger, type RoundReport, roundRange } from "../commit/index.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { type ContentStore, RING_SIZE } from "../p2p/content.ts";
import type { PipeAuth } from "../p2p/hello.ts";
import { linkReceiptExchange, type LinkReceiptExchangeParameters } from "../p2p/receipts.ts";
import type { createPipeNode } from "../p2p/node.ts";
import type { LoadedStage } from "../pipeline/models.ts";
import type { Progress } from "./output.ts";
import type { TrainCommandParameters } from "./train.ts";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Serves the signed items manifest of every commitment of `round` (what validators sample from). */
export function publishManifests(journal: Journal, store: ContentStore, round: bigint, state = replay(journal.records)): void {
  for (const c of state.commitments.values()) {
    if (c.commitment.round !== round || !c.signature) continue;
    store.putManifest({ commitment: c.commitment, signature: c.signature.signature, items: roundItems(state, round) });
  }
}

/** Everything a session needs that outlives it (one per process). */
export type Shared = {
  p: TrainCommandParameters;
  node: Awaited<ReturnType<typeof createPipeNode>>;
  store: ContentStore;
  journal: Journal;
  ledger: CommitmentLedger;
  until: bigint;
  progress: Progress;
  tokensPerRound: number;
  /** Rounds reported so far, across sessions (the progress bar's position). */
  reported: number;
  /** This stage's signed hello and the chain check of its neighbours' (docs/PROTOCOL.md, "Stage links"). */
  auth: PipeAuth;
};

/** Microbatches of one round of the stage: `stepsPerRound * microbatchesPerStep` (the commitment's `itemCount`). */
export const roundMicrobatches = (loaded: Pick<LoadedStage, "stepsPerRound" | "microbatchesPerStep">): number =>
  loaded.stepsPerRound * loaded.microbatchesPerStep;

/**
 * Waits for `round`'s commit window (failing fast when `ended` reports a dead link), then frees
 * what no audit can reach any more: content older than every auditable round, checkpoint files
 * no rerun can reach, and the journal's settled history (replays stay O(window), not O(run)).
 */
export async function enterRound(s: Shared, round: bigint, ended: () => Error | undefined): Promise<void> {
  const { p, journal, store } = s;
  while ((await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId })) < round) {
    const error = ended();
    if (error) throw error;
    await sleep(p.pollMs);
  }
  store.enterRound(round);
  await pruneCheckpoints(journal, { newestRound: round, keepRounds: p.contentRounds ?? RING_SIZE });
  // One round more than the content window: a restart checks the previous round's commitment.
  await journal.compact(round - BigInt((p.contentRounds ?? RING_SIZE) + 1));
}

/** Publishes a committed round's manifest, moves the progress bar and logs the round. */
export function reportRound(s: Shared): (r: RoundReport) => void {
  const { p, journal, store } = s;
  const { logger } = p;
  return (r) => {
    publishManifests(journal, store, r.round);
    s.reported++;
    const tokensPerSec = r.trained && s.tokensPerRound ? s.tokensPerRound / (r.wallMs / 1000) : undefined;
    s.progress.update({ step: s.reported, loss: r.meanLoss, tokensPerSec, bytesOnWire: r.bytesOnWire });
    logger.info(
      {
        round: r.round.toString(),
        trained: r.trained,
        rerun: r.rerun,
        items: r.items,
        rerunMismatches: r.rerunMismatches,
        loss: r.meanLoss,
        evalLoss: r.evalLoss,
        wallMs: Math.round(r.wallMs),
        pipelineMs: r.pipelineMs && Object.fromEntries(Object.entries(r.pipelineMs).map(([k, v]) => [k, Math.round(v)])),
        confirmed: r.flush.confirmed.length,
        foundOnChain: r.flush.foundOnChain.length,
        expired: r.flush.expired.length,
        deferred: r.flush.deferred.length,
        txs: r.flush.transactions,
      },
      "round committed",
    );
    if (r.flush.deferred.length)
      logger.warn(
        { round: r.round.toString(), deferred: r.flush.deferred },
        "the chain did not answer while these commitments were submitted; the next round settles them by nonce and resends what did not land",
      );
    if (r.flush.expired.length)
      logger.warn(
        { round: r.round.toString(), expired: r.flush.expired },
        "commit window closed before these commitments were sent: that work is not rewarded; training goes on",
      );
  };
}

/**
 * The link-receipt side of a session (docs/PROTOCOL.md "Link receipts") over the links that exchange
 * receipts: `prev` and `next` of a lockstep stage; a fan-out stage's upstream and its replicas; a
 * replica's upstream (it takes the fan-out stage's receipt and sends none back).
 */
export function sessionReceipts(
  s: Shared,
  loaded: LoadedStage,
  from: bigint,
  links: Pick<LinkReceiptExchangeParameters, "prev" | "next" | "replicas" | "sendUpstream">,
) {
  const { p } = s;
  return linkReceiptExchange({
    domain: { ledger: p.deployments.contracts.computeLedger, chainId: p.deployments.chainId, modelId: p.modelId },
    stage: p.stage,
    worker: p.account.address,
    signer: p.signer,
    microbatches: roundMicrobatches(loaded),
    ...links,
    from,
    onWarning: (message, detail) => p.logger.warn(detail, message),
  });
}

/** Journals the downstream's receipt of the session's last round (it comes after `trainRounds` returns). */
export async function collectLastReceipt(s: Shared, receipts: ReturnType<typeof sessionReceipts>): Promise<void> {
  for (const r of await receipts.collectLast(s.until, replay(s.journal.records))) await s.journal.append(r);
}

/** What `trainRounds` takes that every kind of session shares: who commits, where, and which rounds. */
export function sessionRounds(s: Shared, loaded: LoadedStage, from: bigint, current: bigint) {
  const { p } = s;
  return {
    journal: s.journal,
    modelId: p.modelId,
    stage: p.stage,
    worker: p.account.address,
    signer: p.signer,
    ledger: s.ledger,
    ledgerAddress: p.deployments.contracts.computeLedger,
    chainId: p.deployments.chainId,
    rounds: roundRange(from, s.until),
    firstOpenRound: current,
    microbatches: roundMicrobatches(loaded),
    onRound: reportRound(s),
  };
}
