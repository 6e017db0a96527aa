// One serving stage (forward-only) over libp2p. Stage 0 is also the serving operator: it runs
// the content store, watches the escrow and fulfils. Used by serveMain.ts (one process per
// stage) and by the `shardholder serve` command.
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, type Address, type Hex } from "viem";
import { rpcTransport } from "../rpc/transport.ts";
import { type LocalAccount, privateKeyToAccount } from "viem/accounts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { announceEndpoint, withdrawEndpoint } from "../../sdk/actions/inference/announceEndpoint.ts";
import { selectBackend, type BackendName } from "../backend/select.ts";
import { parseModelSpec } from "../model/spec.ts";
import { createStage } from "../model/stage.ts";
import { validateSampling } from "../model/generate.ts";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { canonicalSpecJson, specHash } from "../model/spec.ts";
import { createPipeNode } from "../p2p/node.ts";
import { servingFrameLimits } from "../p2p/frames.ts";
import { localPipeAuth } from "../p2p/hello.ts";
import { openPipe } from "../p2p/pipe.ts";
import type { WireFormat } from "../p2p/wire.ts";
import { runServingOperator } from "./operator.ts";
import { PipelineGenerator, serveDownstreamStage } from "./pipelineServe.ts";
import type { SamplingTerms } from "./sampling.ts";
import { checkServingKey, type ServingFrameRefusedError, type ServingIdentity } from "./servingFrames.ts";
import { ServingLog } from "./servingRecord.ts";
import { ContentStore, serveContentStore } from "./store.ts";
import { loadExportedWeights, loadJournaledWeights } from "./weights.ts";

/** Configuration of one serving stage process. */
export type ServeStageConfig = {
  stage: number;
  specPath: string;
  modelId: string;
  listen: string[];
  next?: string | undefined;
  /** Training journal of this stage's operator: serve its newest checkpoint (else initial weights). */
  journalDir?: string | undefined;
  /** An exported stage checkpoint (`shardholder export`) to serve instead (not with `journalDir`). */
  weightsFile?: string | undefined;
  wire?: WireFormat | undefined;
  backend?: BackendName | undefined;
  /** How the stage that holds the logits (the last) draws tokens; greedy when absent. The seed is each request's. */
  sampling?: SamplingTerms | undefined;
  /** This stage's operator key (`stageOperators[stage]`; signs frames and the commitment): raw (`key`) or as an account. */
  key?: Hex | undefined;
  account?: LocalAccount | undefined;
  /** The pipeline's operator of each stage, in stage order. */
  stageOperators: Address[];
  /** The address book (the escrow signed for, and stage 0's contracts): as a file (`deploymentsPath`), or already loaded. */
  deploymentsPath?: string | undefined;
  deployments?: Deployments | undefined;
  /** Stage 0 only: the operator's chain access. */
  operator?:
    | {
        rpcUrls: string[];
        maxNewTokens: number;
        /** Where the content store listens (default 127.0.0.1, any free port). */
        http?: { host?: string | undefined; port?: number | undefined } | undefined;
        /** The URL announced in the ServingDirectory (default: the store's bound URL); set it behind a proxy or NAT. */
        publicUrl?: string | undefined;
        /** The other operators' pipeline consents (deadline in unix seconds, decimal), to register the pipeline if needed. */
        consents?: { deadline: string; signatures: Record<Address, Hex> } | undefined;
      }
    | undefined;
};

/** Thrown for a serving stage configuration that lacks what the stage needs (one line, for the CLI). */
export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServeConfigError";
  }
}

/** The signing identity of stage `config.stage`, from its key, the pipeline and the address book. */
function servingIdentity(config: ServeStageConfig, weights: Float32Array): { identity: ServingIdentity; deployments: Deployments } {
  const deployments =
    config.deployments ??
    (config.deploymentsPath
      ? parseDeployments(JSON.parse(readFileSync(config.deploymentsPath, "utf8")), config.deploymentsPath)
      : undefined);
  if (!deployments) throw new ServeConfigError(`stage ${config.stage} needs the address book (deployments or deploymentsPath)`);
  const account = config.account ?? (config.key ? privateKeyToAccount(config.key) : undefined);
  if (!account) throw new ServeConfigError(`stage ${config.stage} needs its operator's key (key or account)`);
  const identity: ServingIdentity = {
    account,
    stageOperators: config.stageOperators,
    context: { escrow: deployments.contracts.inferenceEscrow, chainId: deployments.chainId },
    weightsRoot: weightsRoot(weights),
  };
  checkServingKey(identity, config.stage);
  return { identity, deployments };
}

/** Receives each progress event (`listening`, `connected`, `ready`, `served`, `done`). */
export type ServeEmit = (event: string, body: Record<string, unknown>) => void;

/**
 * Runs one serving stage until `signal` aborts (stage 0) or its upstream link closes (s > 0).
 *
 * @example
 * await runServeStage(
 *   { stage: 1, specPath, modelId: "1", listen: ["/ip4/127.0.0.1/tcp/4002"], next, key, stageOperators, deploymentsPath },
 *   emit,
 *   signal,
 * )
 */
export async function runServeStage(
  config: ServeStageConfig,
  emit: ServeEmit,
  signal: AbortSignal,
): Promise<{ served: number; log: ServingLog }> {
  await selectBackend(config.backend ? { backend: config.backend } : {});
  const spec = parseModelSpec(readFileSync(config.specPath, "utf8"));
  // The seed is each request's; the terms are checked with a stand-in one.
  if (config.sampling) validateSampling({ ...config.sampling, seed: `0x${"0".repeat(64)}` });
  const stage = createStage(spec, config.stage);
  const trained = config.weightsFile
    ? await loadExportedWeights(config.weightsFile, {
        modelId: config.modelId,
        stage: config.stage,
        specHash: specHash(spec),
        parameterCount: stage.parameterCount,
      })
    : config.journalDir
      ? await loadJournaledWeights(config.journalDir)
      : undefined;
  if (trained) stage.importWeights(trained.weights);
  const { identity, deployments } = servingIdentity(config, stage.exportWeights());
  const log = new ServingLog();
  const onRefused = (err: ServingFrameRefusedError): void =>
    emit("refused", { stage: config.stage, kind: err.kind, requestId: err.requestId, position: err.position, reason: err.message });
  const node = await createPipeNode({ listen: config.listen });
  emit("listening", {
    stage: config.stage,
    addrs: node.getMultiaddrs().map(String),
    weightsRound: trained?.round,
    weightsRoot: identity.weightsRoot,
    operator: identity.account.address,
  });
  const pipe = await openPipe({
    node,
    stageIndex: config.stage,
    stageCount: spec.stages.length,
    modelKey: specHash(spec),
    // The link's hello is still signed with a fresh key and accepts any validly signed neighbour
    // of this model (no directory check yet); what a neighbour sends is authenticated per frame
    // instead: every serving frame carries its stage operator's signature, checked on receipt.
    // The frame limits still bound what a hostile peer can make them decode.
    auth: await localPipeAuth(BigInt(config.modelId)),
    limits: servingFrameLimits(spec.contextLength, spec.dModel),
    nextAddress: config.next,
    dial: { attempts: 14, baseDelayMs: 100, maxDelayMs: 1000 },
    signal,
  });
  emit("connected", { stage: config.stage });
  const wire = config.wire ?? "float32";
  let served = 0;
  if (config.stage === 0) {
    const op = config.operator;
    if (!op) throw new ServeConfigError("stage 0 needs the operator config");
    const { account } = identity;
    // The operator runs for days: a stalled or restarting endpoint is waited out, not fatal.
    const transport = rpcTransport({
      urls: op.rpcUrls,
      onRetry: ({ method, attempt, delayMs }) => emit("rpcRetry", { method, attempt, retryInMs: delayMs }),
    });
    const client = createPublicClient({ transport });
    const wallet = createWalletClient({ account, transport });
    const generator = new PipelineGenerator({ spec, stage, pipe, wire, sampling: config.sampling, identity, log, onRefused });
    const store = new ContentStore();
    // The spec is served by its hash beside the prompts: a joining miner fetches it from here.
    const http_ = await serveContentStore(store, {
      host: op.http?.host,
      port: op.http?.port,
      specs: new Map([[specHash(spec).toLowerCase(), canonicalSpecJson(spec)]]),
      serving: log,
    });
    const modelId = BigInt(config.modelId);
    const url = op.publicUrl ?? http_.url;
    // Dapps find the store through this entry (`getServingEndpoints`), never through a URL passed by hand.
    const announced = await announceEndpoint(wallet, { deployments, modelId, url });
    emit("announced", { url, txHash: announced.transactionHash });
    emit("ready", { stage: 0, storeUrl: http_.url });
    await runServingOperator({
      client,
      wallet,
      deployments,
      modelId,
      store,
      stageOperators: config.stageOperators,
      consents: op.consents ? { deadline: BigInt(op.consents.deadline), signatures: op.consents.signatures } : undefined,
      generate: (request, onText) => generator.generate(request, op.maxNewTokens, onText),
      onServed: (s) => {
        if (s.status === "fulfilled") served++;
        emit("served", s);
      },
      onReleased: (r) => emit("txHash" in r ? "released" : "releaseFailed", r),
      signal,
    });
    await http_.close();
    // Best effort: a dead entry only costs dapps one failed upload before they try the next endpoint.
    await withdrawEndpoint(wallet, { deployments, modelId })
      .then((r) => emit("withdrawn", { url, txHash: r.transactionHash }))
      .catch((err: unknown) => emit("withdrawFailed", { url, reason: err instanceof Error ? err.message.split("\n")[0] : String(err) }));
    await pipe.next?.close();
  } else {
    ({ served } = await serveDownstreamStage({ stage, pipe, wire, sampling: config.sampling, identity, log, onRefused }));
  }
  await node.stop();
  stage.dispose();
  emit("done", { stage: config.stage, served });
  return { served, log };
}
