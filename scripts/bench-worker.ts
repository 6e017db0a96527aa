/**
 * Worker benchmark: raw matmul GFLOP/s of the backend, then the same model trained by a real
 * multi-process libp2p pipeline (one OS process per stage, loopback) with int8 and with float32
 * wire tensors. Writes bench/worker.json.
 *
 * Usage: npx tsx scripts/bench-worker.ts [--backend auto|wasm|cpu|...] [--stages 2] [--layers 4]
 *        [--microbatches 8] [--rounds 6] [--warmup 1] [--schedule 1f1b|gpipe] [--out bench/worker.json]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { measureMatmulGflops } from "../worker/backend/bench.ts";
import { type BackendName, describeBackendSelection, parseBackendName, selectBackend } from "../worker/backend/select.ts";
import { stageTrainingFlops } from "../worker/model/layout.ts";
import { defaultModelSpec, type ModelSpec, specHash } from "../worker/model/spec.ts";
import type { WireFormat } from "../worker/p2p/wire.ts";
import { runStageProcesses, type StageEvent } from "../worker/pipeline/launch.ts";
import type { RoundTimings } from "../worker/pipeline/runner.ts";
import { idealEfficiency, type ScheduleName } from "../worker/pipeline/schedule.ts";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "auto" },
    stages: { type: "string", default: "2" },
    layers: { type: "string" },
    microbatches: { type: "string", default: "8" },
    rounds: { type: "string", default: "6" },
    warmup: { type: "string", default: "1" },
    schedule: { type: "string", default: "1f1b" },
    out: { type: "string", default: "bench/worker.json" },
  },
});
const stageCount = Number(values.stages);
const microbatches = Number(values.microbatches);
const warmup = Number(values.warmup);
const rounds = Number(values.rounds);
const schedule = values.schedule as ScheduleName;
const forced: BackendName | undefined = values.backend === "auto" ? undefined : parseBackendName(values.backend as string);
const spec: ModelSpec = defaultModelSpec({ stageCount, layers: Number(values.layers ?? 2 * stageCount), microbatchesPerStep: microbatches });

type RoundEvent = StageEvent & { round: string; losses: number[]; bytesSent: number; timings: RoundTimings; flopsPerMicrobatch: number };

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const selection = await selectBackend(forced ? { backend: forced } : {});
log(`bench-worker: ${describeBackendSelection(selection)}; measuring raw matmul`);
const raw = measureMatmulGflops(512, 512, 512, 2);

async function trainRun(wire: WireFormat) {
  log(`bench-worker: ${stageCount}-stage pipeline, ${wire} wire, ${warmup}+${rounds} rounds of ${microbatches} microbatches`);
  const started = performance.now();
  const procs = await runStageProcesses(
    stageCount,
    () => ({ model: { kind: "transformer", spec }, modelId: "1", rounds: warmup + rounds, microbatches, schedule, wire, backend: selection.name }),
    30 * 60_000,
  );
  const perStage = procs.map((p) => (p.all("round") as RoundEvent[]).slice(warmup));
  const wallPerRound = perStage.map((rs) => mean(rs.map((r) => r.timings.wallMs)));
  const busyPerRound = perStage.map((rs) => mean(rs.map((r) => r.timings.busyMs)));
  const computePerRound = perStage.map((rs) => mean(rs.map((r) => r.timings.forwardMs + r.timings.backwardMs + r.timings.stepMs)));
  const codecPerRound = perStage.map((rs) => mean(rs.map((r) => r.timings.codecMs)));
  const stageFlops = spec.stages.map((_, s) => stageTrainingFlops(spec, s) * microbatches);
  const stepMs = Math.max(...wallPerRound);
  const lastStage = perStage[stageCount - 1] as RoundEvent[];
  const lossPerRound = (procs[stageCount - 1]?.all("round") as RoundEvent[]).map((r) => mean(r.losses));
  return {
    wire,
    totalSeconds: (performance.now() - started) / 1000,
    secondsPerStep: stepMs / 1000,
    tokensPerSecond: (microbatches * spec.microbatchSize * spec.contextLength) / (stepMs / 1000),
    bytesPerStep: perStage.reduce((n, rs) => n + mean(rs.map((r) => r.bytesSent)), 0),
    stages: perStage.map((_, s) => ({
      stage: s,
      wallMs: wallPerRound[s],
      busyMs: busyPerRound[s],
      computeMs: computePerRound[s],
      codecMs: codecPerRound[s],
      idleMs: (wallPerRound[s] as number) - (busyPerRound[s] as number),
      efficiency: (busyPerRound[s] as number) / (wallPerRound[s] as number),
      modelGflopsWhileBusy: (stageFlops[s] as number) / (busyPerRound[s] as number) / 1e6,
      modelGflopsWhileComputing: (stageFlops[s] as number) / (computePerRound[s] as number) / 1e6,
    })),
    pipelineModelGflops: stageFlops.reduce((a, b) => a + b, 0) / stepMs / 1e6,
    lossPerRound,
    finalLoss: mean(lastStage.slice(-2).map((r) => mean(r.losses))),
  };
}

const int8 = await trainRun("int8");
const float32 = await trainRun("float32");
const ideal = idealEfficiency(stageCount, microbatches);
const efficiency = mean(int8.stages.map((s) => s.efficiency));
const busyGflops = mean(int8.stages.map((s) => s.modelGflopsWhileBusy));
const compression = float32.bytesPerStep / int8.bytesPerStep;
const lossDifference = Math.abs(int8.finalLoss - float32.finalLoss) / float32.finalLoss;

const report = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, note: "shared with other jobs; one tfjs process per stage, one core each" },
  backend: selection.name,
  backendNote: describeBackendSelection(selection),
  rawMatmulGflops: raw.gflops,
  rawMatmulShape: [raw.m, raw.k, raw.n],
  spec: { hash: specHash(spec), dModel: spec.dModel, layers: spec.layers, heads: spec.heads, contextLength: spec.contextLength, microbatchSize: spec.microbatchSize, stages: spec.stages },
  pipeline: { stageCount, microbatches, schedule, warmupRounds: warmup, measuredRounds: rounds, transport: "libp2p tcp+noise+yamux on 127.0.0.1" },
  training: {
    modelGflopsPerStageWhileBusy: busyGflops,
    ratioToRaw: busyGflops / raw.gflops,
    pipelineModelGflops: int8.pipelineModelGflops,
    pipelineRatioToRawTimesStages: int8.pipelineModelGflops / (raw.gflops * stageCount),
    tokensPerSecond: int8.tokensPerSecond,
    secondsPerStep: int8.secondsPerStep,
    note: "model FLOPs are analytic (6 x matmul weights x tokens + attention; backward recomputation not counted)",
  },
  efficiency: { measured: efficiency, ideal, ratioToIdeal: efficiency / ideal, perStage: int8.stages },
  wire: {
    int8: { bytesPerStep: int8.bytesPerStep, finalLoss: int8.finalLoss, lossPerRound: int8.lossPerRound },
    float32: { bytesPerStep: float32.bytesPerStep, finalLoss: float32.finalLoss, lossPerRound: float32.lossPerRound, stages: float32.stages },
    compressionRatio: compression,
    finalLossRelativeDifference: lossDifference,
    bytesNote: "application bytes on the pipe streams (u32 length + 13-byte frame header + canonical tensor), all stages, both directions; noise/yamux framing not included",
  },
  targets: {
    flopsRatioAtLeast50pct: busyGflops / raw.gflops >= 0.5,
    efficiencyAtLeast80pctOfIdeal: efficiency / ideal >= 0.8,
    compressionAtLeast4x: compression >= 4,
    lossDifferenceAtMost2pct: lossDifference <= 0.02,
  },
};
mkdirSync(dirname(values.out as string), { recursive: true });
writeFileSync(values.out as string, `${JSON.stringify(report, null, 2)}\n`);
log(`bench-worker: wrote ${values.out}`);
console.log(JSON.stringify(report.targets));
