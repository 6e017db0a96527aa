// `shardholder train --swarm`: the last stage may have replicas (docs/PROTOCOL.md "Replicas of the last stage").
// The stage before it routes every microbatch to one of the last stage's miners in the stage
// directory (worker/pipeline/replicas.ts), taking in new ones at each round boundary and
// re-routing what a lost one held; each replica trains what it is sent, and at the round's end
// the replicas average their weights (weighted by microbatches kept) so every one commits the
// same weightsRootAfter. Rounds follow the chain's clock: a replica that connects mid-round
// starts at the next one.
import type { Address } from "viem";
import { zeroAddress } from "viem";
import { getPeerRecord } from "../../sdk/actions/swarm/getPeerRecord.ts";
import { firstRoundToTrain, trainRounds } from "../commit/index.ts";
import { type JournalState, replay } from "../journal/index.ts";
import { captureLinkContent, storeRoundContent } from "../p2p/contentCapture.ts";
import { fetchContent } from "../p2p/contentProtocol.ts";
import { float32FromBytes } from "../p2p/content.ts";
import { tensorFrameLimits } from "../p2p/frames.ts";
import type { PipeLink } from "../p2p/link.ts";
import { acceptUpstream, agreeFirstRound, dialReplicas, finishPipeline, type StagePipe } from "../p2p/pipe.ts";
import { contentHello, memberDialAddress, stageReplicas } from "../p2p/stageMembers.ts";
import { helloDomainOf } from "../p2p/stakedNeighbour.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import type { LoadedStage } from "../pipeline/models.ts";
import {
  combineReplicaWeights,
  evaluateAsReplica,
  NoReplicaLeftError,
  ReplicaThroughput,
  type ReplicaWeights,
  type RosterEntry,
  runFanOutRound,
  runReplicaRound,
} from "../pipeline/replicas.ts";
import { fetchStageWeights } from "../commit/join.ts";
import { JoinWeightsUnavailableError, UsageError } from "./errors.ts";
import { enterRound, type Shared, sessionReceipts, sessionRounds, sleep } from "./session.ts";

/** Log messages others wait on (the devnet drives its swarm by them). */
export const SWARM_LOG = {
  /** The routing stage, once a round's microbatches are trained and the replicas reported (fields `round`, `routed`, `roster`). */
  roundRouted: "round routed across the next stage's replicas",
  /** A replica, at the first microbatch of a round routed to it (fields `round`, `microbatch`). */
  roundUnderWay: "round under way: training the microbatches routed here",
  /** A replica listed in the stage directory and waiting for the stage before it to link. */
  replicaReady: "waiting for the previous stage to link to this replica",
} as const;

/** Which side of a replicated stage this stage is on; a {@link UsageError} when `--swarm` does not apply to it. */
export function swarmRole(stage: number, stageCount: number): "fanOut" | "replica" {
  if (stage === stageCount - 1) return "replica";
  if (stage === stageCount - 2) return "fanOut";
  throw new UsageError(
    `--swarm runs replicas of the last stage: it applies to stages ${stageCount - 2} and ${stageCount - 1}, not ${stage}.`,
  );
}

function linkOptions(s: Shared, loaded: LoadedStage) {
  const { p } = s;
  return {
    node: s.node,
    stageIndex: p.stage,
    stageCount: loaded.stageCount,
    modelKey: loaded.modelKey,
    auth: s.auth,
    limits: tensorFrameLimits(loaded.wireShape, { targetVocab: loaded.vocabSize }),
    maxMailboxBytes: (2 * loaded.microbatchesPerStep + 2) * tensorFrameLimits(loaded.wireShape).maxPayloadBytes,
    messageTimeoutMs: p.peerTimeoutMs,
    acceptTimeoutMs: p.peerTimeoutMs,
    onRefused: (error: Error) =>
      p.logger.warn({ error: (error as { shortMessage?: string }).shortMessage ?? error.message }, "refused a pipe link"),
    dial: { attempts: p.dialAttempts, baseDelayMs: 250, maxDelayMs: 4_000 },
  };
}

/**
 * The stage before the replicated last stage: keeps a link to every miner of the last stage that
 * answers in the stage directory (new ones are dialled at each round boundary), routes each
 * round's microbatches over them, and speaks the usual lockstep protocol to its own upstream.
 */
export async function runFanOutSession(s: Shared, loaded: LoadedStage, onConnected: (pipe: StagePipe) => void): Promise<void> {
  const { p, journal, store } = s;
  const { logger } = p;
  const options = linkOptions(s, loaded);
  const prev = p.stage === 0 ? undefined : await acceptUpstream(options);
  const replicas = new Map<Address, PipeLink>();
  // Each replica's measured time per microbatch, across rounds: the routing follows it.
  const throughput = new ReplicaThroughput();
  const refresh = async (wait: boolean): Promise<void> => {
    for (const [worker, link] of replicas) if (link.ended) replicas.delete(worker);
    let told = false;
    for (;;) {
      const found = await stageReplicas({
        client: p.client,
        deployments: p.deployments,
        node: s.node,
        modelId: p.modelId,
        stage: p.stage + 1,
        exclude: p.account.address,
      });
      const fresh = found.filter((f) => !replicas.has(f.worker));
      logger.debug(
        { stage: p.stage + 1, found: found.map((f) => f.worker), linked: [...replicas.keys()] },
        "replicas in the stage directory",
      );
      if (fresh.length) {
        const links = await Promise.allSettled(fresh.map((f) => dialReplicas(options, [f.address])));
        links.forEach((r, i) => {
          if (r.status === "fulfilled" && r.value[0]) {
            const link = r.value[0];
            captureLinkContent(link, store);
            replicas.set(link.peerWorker ?? (fresh[i]?.worker as Address), link);
            logger.info({ stage: p.stage + 1, worker: link.peerWorker, address: fresh[i]?.address }, "replica of the next stage joined");
          } else if (r.status === "rejected") {
            logger.warn(
              {
                stage: p.stage + 1,
                worker: fresh[i]?.worker,
                error: (r.reason as { shortMessage?: string }).shortMessage ?? (r.reason as Error).message,
              },
              "could not link to a replica of the next stage; trying again next round",
            );
          }
        });
      }
      if (replicas.size > 0 || !wait) return;
      if (!told) logger.warn({ stage: p.stage + 1 }, "the next stage has no replica: the pipeline pauses until one announces itself");
      told = true;
      await sleep(Math.min(p.pollMs, 1_000));
    }
  };
  await refresh(true);
  onConnected({ prev });
  if (prev) captureLinkContent(prev, store);
  const current = await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId });
  const need = firstRoundToTrain(replay(journal.records), current, s.until);
  const from = prev ? await agreeFirstRound({ prev }, need) : need;
  logger.info(
    { stage: p.stage, replicas: replicas.size, from: from.toString(), until: s.until.toString() },
    "pipeline connected (swarm: the next stage's replicas share the microbatches)",
  );
  const receipts = sessionReceipts(s, loaded, from, { prev, replicas: () => replicas.values() });
  await trainRounds({
    runner: {
      runRound: async (round) => {
        await enterRound(s, round, () => prev?.ended);
        await refresh(true);
        let result;
        try {
          result = await runFanOutRound({
            stage: loaded.stage,
            round,
            microbatches: loaded.microbatchesPerStep,
            steps: loaded.stepsPerRound,
            wire: p.wire,
            prev,
            replicas: [...replicas.values()],
            data: loaded.data,
            head: p.account.address,
            replicaTimeoutMs: p.peerTimeoutMs,
            throughput,
            evaluation: { microbatches: loaded.evalMicrobatches, data: loaded.evalData },
          });
        } catch (err) {
          if (err instanceof NoReplicaLeftError) logger.warn({ round: round.toString() }, err.shortMessage);
          throw err;
        }
        for (const worker of result.lost) {
          replicas.delete(worker);
          logger.warn(
            { round: round.toString(), worker },
            "a replica of the next stage left mid-round; its unanswered microbatches went to the others",
          );
        }
        logger.info(
          {
            round: round.toString(),
            routed: Object.fromEntries(result.routed),
            roster: result.roster.map((e) => ({ worker: e.worker, items: e.items })),
          },
          SWARM_LOG.roundRouted,
        );
        const { gradRoots } = storeRoundContent(store, {
          round,
          stepWeights: result.stepWeights,
          gradients: result.records.map((r) => r.parameterGradient),
          losses: result.losses,
        });
        const records = result.records.map((r, i) => ({ ...r, gradRoot: gradRoots[i] }));
        return { ...result, records, neighbours: { upstream: prev?.peerWorker ?? zeroAddress, downstream: zeroAddress } };
      },
      exportWeights: () => loaded.stage.exportWeights(),
      importWeights: (w) => loaded.stage.importWeights(w),
    },
    receipts,
    ...sessionRounds(s, loaded, from, current),
  });
  if (prev) await finishPipeline({ prev });
  await Promise.allSettled([...replicas.values(), ...(prev ? [prev] : [])].map((l) => l.close()));
}

/**
 * The round-end weights of every replica on the roster, fetched from each (a member of this stage
 * may fetch its weights), and combined. A replica that cannot be reached is left out and logged:
 * its peers may then combine different sets, which the validators' weights checks will show.
 */
async function combineWithPeers(
  s: Shared,
  loaded: LoadedStage,
  roster: readonly RosterEntry[],
  own: ReplicaWeights,
): Promise<Float32Array> {
  const { p } = s;
  const hello = await contentHello({
    signer: p.signer,
    domain: helloDomainOf(p.deployments),
    modelId: p.modelId,
    specHash: loaded.modelKey,
    stage: p.stage,
    worker: p.account.address,
    node: s.node,
  });
  const weights: ReplicaWeights[] = [];
  for (const entry of roster) {
    if (entry.worker.toLowerCase() === own.worker.toLowerCase()) {
      weights.push(own);
      continue;
    }
    try {
      const record = await getPeerRecord(p.client, { deployments: p.deployments, modelId: p.modelId, account: entry.worker });
      const address = record ? memberDialAddress(record) : undefined;
      if (!address) throw new Error("no peer record in the stage directory");
      const bytes = await fetchContent({ node: s.node, address, kind: "weights", key: entry.root, timeoutMs: p.peerTimeoutMs, hello });
      weights.push({ worker: entry.worker, weights: float32FromBytes(bytes), items: entry.items });
    } catch (err) {
      p.logger.warn(
        { worker: entry.worker, root: entry.root, error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
        "could not fetch a replica's round-end weights; combining without them",
      );
    }
  }
  return combineReplicaWeights(weights);
}

/**
 * Brings a replica that sat out `round` up to the weights the other replicas committed for it
 * (`weightsRootAfter` of an accepted commitment, checked against the ledger's digest), waiting
 * for their commitments to land.
 */
async function catchUp(s: Shared, loaded: LoadedStage, round: bigint): Promise<void> {
  const { p } = s;
  const hello = await contentHello({
    signer: p.signer,
    domain: helloDomainOf(p.deployments),
    modelId: p.modelId,
    specHash: loaded.modelKey,
    stage: p.stage,
    worker: p.account.address,
    node: s.node,
  });
  const started = performance.now();
  for (;;) {
    const peers = (
      await stageReplicas({
        client: p.client,
        deployments: p.deployments,
        node: s.node,
        modelId: p.modelId,
        stage: p.stage,
        exclude: p.account.address,
      })
    ).map((f) => ({ stage: p.stage, worker: f.worker, multiaddr: f.address }));
    const { found, attempts } = await fetchStageWeights({
      client: p.client,
      deployments: p.deployments,
      modelId: p.modelId,
      stage: p.stage,
      round,
      peers,
      node: s.node,
      hello,
    });
    if (found) {
      loaded.stage.importWeights(found.weights);
      p.logger.info(
        { round: round.toString(), worker: found.worker, weightsRoot: found.weightsRoot },
        "caught up: continuing from the weights the other replicas committed",
      );
      return;
    }
    if (performance.now() - started > p.peerTimeoutMs) throw new JoinWeightsUnavailableError({ stage: p.stage, round, attempts });
    await sleep(Math.min(p.pollMs, 1_000));
  }
}

/** The newest round this journal trained to its end checkpoint (undefined when none). */
export function lastDurableRound(state: JournalState): bigint | undefined {
  let last: bigint | undefined;
  for (const [round, latest] of state.roundLatest) if (latest.step >= 0 && (last === undefined || round > last)) last = round;
  return last;
}

/**
 * A replica of the last stage: accepts the stage before it as its one upstream link, trains the
 * microbatches routed to it, and ends each round with the weights every replica on the round's
 * roster agrees on (their items-weighted mean), which it commits as `weightsRootAfter`.
 */
export async function runReplicaSession(s: Shared, loaded: LoadedStage, onConnected: (pipe: StagePipe) => void): Promise<void> {
  const { p, journal, store } = s;
  const { logger } = p;
  logger.info({ stage: p.stage }, SWARM_LOG.replicaReady);
  const prev = await acceptUpstream(linkOptions(s, loaded));
  onConnected({ prev });
  captureLinkContent(prev, store);
  const current = await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId });
  const from = firstRoundToTrain(replay(journal.records), current, s.until);
  // A replica starts from the weights the others committed for the round before its first unless
  // its own journal ended that very round: one with nothing trained yet, and one restarted after a
  // crash that cost it a round (its last checkpoint is older), both catch up.
  if (from > 0n && from <= s.until && lastDurableRound(replay(journal.records)) !== from - 1n) await catchUp(s, loaded, from - 1n);
  logger.info(
    { stage: p.stage, upstream: prev.peerWorker, from: from.toString(), until: s.until.toString() },
    "linked as a replica (swarm)",
  );
  await trainRounds({
    routed: true,
    runner: {
      runRound: async (round) => {
        await enterRound(s, round, () => prev.ended);
        const result = await runReplicaRound({
          stage: loaded.stage,
          round,
          steps: loaded.stepsPerRound,
          wire: p.wire,
          prev,
          onFirstMicrobatch: (microbatch) => logger.info({ round: round.toString(), microbatch }, SWARM_LOG.roundUnderWay),
        });
        if (result.records.length === 0) {
          logger.info({ round: round.toString() }, "nothing of this round was routed here (joined after it began); starting at the next");
          // The replicas trained this round without us: continue from the weights they committed.
          await catchUp(s, loaded, round);
          return undefined;
        }
        const local = result.endWeights as Float32Array;
        // Peers fetch this replica's round-end weights by the root the roster names.
        store.putWeights(local, round);
        const combined = await combineWithPeers(s, loaded, result.roster, {
          worker: p.account.address,
          weights: local,
          items: result.records.length,
        });
        loaded.stage.importWeights(combined);
        // What a replica joining at the next round boundary downloads (this round's weightsRootAfter).
        store.putWeights(combined, round);
        logger.info(
          { round: round.toString(), kept: result.records.length, replicas: result.roster.length },
          "round trained as a replica; weights combined with the other replicas",
        );
        // The roster's first replica evaluates the held-out batch on the combined weights.
        const evaluates = result.roster[0]?.worker.toLowerCase() === p.account.address.toLowerCase();
        const evalLoss =
          evaluates && loaded.evalMicrobatches > 0
            ? await evaluateAsReplica({
                stage: loaded.stage,
                round,
                prev,
                first: loaded.stepsPerRound * loaded.microbatchesPerStep,
                count: loaded.evalMicrobatches,
              })
            : undefined;
        const { gradRoots } = storeRoundContent(store, {
          round,
          stepWeights: result.stepWeights,
          gradients: result.records.map((r) => r.parameterGradient),
          losses: result.losses,
        });
        const records = result.records.map((r, i) => ({ ...r, gradRoot: gradRoots[i] }));
        return { ...result, records, evalLoss, neighbours: { upstream: prev.peerWorker ?? zeroAddress, downstream: zeroAddress } };
      },
      exportWeights: () => loaded.stage.exportWeights(),
      importWeights: (w) => loaded.stage.importWeights(w),
    },
    receipts: sessionReceipts(s, loaded, from, { prev, sendUpstream: false }),
    ...sessionRounds(s, loaded, from, current),
  });
  await prev.close().catch(() => undefined);
}
