/**
 * Serving cheats (issue 16): the demo model served in one process the way the serving pipeline serves
 * it, honestly over many requests and seeds, and with each planted serving cheat; every stage's trace
 * is audited as its validators would (worker/validator/servingAudit.ts). Measures what is caught, false
 * alarms on honest requests, and the validators' audit compute as a fraction of serving compute at the
 * escrow's audit rate. Writes the `serving` section of bench/cheat.json (the rest is bench-cheat.ts's).
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { keccak256, toHex } from "viem";
import { auditServed, type ServedRequest, SERVING_STRATEGIES, serveLocally } from "../dev/validator/servingCheats.ts";
import { weightsRoot } from "../sdk/protocol/merkle.ts";
import { requestSamplingSeed } from "../sdk/protocol/serving.ts";
import { selectBackend } from "../worker/backend/select.ts";
import { decodingModel, type SamplingParameters } from "../worker/model/generate.ts";
import { createStage } from "../worker/model/stage.ts";
import { demoModelSpec } from "./lib/devnet/model.ts";

const AUDIT_BPS = 1000; // the escrow's SERVING_AUDIT_BPS
const HONEST_REQUESTS = Number(process.env.SERVING_BENCH_REQUESTS ?? 24);
const CHEAT_REQUESTS = 4;
const POSITIONS = 16;
/** Serving uses float32 activations on the wire: honest re-executions agree far below this (measured below). */
const TOLERANCE = 1e-4;
const PROMPTS = ["The jury said ", "It was the best of ", "In the beginning ", "Once upon a time ", "She opened the door and "];

await selectBackend({});
const spec = demoModelSpec(3);
const model = decodingModel(spec);
const stageCount = spec.stages.length;
const older = Array.from({ length: stageCount }, (_, s) => createStage(spec, s));
const stages = Array.from({ length: stageCount }, (_, s) => createStage(spec, s));
// "Current" weights: the initial ones moved by a fixed step (the initial ones are then an older checkpoint).
for (const stage of stages) stage.importWeights(stage.exportWeights().map((v, i) => v + 0.02 * Math.sin(i + 1)));
const roots = stages.map((st) => weightsRoot(st.exportWeights()));

function samplingOf(requestId: bigint, prompt: string): SamplingParameters {
  return { seed: requestSamplingSeed(requestId, keccak256(toHex(prompt))), temperature: 0.8, topK: 8 };
}

function serve(requestId: bigint, prompt: string, tamper?: Parameters<typeof serveLocally>[0]["tamper"]): ServedRequest {
  const promptIds = Array.from(model.tokenizer.encode(prompt));
  return serveLocally({
    stages,
    roots,
    model,
    promptIds,
    positions: POSITIONS,
    requestId,
    sampling: samplingOf(requestId, prompt),
    tamper,
  });
}

function auditStage(served: ServedRequest, s: number, requestId: bigint, prompt: string) {
  const promptIds = Array.from(model.tokenizer.encode(prompt));
  return auditServed({ stages, roots, model, promptIds, requestId, sampling: samplingOf(requestId, prompt) }, served, s, TOLERANCE);
}

// Honest requests: every stage audited; none may fail. The audit time is the validators' whole cost.
let serveMs = 0;
let auditMs = 0;
let falseAlarms = 0;
for (let i = 0; i < HONEST_REQUESTS; i++) {
  const requestId = BigInt(1000 + i);
  const prompt = PROMPTS[i % PROMPTS.length] as string;
  const served = serve(requestId, prompt);
  serveMs += served.serveMs;
  for (let s = 0; s < stageCount; s++) {
    const verdict = auditStage(served, s, requestId, prompt);
    auditMs += verdict.computeMs;
    if (!verdict.ok) falseAlarms++;
  }
}

const strategies: Record<string, unknown> = {};
for (const strategy of SERVING_STRATEGIES) {
  const stage = strategy.stage(stageCount);
  let caught = 0;
  const reasons = new Set<string>();
  let honestStagesBlamed = 0;
  for (let i = 0; i < CHEAT_REQUESTS; i++) {
    const requestId = BigInt(2000 + i);
    const prompt = PROMPTS[i % PROMPTS.length] as string;
    const other = serve(requestId + 500n, PROMPTS[(i + 1) % PROMPTS.length] as string);
    const tamper = strategy.tamper({ older, model, sampling: samplingOf(requestId, prompt), stageCount, other });
    const served = serve(requestId, prompt, tamper);
    for (let s = 0; s < stageCount; s++) {
      const verdict = auditStage(served, s, requestId, prompt);
      if (s === stage && !verdict.ok) {
        caught++;
        reasons.add(verdict.reason.replace(/[0-9.]+e[-+][0-9]+/g, "x").replace(/\d+/g, "n"));
      }
      // A stage downstream of the cheat re-executes on the cheat's committed outputs: it stays honest.
      if (s !== stage && !verdict.ok) honestStagesBlamed++;
    }
  }
  strategies[strategy.name] = {
    describe: strategy.describe,
    stage,
    auditedRequests: CHEAT_REQUESTS,
    caughtWhenAudited: `${caught}/${CHEAT_REQUESTS}`,
    // Each audited request is caught, so at the escrow's rate a cheater's expected number of answers
    // before the first audit is 1 / rate; each caught one costs at least the fee and half its stake.
    detectionPerRequestAtAuditRate: (caught / CHEAT_REQUESTS) * (AUDIT_BPS / 10_000),
    honestStagesBlamed,
    how: [...reasons],
  };
}

const costFraction = (auditMs / serveMs) * (AUDIT_BPS / 10_000);
const report = {
  machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, no GPU, tfjs backend ${tf.getBackend()}`,
  measuredAt: new Date().toISOString(),
  model: {
    dModel: spec.dModel,
    layers: spec.layers,
    stages: stageCount,
    contextLength: spec.contextLength,
    positionsPerRequest: POSITIONS,
  },
  auditBps: AUDIT_BPS,
  tolerance: { outputActivation: TOLERANCE, why: "float32 wire: an honest re-execution on the same backend is bit-identical" },
  honest: { requests: HONEST_REQUESTS, stagesAudited: HONEST_REQUESTS * stageCount, falseAlarms },
  strategies,
  validatorCost: {
    serveMs: Math.round(serveMs),
    auditAllStagesMs: Math.round(auditMs),
    auditOverServingPerAuditedRequest: auditMs / serveMs,
    fractionOfServingComputeAtAuditRate: costFraction,
  },
};
mkdirSync("bench", { recursive: true });
const path = "bench/cheat.json";
const existing = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : {};
writeFileSync(path, `${JSON.stringify({ ...existing, serving: report }, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
for (const st of [...stages, ...older]) st.dispose();
