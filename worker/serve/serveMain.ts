/**
 * One serving stage in its own OS process (forward-only). Stage 0 is also the serving operator:
 * it runs the content store, watches the escrow and fulfils.
 *
 *   node --import tsx worker/serve/serveMain.ts --config-json '<ServeStageConfig JSON>'
 *
 * stdout: one JSON object per line, `event` is one of
 *   listening {stage, addrs, weightsRound, weightsRoot}   connected {stage}
 *   ready     {stage, storeUrl}      (stage 0, operator loop running)
 *   served    {requestId, status, output?, outputHash?, txHash?, gasUsed?, generateMs?, reason?}
 *   done      {stage, served}        error {stage, name, shortMessage}
 * SIGTERM/SIGINT: stage 0 stops the operator and closes its link; downstream stages follow.
 */
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { parseDeployments } from "../../sdk/deployments/parse.ts";
import { selectBackend, type BackendName } from "../backend/select.ts";
import { parseModelSpec } from "../model/spec.ts";
import { createStage } from "../model/stage.ts";
import { specHash } from "../model/spec.ts";
import { createPipeNode } from "../p2p/node.ts";
import { openPipe } from "../p2p/pipe.ts";
import type { WireFormat } from "../p2p/wire.ts";
import { runServingOperator } from "./operator.ts";
import { PipelineGenerator, serveDownstreamStage } from "./pipelineServe.ts";
import { ContentStore, serveContentStore } from "./store.ts";
import { loadJournaledWeights } from "./weights.ts";

/** Configuration of one serving stage process. */
export type ServeStageConfig = {
  stage: number;
  specPath: string;
  modelId: string;
  listen: string[];
  next?: string | undefined;
  /** Training journal of this stage's operator: serve its newest checkpoint (else initial weights). */
  journalDir?: string | undefined;
  wire?: WireFormat | undefined;
  backend?: BackendName | undefined;
  /** Stage 0 only: the operator's chain access. */
  operator?: { rpcUrl: string; deploymentsPath: string; key: Hex; stageOperators: Address[]; maxNewTokens: number } | undefined;
};

const emit = (event: string, body: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, ...body }, (_, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
};

async function main(config: ServeStageConfig): Promise<void> {
  await selectBackend(config.backend ? { backend: config.backend } : {});
  const spec = parseModelSpec(readFileSync(config.specPath, "utf8"));
  const stage = createStage(spec, config.stage);
  const trained = config.journalDir ? await loadJournaledWeights(config.journalDir) : undefined;
  if (trained) stage.importWeights(trained.weights);
  const node = await createPipeNode({ listen: config.listen });
  emit("listening", { stage: config.stage, addrs: node.getMultiaddrs().map(String), weightsRound: trained?.round, weightsRoot: trained?.weightsRoot });
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
  const pipe = await openPipe({
    node,
    stageIndex: config.stage,
    stageCount: spec.stages.length,
    modelKey: specHash(spec),
    nextAddress: config.next,
    dial: { attempts: 14, baseDelayMs: 100, maxDelayMs: 1000 },
    signal: stop.signal,
  });
  emit("connected", { stage: config.stage });
  const wire = config.wire ?? "float32";
  let served = 0;
  if (config.stage === 0) {
    const op = config.operator;
    if (!op) throw new Error("stage 0 needs the operator config");
    const deployments = parseDeployments(JSON.parse(readFileSync(op.deploymentsPath, "utf8")), op.deploymentsPath);
    const client = createPublicClient({ transport: http(op.rpcUrl) });
    const wallet = createWalletClient({ account: privateKeyToAccount(op.key), transport: http(op.rpcUrl) });
    const generator = new PipelineGenerator({ spec, stage, pipe, wire });
    const store = new ContentStore();
    const http_ = await serveContentStore(store);
    emit("ready", { stage: 0, storeUrl: http_.url });
    await runServingOperator({
      client, wallet, deployments, modelId: BigInt(config.modelId), store, stageOperators: op.stageOperators,
      generate: (prompt) => generator.generate(prompt, op.maxNewTokens),
      onServed: (s) => {
        if (s.status === "fulfilled") served++;
        emit("served", s);
      },
      signal: stop.signal,
    });
    await http_.close();
    await pipe.next?.close();
  } else {
    ({ served } = await serveDownstreamStage({ stage, pipe, wire }));
  }
  await node.stop();
  stage.dispose();
  emit("done", { stage: config.stage, served });
}

let stageForErrors: number | undefined;
try {
  const i = process.argv.indexOf("--config-json");
  const config = JSON.parse(process.argv[i + 1] ?? "") as ServeStageConfig;
  stageForErrors = config.stage;
  await main(config);
  process.exit(0);
} catch (err) {
  const error = err instanceof Error ? err : new Error(String(err));
  const shortMessage = "shortMessage" in error && typeof error.shortMessage === "string" ? error.shortMessage : error.message;
  emit("error", { stage: stageForErrors, name: error.name, shortMessage });
  process.exit(1);
}
