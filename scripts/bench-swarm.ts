/**
 * Swarm benchmark (issue 20, "Slow links, measured"): the 3-stage training pipeline (one OS
 * process per stage, libp2p TCP+noise+yamux) on loopback, then with each stage in its own
 * network namespace behind shaped links (default 100 Mbit/s and 40 ms RTT on every link, 1%
 * packet loss on link 1, scripts/lib/netem), with and without the wire's lossless compression
 * (and float32 tensors, nothing compressed). Writes bench/swarm.json and prints a summary.
 *
 * Usage: npx tsx scripts/bench-swarm.ts [--model demo|wide] [--steps 8] [--rounds 2] [--warmup 1]
 *        [--rate 100] [--rtt 40] [--loss 0.01] [--lossy-link 1] [--repeats 2] [--variants <name prefixes, comma-separated>]
 *        [--backend wasm] [--out bench/swarm.json]
 * The machine is shared, so variants run interleaved, `--repeats` times each (forward order, then
 * backward), and each variant reports the median of its repeats (every run is kept in the file).
 * Shaped runs need root and `ip netns`; without them they are skipped with the reason (in the file too).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { demoModelSpec } from "./lib/devnet/model.ts";
import { chainPlacement, createShapedChain, type RelayStats, type ShapedChain } from "./lib/netem/chain.ts";
import { netemSupport } from "./lib/netem/host.ts";
import { type LinkMeasurement, measureLink } from "./lib/netem/measure.ts";
import type { LinkShape } from "./lib/netem/plan.ts";
import { type RoundSample, type RunSummary, summarizeRun } from "./lib/swarm/summary.ts";
import { defaultModelSpec, type ModelSpec, specHash } from "../worker/model/spec.ts";
import type { LinkCompression } from "../worker/p2p/link.ts";
import type { WireFormat } from "../worker/p2p/wire.ts";
import { runStageProcesses, type StageEvent, type StagePlacement } from "../worker/pipeline/launch.ts";
import { idealEfficiency } from "../worker/pipeline/schedule.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "demo" },
    steps: { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
    warmup: { type: "string", default: "1" },
    rate: { type: "string", default: "100" },
    rtt: { type: "string", default: "40" },
    loss: { type: "string", default: "0.01" },
    "lossy-link": { type: "string", default: "1" },
    repeats: { type: "string", default: "2" },
    variants: { type: "string" },
    backend: { type: "string", default: "wasm" },
    out: { type: "string", default: "bench/swarm.json" },
  },
});
const STAGES = 3;
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const warmup = Number(values.warmup);
const lossyLink = Number(values["lossy-link"]);
const shapes: LinkShape[] = Array.from({ length: STAGES - 1 }, (_, l) => ({
  rateMbit: Number(values.rate),
  rttMs: Number(values.rtt),
  loss: l === lossyLink ? Number(values.loss) : 0,
}));

/** The demo model of `npm start`, or a wider one (the bench spec of bench:worker) whose tensors are 8x larger. */
function benchSpec(model: string): ModelSpec {
  if (model === "demo") return demoModelSpec(STAGES);
  if (model === "wide") return defaultModelSpec({ stageCount: STAGES, layers: STAGES });
  throw new Error(`--model takes demo or wide, got ${model}`);
}
const spec = benchSpec(values.model);
const microbatches = spec.microbatchesPerStep;
const tokensPerRound = steps * microbatches * spec.microbatchSize * spec.contextLength;

type Variant = { name: string; links: "loopback" | "shaped"; wire: WireFormat; compression: LinkCompression };
const variants: Variant[] = [
  { name: "loopback int8+lossless", links: "loopback", wire: "int8", compression: "adaptive" },
  { name: "loopback int8 raw", links: "loopback", wire: "int8", compression: "off" },
  { name: "shaped int8+lossless", links: "shaped", wire: "int8", compression: "adaptive" },
  { name: "shaped int8 raw", links: "shaped", wire: "int8", compression: "off" },
  { name: "shaped float32 raw", links: "shaped", wire: "float32", compression: "off" },
];

type RoundEvent = StageEvent & RoundSample;
type TcpCounters = { retransSegs: number; outSegs: number };

/** What the relay forwarded and lost per link during a run (IP packets with their headers, retransmissions included). */
function relayDelta(before: RelayStats, after: RelayStats) {
  return after.links.map((l, i) => {
    const b = before.links[i] as (typeof after.links)[number];
    const d = (k: "received" | "dropped" | "bytesForwarded") => l.aToB[k] - b.aToB[k] + l.bToA[k] - b.bToA[k];
    return { link: l.index, packets: d("received"), dropped: d("dropped"), bytesForwarded: d("bytesForwarded") };
  });
}

async function trainRun(v: Variant, chain: ShapedChain | undefined): Promise<RunSummary & Record<string, unknown>> {
  log(`bench-swarm: ${v.name}: ${warmup}+${rounds} rounds of ${steps} steps x ${microbatches} microbatches`);
  const placement: StagePlacement | undefined = chain ? chainPlacement(chain) : undefined;
  const relayBefore = await chain?.relayStats();
  const tcpBefore: TcpCounters[] = chain ? await Promise.all([0, 1, 2].map((s) => chain.tcpCounters(s))) : [];
  const started = performance.now();
  const procs = await runStageProcesses(
    STAGES,
    () => ({
      model: { kind: "transformer", spec },
      modelId: "1",
      rounds: warmup + rounds,
      steps,
      microbatches,
      schedule: "1f1b",
      wire: v.wire,
      compression: v.compression,
      backend: values.backend as "wasm",
    }),
    30 * 60_000,
    placement,
  );
  const totalSeconds = (performance.now() - started) / 1000;
  const perStage = procs.map((p) => (p.all("round") as RoundEvent[]).slice(warmup));
  const summary = summarizeRun(perStage, { tokensPerRound, stepsPerRound: steps });
  const shaped =
    chain && relayBefore
      ? {
          relay: relayDelta(relayBefore, await chain.relayStats()),
          tcpRetransmittedSegments: await Promise.all(
            [0, 1, 2].map(async (s) => (await chain.tcpCounters(s)).retransSegs - (tcpBefore[s] as TcpCounters).retransSegs),
          ),
        }
      : {};
  log(
    `bench-swarm: ${v.name}: ${summary.tokensPerSecond.toFixed(0)} tokens/s, efficiency ${(100 * summary.pipelineEfficiency).toFixed(1)}%, ${(summary.bytesSentPerStep / 1024).toFixed(0)} KiB/step`,
  );
  return { ...v, totalSeconds, ...summary, ...shaped };
}

function tcpCongestionControl(): string {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_congestion_control", "utf8").trim();
  } catch {
    return "unknown";
  }
}

type Run = RunSummary & Record<string, unknown>;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
/** One variant over its repeats: medians of the headline figures, every run kept. */
function aggregate(v: Variant, runs: Run[]) {
  const m = (f: (r: Run) => number) => median(runs.map(f));
  return {
    ...v,
    tokensPerSecond: m((r) => r.tokensPerSecond),
    secondsPerStep: m((r) => r.secondsPerStep),
    pipelineEfficiency: m((r) => r.pipelineEfficiency),
    pipelineComputeEfficiency: m((r) => r.pipelineComputeEfficiency),
    bytesSentPerStep: m((r) => r.bytesSentPerStep),
    repeats: runs.map((r) => ({ ...r, loadAverage1m: r.loadAverage1m })),
  };
}

const loadAtStart = loadavg()[0];
const support = await netemSupport();
const repeats = Number(values.repeats);
const runsOf = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
let shapingMeasured: LinkMeasurement[] | undefined;
let relayOverflows: number | undefined;
const chain = support.ok ? await createShapedChain(shapes) : undefined;
if (!support.ok) log(`bench-swarm: shaped runs skipped: ${support.reason}`);
try {
  if (chain) {
    log("bench-swarm: measuring the shaped links");
    shapingMeasured = [];
    for (let l = 0; l < shapes.length; l++) shapingMeasured.push(await measureLink(chain, l));
  }
  const wanted = values.variants?.split(",").map((p) => p.trim()) ?? [""];
  const runnable = variants.filter((v) => (v.links === "loopback" || chain) && wanted.some((p) => v.name.startsWith(p)));
  for (let r = 0; r < repeats; r++)
    for (const v of r % 2 ? [...runnable].reverse() : runnable) {
      const run = await trainRun(v, v.links === "shaped" ? chain : undefined);
      runsOf.get(v.name)?.push({ ...run, loadAverage1m: loadavg()[0] });
    }
  relayOverflows = chain ? (await chain.relayStats()).relayOverflows : undefined;
} finally {
  await chain?.close();
}
const results = variants.filter((v) => (runsOf.get(v.name) ?? []).length > 0).map((v) => aggregate(v, runsOf.get(v.name) as Run[]));

const byName = (name: string) => results.find((r) => r.name === name);
/** What the lossless stage buys on one kind of link: bytes saved and speed-up against sending raw int8. */
function compressionGain(links: "loopback" | "shaped") {
  const on = byName(`${links} int8+lossless`);
  const off = byName(`${links} int8 raw`);
  if (!on || !off) return null;
  return { bytesRatio: off.bytesSentPerStep / on.bytesSentPerStep, tokensPerSecondRatio: on.tokensPerSecond / off.tokensPerSecond };
}
const loop = byName("loopback int8+lossless");
const shapedDefault = byName("shaped int8+lossless");
const float32Raw = byName("shaped float32 raw");
const report = {
  generatedAt: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    kernel: release(),
    tcpCongestionControl: tcpCongestionControl(),
    loadAverage1m: { atStart: loadAtStart, atEnd: loadavg()[0] },
    note: "3 stage processes (one tfjs-wasm thread each) and, when shaped, the relay share the machine; timings move with its load",
  },
  config: {
    stages: STAGES,
    model: values.model,
    spec: {
      hash: specHash(spec),
      dModel: spec.dModel,
      layers: spec.layers,
      contextLength: spec.contextLength,
      microbatchSize: spec.microbatchSize,
    },
    schedule: "1f1b",
    microbatchesPerStep: microbatches,
    stepsPerRound: steps,
    warmupRounds: warmup,
    repeats,
    measuredRounds: rounds,
    tokensPerRound,
    links: shapes.map((s, l) => ({ link: l, stages: [l, l + 1], ...s })),
    shaping:
      "each stage in its own network namespace; link l is a VXLAN tunnel through a UDP relay process that delays every packet by rtt/2 each way and drops it with probability loss; tbf rate limit on each tunnel end (scripts/lib/netem/README.md)",
  },
  definitions: {
    tokensPerSecond:
      "tokens of a round / the slowest stage's round wall time (mean over measured rounds); a variant reports the median of its repeats",
    pipelineEfficiency:
      "mean over stages of busyMs / wallMs, busy = the round's wall time minus the time blocked waiting for a neighbour's frame",
    pipelineComputeEfficiency: "mean over stages of (forward + backward + optimizer step) / wall",
    idealEfficiency: "M / (M + S - 1) for a flushed 1F1B schedule whose stages cost the same",
    bytesSentPerStep: "application bytes all stages sent per step (u32 length + 13-byte header + payload), before noise/yamux/TCP/IP",
    relay:
      "per link and run: IP packets the relay saw (both directions), dropped, and bytes forwarded (inner IP packets incl. headers and TCP retransmissions)",
  },
  idealEfficiency: idealEfficiency(STAGES, microbatches),
  shaped: support.ok ? { shapingMeasured, relayOverflows } : { skipped: support.reason },
  runs: results,
  comparison: {
    shapedOverLoopbackTokensPerSecond: loop && shapedDefault ? shapedDefault.tokensPerSecond / loop.tokensPerSecond : null,
    losslessCompressionOnLoopback: compressionGain("loopback"),
    losslessCompressionOnShaped: compressionGain("shaped"),
    int8LosslessOverFloat32RawOnShaped:
      shapedDefault && float32Raw
        ? {
            bytesRatio: float32Raw.bytesSentPerStep / shapedDefault.bytesSentPerStep,
            tokensPerSecondRatio: shapedDefault.tokensPerSecond / float32Raw.tokensPerSecond,
          }
        : null,
  },
};
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
console.log(`\n${"run".padEnd(26)}${"tokens/s".padStart(10)}${"s/step".padStart(9)}${"efficiency".padStart(12)}${"KiB/step".padStart(10)}`);
for (const r of results)
  console.log(
    `${String(r.name).padEnd(26)}${r.tokensPerSecond.toFixed(0).padStart(10)}${r.secondsPerStep.toFixed(3).padStart(9)}${pct(r.pipelineEfficiency).padStart(12)}${(r.bytesSentPerStep / 1024).toFixed(1).padStart(10)}`,
  );
for (const m of shapingMeasured ?? [])
  console.log(
    `link ${m.link}: RTT ${m.rttMs.median.toFixed(1)} ms, ${m.throughput.steadyMbit.toFixed(1)} Mbit/s steady TCP, UDP loss ${pct(m.udp.lossFraction)}, ${m.throughput.retransmittedSegments} TCP retransmissions`,
  );
console.log(`ideal efficiency ${pct(report.idealEfficiency)}; wrote ${values.out}`);
