// Wiring of `shardholder train`: backend, this stage's shard, libp2p links, journal, ledger.
// Every piece of logic lives in its module; this file only connects them in order.
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { createWalletClient, formatEther, type PublicClient, type Transport } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { getCommitment } from "../../sdk/actions/miner/getCommitment.ts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { describeBackendSelection, selectBackend } from "../backend/select.ts";
import type { BackendName } from "../backend/select.ts";
import {
  firstRoundToTrain,
  missingCommittedRound,
  type RoundRunner,
  sdkCommitmentLedger,
  submitFinishedWork,
  trainRounds,
} from "../commit/index.ts";
import { watchAvailabilityChallenges } from "../commit/availability.ts";
import { watchVoidedCommitments } from "../commit/defend.ts";
import { chainNow, describeRounds, rewardTotals, watchRewards } from "../commit/rewards.ts";
import { Journal, loadCheckpoint, replay } from "../journal/index.ts";
import { fetchStageWeights, type JoinPeer } from "../commit/join.ts";
import { ContentStore, RING_SIZE } from "../p2p/content.ts";
import { directoryContentBackend } from "../p2p/contentDisk.ts";
import { loadOrCreatePeerKey } from "../p2p/identity.ts";
import { captureLinkContent, storeRoundContent } from "../p2p/contentCapture.ts";
import { serveContent } from "../p2p/contentProtocol.ts";
import { LinkClosedError, PeerTimeoutError, PeerUnreachableError } from "../p2p/errors.ts";
import { PIPE_PROTOCOL, tensorFrameLimits } from "../p2p/frames.ts";
import { helloDomainOf } from "../p2p/stakedNeighbour.ts";
import {
  announceStageMember,
  contentHello,
  discoverStagePeer,
  stageContentGate,
  stageMemberOnChain,
  stageReplicas,
} from "../p2p/stageMembers.ts";
import { serveStageStatus } from "../p2p/stageStatus.ts";
import type { Libp2p } from "@libp2p/interface";
import { backoffDelayMs, createPipeNode } from "../p2p/node.ts";
import { agreeFirstRound, finishPipeline, openPipe, pipeNeighbours, type StagePipe } from "../p2p/pipe.ts";
import type { WireFormat } from "../p2p/wire.ts";
import { parseModelSpec } from "../model/spec.ts";
import { type LoadedStage, loadStage } from "../pipeline/models.ts";
import { runStageRound } from "../pipeline/runner.ts";
import { NoReplicaLeftError } from "../pipeline/replicas.ts";
import { runFanOutSession, runReplicaSession, swarmRole } from "./swarm.ts";
import type { ScheduleName } from "../pipeline/schedule.ts";
import { JoinWeightsUnavailableError, JournalLostError, PeerLostError, SpecMismatchError, UsageError } from "./errors.ts";
import { createProgress } from "./output.ts";
import {
  collectLastReceipt,
  enterRound,
  publishManifests,
  roundMicrobatches,
  type Shared,
  sessionReceipts,
  sessionRounds,
  sleep,
} from "./session.ts";

export type TrainCommandParameters = {
  logger: Logger;
  json: boolean;
  /** Long-lived chain access (worker/rpc/transport.ts): survives stalls and endpoint failures. */
  client: PublicClient;
  transport: Transport;
  deployments: Deployments;
  account: PrivateKeyAccount;
  signer: PrivateKeyAccount;
  backend?: BackendName | undefined;
  modelId: bigint;
  stage: number;
  specPath: string;
  next?: string | undefined;
  listen: string;
  journalDir: string;
  rounds: number;
  /** Train through this round (inclusive) instead of `rounds` rounds: restarts with the same flags then finish the same work. */
  untilRound?: bigint | undefined;
  schedule: ScheduleName;
  wire: WireFormat;
  dialAttempts: number;
  /** Per-message timeout on the pipe links, and how long to wait for the upstream stage to connect. */
  peerTimeoutMs: number;
  /** Reconnects after a neighbour is lost mid-run (its process died, or it went silent) before giving up. */
  reconnectAttempts: number;
  /** Chain polling interval while waiting for a round's commit window. */
  pollMs: number;
  /**
   * After the last round, keep serving the committed content (inputs, weights, manifests) until
   * SIGINT/SIGTERM: validators audit a round after its commit window, and a miner that does not
   * serve a challenged input loses the dispute.
   */
  keepServing?: boolean | undefined;
  /** Rounds of committed content kept besides the current one (default `RING_SIZE`). */
  contentRounds?: number | undefined;
  /**
   * Finalize this worker's rounds nobody finalized and mint its rewards (default true), after a
   * round has been finalizable or mintable for `rewardsGraceMs` (default 30 s: validators and
   * relayers that settle rounds for everyone go first, and nobody pays twice).
   */
  rewards?: boolean | undefined;
  rewardsGraceMs?: number | undefined;
  /**
   * Content servers of the model's miners (a `--network` file's peers): a miner with nothing
   * trained yet starts its stage from the weights the network reached (worker/commit/join.ts)
   * instead of the initial ones, when the model is past round 0.
   */
  joinPeers?: readonly JoinPeer[] | undefined;
  /**
   * The last stage may have replicas (worker/cli/swarm.ts): on the stage before it, route the
   * microbatches across every miner of the last stage; on the last stage, train as one replica.
   */
  swarm?: boolean | undefined;
};

/**
 * Serves the manifest of every signed commitment the journal holds within the store's window.
 * Manifests are published after a round's commitment is flushed; a process killed in between
 * has the commitment on-chain and no manifest, and its restart (which resumes past that round)
 * would never publish it: validators would demand its leaves on-chain and slash it if it could
 * not answer. Idempotent: what the store already holds is not written again.
 */
export function republishManifests(journal: Journal, store: ContentStore): void {
  const state = replay(journal.records);
  const rounds = new Set<bigint>();
  for (const c of state.commitments.values()) if (c.signature) rounds.add(c.commitment.round);
  const newest = [...rounds].reduce((a, b) => (b > a ? b : a), 0n);
  // Older rounds are past every audit: the store would drop them at once.
  for (const round of rounds) if (round >= newest - BigInt(store.keepRounds)) publishManifests(journal, store, round, state);
}

/** The rounds of this stage's commitments the chain stores, by the journal. */
function storedRounds(journal: Journal): bigint[] {
  const rounds = new Set<bigint>();
  for (const c of replay(journal.records).commitments.values())
    if (c.status === "confirmed" || c.status === "foundOnChain") rounds.add(c.commitment.round);
  return [...rounds];
}

/** Logs where every committed round stands and what this worker earned (`rewards`). */
async function logRewards(logger: Logger, client: PublicClient, rewards: ReturnType<typeof watchRewards>, when: string): Promise<void> {
  let rounds;
  let now;
  try {
    rounds = await rewards.passNow();
    now = await chainNow(client);
  } catch (err) {
    // The work is done and on-chain; a summary the chain could not answer is not a failure.
    logger.warn(
      { error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
      "could not read the rewards; `shardholder status` shows them",
    );
    return;
  }
  const totals = rewardTotals(rounds);
  logger.info(
    {
      when,
      mintedTokens: formatEther(totals.mintedTokens),
      mintableTokens: formatEther(totals.mintableTokens),
      mintedHere: rewards.minted.length,
      waitingRounds: totals.waitingRounds,
      slashedRounds: totals.slashedRounds,
      rounds: describeRounds(rounds, now),
    },
    "rewards",
  );
}

async function serveUntilStopped(logger: Logger, entries: number): Promise<void> {
  logger.info({ entries }, "training done; serving committed content until stopped");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  logger.info("stopped serving");
}

/** The link failure that makes a session a lost peer (reconnect), or undefined for any other error. */
function peerLoss(err: unknown, pipe: StagePipe | undefined): Error | undefined {
  if (err instanceof LinkClosedError || err instanceof PeerTimeoutError || err instanceof NoReplicaLeftError) return err;
  return pipe?.prev?.ended ?? pipe?.next?.ended;
}

/** The dial address of the next stage from the stage directory, waiting for one to announce itself. */
async function discoverNext(p: TrainCommandParameters, node: Libp2p): Promise<string> {
  let told = false;
  const { address, worker } = await discoverStagePeer({
    client: p.client,
    deployments: p.deployments,
    node,
    modelId: p.modelId,
    stage: p.stage + 1,
    timeoutMs: p.peerTimeoutMs,
    pollMs: Math.min(p.pollMs, 1_000),
    exclude: p.account.address,
    onWait: () => {
      if (!told) p.logger.info({ stage: p.stage + 1 }, "waiting for a miner of the next stage to announce itself in the stage directory");
      told = true;
    },
  });
  p.logger.info({ stage: p.stage + 1, worker, address }, "next stage found in the stage directory");
  return address;
}

/**
 * One pipeline session: connect to the neighbours, agree on the first round every stage must
 * run (a restarted neighbour may have lost a round this stage made durable: it is rerun in
 * lockstep, nothing re-journaled, no transaction), train through `until`, then stay reachable
 * until the neighbours finished too, since one that dies in the last round needs us to rerun it.
 */
async function runSession(s: Shared, loaded: LoadedStage, onConnected: (pipe: StagePipe) => void): Promise<void> {
  const { p, journal, store } = s;
  const { logger } = p;
  // Without --peer, the next stage is whoever of its miners announced last in the stage directory.
  const nextAddress = p.next ?? (p.stage + 1 < loaded.stageCount ? await discoverNext(p, s.node) : undefined);
  const pipe = await openPipe({
    node: s.node,
    stageIndex: p.stage,
    stageCount: loaded.stageCount,
    modelKey: loaded.modelKey,
    auth: s.auth,
    limits: tensorFrameLimits(loaded.wireShape, { targetVocab: loaded.vocabSize }),
    // A neighbour runs at most about a round ahead (it needs our gradients to finish one).
    // (one step's microbatches: a neighbour cannot start the next step before our gradients arrive, plus the eval forwards).
    maxMailboxBytes: (2 * loaded.microbatchesPerStep + loaded.evalMicrobatches + 2) * tensorFrameLimits(loaded.wireShape).maxPayloadBytes,
    onRefused: (error) => logger.warn({ error: (error as { shortMessage?: string }).shortMessage ?? error.message }, "refused a pipe link"),
    nextAddress,
    messageTimeoutMs: p.peerTimeoutMs,
    acceptTimeoutMs: p.peerTimeoutMs,
    dial: {
      attempts: p.dialAttempts,
      baseDelayMs: 250,
      maxDelayMs: 4_000,
      onRetry: ({ attempt, delayMs }) =>
        logger.warn({ peer: nextAddress, attempt, retryInMs: delayMs }, "next stage not answering, retrying"),
    },
  });
  onConnected(pipe);
  for (const link of [pipe.prev, pipe.next]) if (link) captureLinkContent(link, store);
  const current = await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId });
  const need = firstRoundToTrain(replay(journal.records), current, s.until);
  const from = await agreeFirstRound(pipe, need);
  logger.info(
    {
      stage: p.stage,
      hasPrev: Boolean(pipe.prev),
      hasNext: Boolean(pipe.next),
      from: from.toString(),
      until: s.until.toString(),
      need: need.toString(),
    },
    "pipeline connected",
  );
  const stageWithOptimizer = loaded.stage as typeof loaded.stage &
    Partial<Pick<RoundRunner, "exportOptimizerState" | "importOptimizerState">>;
  const receipts = sessionReceipts(s, loaded, from, pipe);
  await trainRounds({
    runner: {
      runRound: async (round) => {
        await enterRound(s, round, () => pipe.prev?.ended ?? pipe.next?.ended);
        // Stage 0 heads the pipeline: it trains the data drawn for its own staking address.
        const result = await runStageRound({
          stage: loaded.stage,
          round,
          microbatches: loaded.microbatchesPerStep,
          steps: loaded.stepsPerRound,
          schedule: p.schedule,
          wire: p.wire,
          prev: pipe.prev,
          next: pipe.next,
          data: loaded.data,
          head: p.account.address,
          evaluation: { microbatches: loaded.evalMicrobatches, data: loaded.evalData },
        });
        const { gradRoots } = storeRoundContent(store, {
          round,
          stepWeights: result.stepWeights,
          gradients: result.records.map((r) => r.parameterGradient),
          losses: result.losses,
        });
        const records = result.records.map((r, i) => ({ ...r, gradRoot: gradRoots[i] }));
        return { ...result, records, neighbours: pipeNeighbours(pipe) };
      },
      exportWeights: () => loaded.stage.exportWeights(),
      importWeights: (w) => loaded.stage.importWeights(w),
      // The transformer stage carries Adam state; checkpoint it so a resume is exact.
      exportOptimizerState: stageWithOptimizer.exportOptimizerState?.bind(stageWithOptimizer),
      importOptimizerState: stageWithOptimizer.importOptimizerState?.bind(stageWithOptimizer),
    },
    rerunDurable: true,
    receipts,
    ...sessionRounds(s, loaded, from, current),
  });
  await collectLastReceipt(s, receipts);
  // Only the end markers say the pipeline is finished: a neighbour killed in the last round also
  // closes its stream, and must find us here when it comes back to rerun that round.
  await finishPipeline(pipe);
  const links = [pipe.prev, pipe.next].filter((l) => l !== undefined);
  await Promise.allSettled(links.map((l) => l.close()));
}

/** The other miners of this stage in the stage directory, as the peers a joining replica takes its weights from. */
async function replicaJoinPeers(p: TrainCommandParameters, node: Libp2p): Promise<JoinPeer[]> {
  const found = await stageReplicas({
    client: p.client,
    deployments: p.deployments,
    node,
    modelId: p.modelId,
    stage: p.stage,
    exclude: p.account.address,
  });
  return found.map((f) => ({ stage: p.stage, worker: f.worker, multiaddr: f.address }));
}

/** A failure to reach or keep a neighbour (as opposed to a chain, journal or usage error). */
function isPeerFailure(err: unknown): boolean {
  return err instanceof PeerUnreachableError || err instanceof PeerTimeoutError || err instanceof LinkClosedError;
}

/**
 * Trains one stage through `untilRound` (default: `rounds` rounds from the model's current
 * round), each inside its commit window (waits for the window when the chain is behind).
 * A neighbour lost mid-run (its process died, or it went silent past `peerTimeoutMs`) is
 * reconnected with exponential backoff, up to `reconnectAttempts` times; the shard is reloaded
 * from the journal's last checkpoint, exactly as a restarted process would.
 */
export async function runTrainCommand(p: TrainCommandParameters): Promise<void> {
  const { logger } = p;
  let specText: string;
  try {
    specText = readFileSync(p.specPath, "utf8");
  } catch (err) {
    throw new UsageError(`Cannot read --spec ${p.specPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
  const spec = parseModelSpec(specText);
  const selection = await selectBackend(p.backend ? { backend: p.backend } : {});
  logger.info({ backend: selection.name }, describeBackendSelection(selection));

  let load = () => loadStage({ kind: "transformer", spec }, p.stage, p.modelId);
  let loaded = await load();
  const model = await getModel(p.client, { deployments: p.deployments, modelId: p.modelId });
  if (model.specHash.toLowerCase() !== loaded.modelKey.toLowerCase())
    throw new SpecMismatchError({ modelId: p.modelId, registered: model.specHash, file: p.specPath });
  if (p.stage >= model.stageCount)
    throw new UsageError(`Model ${p.modelId} has ${model.stageCount} stages; --stage ${p.stage} does not exist.`);
  if (p.swarm) swarmRole(p.stage, model.stageCount);
  // A round's itemCount is the spec's steps x microbatches; the ledger refuses more than the
  // registry's microbatchesPerRound, so a spec asking for more could never be committed.
  if (model.microbatchesPerRound < roundMicrobatches(loaded))
    throw new SpecMismatchError({
      modelId: p.modelId,
      registered: `${model.specHash} with ${model.microbatchesPerRound} microbatches per round`,
      file: `${p.specPath} (${loaded.stepsPerRound} steps x ${loaded.microbatchesPerStep} microbatches)`,
    });

  const journalDir = path.resolve(p.journalDir);
  await mkdir(journalDir, { recursive: true });
  // The same peer id after a restart: the multiaddr neighbours and validators hold stays valid.
  const node = await createPipeNode({ listen: [p.listen], privateKey: await loadOrCreatePeerKey(journalDir) });
  // Validators fetch the committed inputs, weights and manifests from this store over libp2p; it
  // lives beside the journal, so a restarted miner serves what it committed to before the crash.
  const store = new ContentStore({
    backend: directoryContentBackend(path.join(journalDir, "content")),
    keepRounds: p.contentRounds ?? RING_SIZE,
  });
  // Weights and gradients go only to members of this stage (its validators, a joining replica).
  const isMember = stageMemberOnChain(p.client, p.deployments, p.modelId);
  await serveContent(node, store, {
    gate: stageContentGate({
      modelId: p.modelId,
      specHash: loaded.modelKey,
      stage: p.stage,
      domain: helloDomainOf(p.deployments),
      isMember,
    }),
  });
  await serveStageStatus(node, p.stage);
  logger.info(
    { stage: p.stage, peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String), contentRounds: store.rounds.map(String) },
    "listening",
  );
  const journal = await Journal.open(journalDir, { modelId: p.modelId, stage: p.stage, worker: p.account.address });
  if (journal.openInfo.existingRecords)
    logger.info({ records: journal.openInfo.existingRecords, tornBytes: journal.openInfo.tornBytesDropped }, "resuming from journal");
  let availability: { stop: () => Promise<void> } | undefined;
  let defence: { stop: () => Promise<void> } | undefined;
  let rewards: ReturnType<typeof watchRewards> | undefined;
  try {
    const first = await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId });
    const until = p.untilRound ?? first + BigInt(p.rounds) - 1n;
    // A deleted (or rolled back) journal would train from the wrong weights: refuse, before any work.
    const who = { modelId: p.modelId, stage: p.stage, worker: p.account.address };
    const need = firstRoundToTrain(replay(journal.records), first, until);
    const lost =
      need > until
        ? undefined
        : await missingCommittedRound({
            state: replay(journal.records),
            firstRound: need,
            who,
            isStored: async (round) => (await getCommitment(p.client, { deployments: p.deployments, ...who, round })).found,
          });
    if (lost !== undefined) throw new JournalLostError({ round: lost, stage: p.stage, journalDir });
    const wallet = createWalletClient({ account: p.account, transport: p.transport });
    // Neighbours find this stage, accept its links and serve it this stage's weights by its record in the stage directory.
    await announceStageMember({ wallet, client: p.client, deployments: p.deployments, modelId: p.modelId, stage: p.stage, node, logger });
    // A replica joining a running model takes the weights from the stage's other replicas.
    const joinPeers = p.joinPeers?.length || !p.swarm || first === 0n ? p.joinPeers : await replicaJoinPeers(p, node);
    // Nothing trained yet, the model past round 0, peers known: continue the model, do not fork it.
    if (first > 0n && joinPeers?.length && !replay(journal.records).lastCheckpoint) {
      const hello = await contentHello({
        signer: p.signer,
        domain: helloDomainOf(p.deployments),
        modelId: p.modelId,
        specHash: loaded.modelKey,
        stage: p.stage,
        worker: p.account.address,
        node,
      });
      const { found, attempts } = await fetchStageWeights({
        client: p.client,
        deployments: p.deployments,
        modelId: p.modelId,
        stage: p.stage,
        round: first - 1n,
        peers: joinPeers,
        node,
        hello,
      });
      if (!found) throw new JoinWeightsUnavailableError({ stage: p.stage, round: first - 1n, attempts });
      loaded.stage.importWeights(found.weights);
      const initial = load;
      load = async () => {
        const fresh = await initial();
        fresh.stage.importWeights(found.weights);
        return fresh;
      };
      logger.info(
        { stage: p.stage, round: found.round.toString(), worker: found.worker, peer: found.peer, weightsRoot: found.weightsRoot },
        "joined: starting from the network's current weights of this stage",
      );
    }
    // Validators that cannot fetch a sampled leaf demand it on-chain: answer from our manifests.
    availability = watchAvailabilityChallenges({
      wallet,
      publicClient: p.client,
      deployments: p.deployments,
      modelId: p.modelId,
      worker: p.account.address,
      store,
      logger,
      pollMs: p.pollMs,
    });
    // A neighbour that signed a link receipt and then named someone else: prove it and stay paid.
    defence = watchVoidedCommitments({
      wallet,
      publicClient: p.client,
      deployments: p.deployments,
      modelId: p.modelId,
      worker: p.account.address,
      journal,
      logger,
      pollMs: Math.max(p.pollMs, 1_000),
    });
    // Getting paid: finalize what nobody finalized, mint our reward (worker/commit/rewards.ts).
    if (p.rewards !== false)
      rewards = watchRewards({
        client: p.client,
        wallet,
        deployments: p.deployments,
        modelId: p.modelId,
        worker: p.account.address,
        terms: model,
        rounds: () => storedRounds(journal),
        graceMs: p.rewardsGraceMs ?? 30_000,
        pollMs: Math.max(p.pollMs, 1_000),
        logger,
      });
    const shared: Shared = {
      p,
      node,
      store,
      journal,
      ledger: sdkCommitmentLedger(wallet, { deployments: p.deployments, account: p.account }),
      until,
      progress: createProgress({ total: Math.max(0, Number(until - first + 1n)), logger, json: p.json }),
      tokensPerRound: roundMicrobatches(loaded) * spec.microbatchSize * spec.contextLength,
      reported: 0,
      auth: {
        modelId: p.modelId,
        worker: p.account.address,
        signer: p.signer,
        domain: helloDomainOf(p.deployments),
        isStakedNeighbour: stageMemberOnChain(p.client, p.deployments, p.modelId),
      },
    };
    // Finished work first: rounds a crash left durable but unsubmitted need no neighbour, and
    // their commit window may close while the pipeline re-forms.
    const early = await submitFinishedWork({
      journal,
      modelId: p.modelId,
      stage: p.stage,
      worker: p.account.address,
      signer: p.signer,
      ledger: shared.ledger,
      ledgerAddress: p.deployments.contracts.computeLedger,
      chainId: p.deployments.chainId,
      microbatches: roundMicrobatches(loaded),
      firstOpenRound: first,
      routed: p.swarm && swarmRole(p.stage, loaded.stageCount) === "replica",
    });
    republishManifests(journal, store);
    if (early.confirmed.length || early.foundOnChain.length || early.deferred.length)
      logger.info(
        {
          confirmed: early.confirmed.length,
          foundOnChain: early.foundOnChain.length,
          deferred: early.deferred.length,
          txs: early.transactions,
        },
        "submitted finished work before connecting to the pipeline",
      );
    // A stage whose every round is durable needs nobody: it only stays for neighbours that may need a rerun.
    const allDurable = () => firstRoundToTrain(replay(journal.records), first, until) > until;
    for (let reconnect = 0; ; reconnect++) {
      let pipe: StagePipe | undefined;
      const reportedBefore = shared.reported;
      try {
        const session = p.swarm ? (swarmRole(p.stage, loaded.stageCount) === "fanOut" ? runFanOutSession : runReplicaSession) : runSession;
        await session(shared, loaded, (connected) => (pipe = connected));
        break;
      } catch (err) {
        // Before the links exist, failures (dial exhausted, nobody connected) are final, unless
        // this stage has nothing left to do: its neighbours finished without it (it was restarted
        // after the pipeline's end) and that is not an error.
        const lost = pipe ? peerLoss(err, pipe) : undefined;
        if (!lost && isPeerFailure(err) && allDurable()) {
          logger.warn(
            { error: (err as { shortMessage?: string }).shortMessage ?? (err as Error).message },
            "every round of this stage is durable and no neighbour needs it; finishing",
          );
          break;
        }
        if (!lost) throw err;
        // The budget is for consecutive failures: a session that got rounds done earns a fresh one.
        if (shared.reported > reportedBefore) reconnect = 0;
        if (reconnect >= p.reconnectAttempts) {
          if (allDurable()) {
            logger.warn(
              { error: lost.message, reconnects: reconnect },
              "neighbour did not come back; every round of this stage is durable, finishing",
            );
            const stale: StagePipe = pipe ?? {};
            for (const link of [stale.prev, stale.next]) link?.stream.abort(lost);
            break;
          }
          throw new PeerLostError({ attempts: reconnect, cause: lost });
        }
        const delayMs = backoffDelayMs(reconnect + 1, 500, 8_000);
        logger.warn(
          { error: (lost as { shortMessage?: string }).shortMessage ?? lost.message, reconnect: reconnect + 1, retryInMs: delayMs },
          "neighbour stage lost; reconnecting",
        );
        const stale: StagePipe = pipe ?? {};
        for (const link of [stale.prev, stale.next]) link?.stream.abort(lost);
        await node.unhandle(PIPE_PROTOCOL);
        // A round cut short leaves per-microbatch state in the shard: start from a clean one,
        // which trainRounds restores from the last durable checkpoint.
        loaded.stage.dispose();
        loaded = await load();
        await sleep(delayMs);
      }
    }
    shared.progress.stop();
    if (rewards) await logRewards(logger, p.client, rewards, "training done");
    if (p.keepServing) {
      // The weights this stage ended with (its last commitment's weightsRootAfter): what a miner
      // joining later starts from.
      const last = replay(journal.records).lastCheckpoint;
      if (last) store.putWeights(await loadCheckpoint(journal.dir, last), last.round);
      await serveUntilStopped(logger, store.size);
      if (rewards) await logRewards(logger, p.client, rewards, "stopped");
    }
  } finally {
    await rewards?.stop();
    await availability?.stop();
    await defence?.stop();
    await journal.close();
    await node.stop();
    loaded.stage.dispose();
  }
}
