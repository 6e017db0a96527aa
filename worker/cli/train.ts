// Wiring of `shardholder train`: backend, this stage's shard, libp2p links, journal, ledger.
// Every piece of logic lives in its module; this file only connects them in order.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { createWalletClient, http, type PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { getCurrentRound } from "../../sdk/actions/miner/getCurrentRound.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { describeBackendSelection, selectBackend } from "../backend/select.ts";
import type { BackendName } from "../backend/select.ts";
import { type RoundRunner, sdkCommitmentLedger, trainRounds } from "../commit/index.ts";
import { Journal, replay, roundItems } from "../journal/index.ts";
import { ContentStore } from "../p2p/content.ts";
import { captureLinkContent, storeRoundContent } from "../p2p/contentCapture.ts";
import { serveContent } from "../p2p/contentProtocol.ts";
import { createPipeNode } from "../p2p/node.ts";
import { openPipe } from "../p2p/pipe.ts";
import type { WireFormat } from "../p2p/wire.ts";
import { parseModelSpec } from "../model/spec.ts";
import { loadStage } from "../pipeline/models.ts";
import { runStageRound } from "../pipeline/runner.ts";
import type { ScheduleName } from "../pipeline/schedule.ts";
import { CliError, ExitCode } from "./errors.ts";
import { createProgress } from "./output.ts";

export type TrainCommandParameters = {
  logger: Logger;
  json: boolean;
  client: PublicClient;
  rpcUrl: string;
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
  schedule: ScheduleName;
  wire: WireFormat;
  dialAttempts: number;
  /**
   * After the last round, keep serving the committed content (inputs, weights, manifests) until
   * SIGINT/SIGTERM: validators audit a round after its commit window, and a miner that does not
   * serve a challenged input loses the dispute.
   */
  keepServing?: boolean | undefined;
};

/** The spec file is not the model the registry holds. */
export class SpecMismatchError extends CliError {
  constructor({ modelId, registered, file }: { modelId: bigint; registered: string; file: string }) {
    super(`Spec ${file} does not hash to model ${modelId}'s registered specHash ${registered}.`, { exitCode: ExitCode.specMismatch, name: "SpecMismatchError" });
  }
}

/** Serves the signed items manifest of every commitment of `round` (what validators sample from). */
function publishManifests(journal: Journal, store: ContentStore, round: bigint): void {
  const state = replay(journal.records);
  for (const c of state.commitments.values()) {
    if (c.commitment.round !== round || !c.signature) continue;
    store.putManifest({ commitment: c.commitment, signature: c.signature.signature, items: roundItems(state, round) });
  }
}

async function serveUntilStopped(logger: Logger, entries: number): Promise<void> {
  logger.info({ entries }, "training done; serving committed content until stopped");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  logger.info("stopped serving");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Trains `rounds` rounds of one stage, starting at the model's current round, each inside its
 * commit window (waits for the window when the chain is behind).
 */
export async function runTrainCommand(p: TrainCommandParameters): Promise<void> {
  const { logger } = p;
  let specText: string;
  try {
    specText = readFileSync(p.specPath, "utf8");
  } catch (err) {
    throw new CliError(`Cannot read --spec ${p.specPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { exitCode: ExitCode.usage, name: "UsageError" });
  }
  const spec = parseModelSpec(specText);
  const selection = await selectBackend(p.backend ? { backend: p.backend } : {});
  logger.info({ backend: selection.name }, describeBackendSelection(selection));

  const loaded = await loadStage({ kind: "transformer", spec }, p.stage, p.modelId);
  const model = await getModel(p.client, { deployments: p.deployments, modelId: p.modelId });
  if (model.specHash.toLowerCase() !== loaded.modelKey.toLowerCase())
    throw new SpecMismatchError({ modelId: p.modelId, registered: model.specHash, file: p.specPath });
  if (p.stage >= model.stageCount) throw new CliError(`Model ${p.modelId} has ${model.stageCount} stages; --stage ${p.stage} does not exist.`, { exitCode: ExitCode.usage, name: "UsageError" });

  const node = await createPipeNode({ listen: [p.listen] });
  // Validators fetch the committed inputs, weights and manifests from this store over libp2p.
  const store = new ContentStore();
  await serveContent(node, store);
  logger.info({ stage: p.stage, peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) }, "listening");
  const journal = await Journal.open(path.resolve(p.journalDir), { modelId: p.modelId, stage: p.stage, worker: p.account.address });
  if (journal.openInfo.existingRecords) logger.info({ records: journal.openInfo.existingRecords, tornBytes: journal.openInfo.tornBytesDropped }, "resuming from journal");
  try {
    const pipe = await openPipe({
      node,
      stageIndex: p.stage,
      stageCount: loaded.stageCount,
      modelKey: loaded.modelKey,
      nextAddress: p.next,
      dial: { attempts: p.dialAttempts, baseDelayMs: 250, maxDelayMs: 4_000, onRetry: ({ attempt, delayMs }) => logger.warn({ peer: p.next, attempt, retryInMs: delayMs }, "next stage not answering, retrying") },
    });
    for (const link of [pipe.prev, pipe.next]) if (link) captureLinkContent(link, store);
    logger.info({ stage: p.stage, hasPrev: Boolean(pipe.prev), hasNext: Boolean(pipe.next) }, "pipeline connected");
    const first = await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId });
    const rounds = Array.from({ length: p.rounds }, (_, i) => first + BigInt(i));
    const microbatches = loaded.defaultMicrobatches;
    const tokensPerRound = microbatches * spec.microbatchSize * spec.contextLength;
    const stageWithOptimizer = loaded.stage as typeof loaded.stage & Partial<Pick<RoundRunner, "exportOptimizerState" | "importOptimizerState">>;
    const wallet = createWalletClient({ account: p.account, transport: http(p.rpcUrl) });
    const progress = createProgress({ total: rounds.length, logger, json: p.json });
    let done = 0;
    await trainRounds({
      journal,
      runner: {
        runRound: async (round) => {
          while ((await getCurrentRound(p.client, { deployments: p.deployments, modelId: p.modelId })) < round) await sleep(2_000);
          const weightsBefore = loaded.stage.exportWeights();
          const result = await runStageRound({ stage: loaded.stage, round, microbatches, schedule: p.schedule, wire: p.wire, prev: pipe.prev, next: pipe.next, data: loaded.data });
          storeRoundContent(store, { weightsBefore, gradients: result.records.map((r) => r.parameterGradient), losses: result.losses });
          return result;
        },
        exportWeights: () => loaded.stage.exportWeights(),
        importWeights: (w) => loaded.stage.importWeights(w),
        // The transformer stage carries Adam state; checkpoint it so a resume is exact.
        exportOptimizerState: stageWithOptimizer.exportOptimizerState?.bind(stageWithOptimizer),
        importOptimizerState: stageWithOptimizer.importOptimizerState?.bind(stageWithOptimizer),
      },
      rerunDurable: true,
      modelId: p.modelId,
      stage: p.stage,
      worker: p.account.address,
      signer: p.signer,
      ledger: sdkCommitmentLedger(wallet, { deployments: p.deployments, account: p.account }),
      ledgerAddress: p.deployments.contracts.computeLedger,
      chainId: p.deployments.chainId,
      rounds,
      microbatches,
      onRound: (r) => {
        publishManifests(journal, store, r.round);
        done++;
        const tokensPerSec = r.trained && tokensPerRound ? tokensPerRound / (r.wallMs / 1000) : undefined;
        progress.update({ step: done, loss: r.meanLoss, tokensPerSec, bytesOnWire: r.bytesOnWire });
        logger.info(
          { round: r.round.toString(), trained: r.trained, rerun: r.rerun, rerunMismatches: r.rerunMismatches, loss: r.meanLoss, wallMs: Math.round(r.wallMs), confirmed: r.flush.confirmed.length, foundOnChain: r.flush.foundOnChain.length, txs: r.flush.transactions },
          "round committed",
        );
      },
    });
    progress.stop();
    await Promise.allSettled([pipe.prev?.close(), pipe.next?.close()]);
    if (p.keepServing) await serveUntilStopped(logger, store.size);
  } finally {
    await journal.close();
    await node.stop();
    loaded.stage.dispose();
  }
}
