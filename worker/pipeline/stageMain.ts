/**
 * One pipeline stage in its own OS process.
 *
 *   node --import tsx worker/pipeline/stageMain.ts --config stage1.json [--stage 1] [--listen <ma>]
 *        [--next <ma>] [--rounds N] [--start-round R] [--microbatches M] [--steps K] [--schedule gpipe|1f1b]
 *        [--wire int8|float32] [--compression adaptive|off] [--backend auto|tfjs-node-gpu|tfjs-node|wasm|cpu] [--peer-timeout-ms N]
 *   (or `--config-json '<json>'`; fields and defaults: `StageProcessConfig` in ./config.ts)
 *
 * Stage s listens (default /ip4/127.0.0.1/tcp/0), accepts one link from stage s-1 and dials
 * stage s+1 at `next` with retries and backoff. Start the stages from the last to the first and
 * pass each one's printed address as `next` of the one before (worker/pipeline/launch.ts does
 * that; fixed ports in any order also work, if nothing else can take them in between).
 *
 * Modes: `train` runs `rounds` rounds from `startRound`; `serve` makes stage 0 generate
 * `maxNewTokens` greedy tokens for each of `prompts` through the pipeline (worker/serve/pipelineServe.ts,
 * the code of `shardholder serve`), then every stage exits.
 *
 * stdout: one JSON object per line, `event` is one of
 *   listening {stage, peerId, addrs, backend, backendNote, parameterCount}
 *   retry     {stage, attempt, delayMs, error}      (dialing the next stage)
 *   refused   {stage, error}                        (an inbound link from a wrong peer)
 *   connected {stage, hasPrev, hasNext}
 *   round     {stage, round, head (stage 0: the address its data is drawn for), losses, evalLoss (last stage, with `evaluate`), bytesSent, bytesReceived,
 *              timings, records: [{index, inputActHash, outputActHash, upstreamGradHash, inputGradHash, weightsRoot, gradientElements}], flopsPerMicrobatch}
 *   generated {stage: 0, request, prompt, text, tokens, commitments, ms, bytesSent, bytesReceived}   (serve mode)
 *   refused   {stage, error}   (serve mode: a frame not signed by its stage's loopback operator)
 *   served    {stage, activations, tokensRelayed}                                     (serve mode, s >= 1)
 *   audit     {stage, parameterCount, variables: [{name, size}], received: [{kind, count, payloadBytes}]}
 *   done      {stage}
 *   error     {stage, name, shortMessage, message}   (then exit code 1)
 */
import * as tf from "@tensorflow/tfjs";
import { type Address, getAddress, keccak256, stringToBytes } from "viem";
import { weightsRoot } from "../../sdk/protocol/merkle.ts";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeBackendSelection, selectBackend } from "../backend/select.ts";
import { LOCAL_HEAD } from "../data/batches.ts";
import { createPipeNode } from "../p2p/node.ts";
import { servingFrameLimits, tensorFrameLimits } from "../p2p/frames.ts";
import { localPipeAuth } from "../p2p/hello.ts";
import { finishPipeline, openPipe, type StagePipe } from "../p2p/pipe.ts";
import type { PipeLink } from "../p2p/link.ts";
import { parseStageArgs, type StageProcessConfig } from "./config.ts";
import { type LoadedStage, loadStage } from "./models.ts";
import { runStageRound } from "./runner.ts";
import { generateThroughPipeline, serveDownstreamStage } from "../serve/pipelineServe.ts";
import { localServingIdentity } from "../serve/servingFrames.ts";

const emit = (event: string, body: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, ...body }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`);
};

/** Every tf.Variable alive in this process: what "this process holds" means for the audit. */
function variableAudit(): { name: string; size: number }[] {
  const registered = tf.engine().registeredVariables;
  return Object.values(registered).map((v) => ({ name: v.name, size: v.size }));
}

function receivedAudit(links: (PipeLink | undefined)[]): { kind: string; count: number; payloadBytes: number }[] {
  const byKind = new Map<string, { count: number; payloadBytes: number }>();
  for (const link of links) {
    for (const [kind, r] of link?.received ?? []) {
      const entry = byKind.get(kind) ?? { count: 0, payloadBytes: 0 };
      entry.count += r.count;
      entry.payloadBytes += r.payloadBytes;
      byKind.set(kind, entry);
    }
  }
  return [...byKind.entries()].map(([kind, v]) => ({ kind, ...v }));
}

async function train(config: StageProcessConfig, loaded: LoadedStage, pipe: StagePipe, head: Address): Promise<void> {
  const { stage } = loaded;
  const stageIndex = config.stage;
  const microbatches = config.microbatches ?? loaded.microbatchesPerStep;
  const steps = config.steps ?? loaded.stepsPerRound;
  const evaluation =
    config.evaluate && loaded.evalMicrobatches > 0 ? { microbatches: loaded.evalMicrobatches, data: loaded.evalData } : undefined;
  if (config.gradientsDir) mkdirSync(config.gradientsDir, { recursive: true });
  for (let r = 0; r < config.rounds; r++) {
    const round = BigInt(config.startRound) + BigInt(r);
    const result = await runStageRound({
      stage,
      round,
      microbatches,
      steps,
      evaluation,
      schedule: config.schedule,
      wire: config.wire,
      prev: pipe.prev,
      next: pipe.next,
      data: loaded.data,
      head,
    });
    if (config.gradientsDir) {
      for (const rec of result.records) {
        const g = rec.parameterGradient;
        writeFileSync(
          join(config.gradientsDir, `s${stageIndex}-r${round}-m${rec.index}.f32`),
          new Uint8Array(g.buffer, g.byteOffset, g.byteLength),
        );
      }
    }
    emit("round", {
      stage: stageIndex,
      round,
      ...(stageIndex === 0 ? { head } : {}),
      losses: result.losses,
      ...(result.evalLoss !== undefined ? { evalLoss: result.evalLoss } : {}),
      bytesSent: result.bytesSent,
      bytesReceived: result.bytesReceived,
      timings: result.timings,
      flopsPerMicrobatch: loaded.flopsPerMicrobatch,
      records: result.records.map(({ parameterGradient, ...hashes }) => ({ ...hashes, gradientElements: parameterGradient.length })),
    });
  }
}

async function serve(config: StageProcessConfig, loaded: LoadedStage, pipe: StagePipe): Promise<void> {
  const stageIndex = config.stage;
  // The same serving code as `shardholder serve` (u32 LE inferToken payloads, signed frames), greedy
  // here; without a chain, the stage keys are the loopback ones derived from the model id.
  const identity = localServingIdentity(BigInt(config.modelId), stageIndex, loaded.stageCount, weightsRoot(loaded.stage.exportWeights()));
  const onRefused = (error: Error) => emit("refused", { stage: stageIndex, error: error.message });
  const head = { stage: loaded.stage, pipe, wire: config.wire, identity, onRefused };
  if (stageIndex > 0) {
    const { served, relayed } = await serveDownstreamStage(head);
    emit("served", { stage: stageIndex, activations: served, tokensRelayed: relayed });
    return;
  }
  const prompts = config.prompts ?? [];
  for (const [i, prompt] of prompts.entries()) {
    const sentBefore = pipe.next?.stats.bytesSent ?? 0;
    const receivedBefore = pipe.next?.stats.bytesReceived ?? 0;
    const start = performance.now();
    const request = { requestId: BigInt(i), inputHash: keccak256(stringToBytes(prompt)), prompt: loaded.tokenizer.encode(prompt) };
    const { tokens, commitments } = await generateThroughPipeline(head, loaded, request, config.maxNewTokens ?? 32);
    emit("generated", {
      stage: 0,
      request: i,
      prompt,
      text: loaded.tokenizer.decode(tokens),
      tokens,
      commitments,
      ms: performance.now() - start,
      bytesSent: (pipe.next?.stats.bytesSent ?? 0) - sentBefore,
      bytesReceived: (pipe.next?.stats.bytesReceived ?? 0) - receivedBefore,
    });
  }
}

async function main(config: StageProcessConfig): Promise<void> {
  const stageIndex = config.stage;
  const selection = await selectBackend(config.backend === "auto" ? {} : { backend: config.backend });
  const backend = selection.name;
  const modelId = BigInt(config.modelId);
  const loaded = await loadStage(config.model, stageIndex, modelId);
  const { stage } = loaded;
  if (config.weightsIn) {
    const bytes = readFileSync(config.weightsIn);
    const weights = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (weights.length !== stage.parameterCount)
      throw new Error(`${config.weightsIn} holds ${weights.length} parameters, stage ${stageIndex} has ${stage.parameterCount}`);
    stage.importWeights(weights);
  }
  const node = await createPipeNode({ listen: config.listen });
  emit("listening", {
    stage: stageIndex,
    peerId: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(String),
    backend,
    backendNote: describeBackendSelection(selection),
    parameterCount: stage.parameterCount,
  });
  // Stage processes of benchmarks and tests run on loopback without a chain: every stage signs
  // with a fresh key and accepts any validly signed neighbour of the model (never on a network).
  const auth = await localPipeAuth(modelId);
  const pipe = await openPipe({
    node,
    stageIndex,
    stageCount: loaded.stageCount,
    modelKey: loaded.modelKey,
    auth,
    limits:
      config.mode === "serve"
        ? servingFrameLimits(loaded.contextLength, loaded.wireShape[2] as number)
        : tensorFrameLimits(loaded.wireShape, { targetVocab: loaded.vocabSize }),
    nextAddress: config.next,
    messageTimeoutMs: config.peerTimeoutMs,
    compression: config.compression,
    dial: {
      ...config.dial,
      onRetry: ({ attempt, delayMs, error }) => emit("retry", { stage: stageIndex, attempt, delayMs, error: error.message }),
    },
    onRefused: (error) => emit("refused", { stage: stageIndex, error: error.message }),
  });
  emit("connected", { stage: stageIndex, hasPrev: Boolean(pipe.prev), hasNext: Boolean(pipe.next) });
  if (config.mode === "serve") await serve(config, loaded, pipe);
  // Without a chain there is no staking address: the zero address heads the pipeline, so runs
  // are reproducible (the hello keys are fresh every run).
  else {
    await train(config, loaded, pipe, config.head === undefined ? LOCAL_HEAD : getAddress(config.head));
    // Nobody leaves before every stage is done (docs/PROTOCOL.md "End of work"). Without it the
    // last stage closed its link as soon as its own rounds were over, and over a 40 ms link its
    // neighbour, still finishing the round, lost the link under frames it had yet to read
    // ("the remote end finished sending": npm run bench:swarm).
    await finishPipeline(pipe);
  }
  if (config.weightsOut) {
    const w = stage.exportWeights();
    writeFileSync(config.weightsOut, new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  }
  emit("audit", {
    stage: stageIndex,
    parameterCount: stage.parameterCount,
    variables: variableAudit(),
    received: receivedAudit([pipe.prev, pipe.next]),
  });
  await Promise.allSettled([pipe.prev?.close(), pipe.next?.close()]);
  await node.stop();
  stage.dispose();
  emit("done", { stage: stageIndex });
}

let stageForErrors: number | undefined;
try {
  const config = parseStageArgs(process.argv.slice(2), (path) => readFileSync(path, "utf8"));
  stageForErrors = config.stage;
  await main(config);
  process.exit(0);
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  const shortMessage = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  emit("error", { stage: stageForErrors, name: error.name, shortMessage, message: error.message });
  process.exit(1);
}
