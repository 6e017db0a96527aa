/**
 * Shaped links (scripts/lib/netem) as root: the shaping measures what it claims, namespaces go
 * away on close and on SIGINT, and a short 3-stage training run crosses them. Skipped, with the
 * reason in the test name, where network namespaces cannot be made (not root, no `ip netns`).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainPlacement, createShapedChain, type ShapedChain } from "../../scripts/lib/netem/chain.ts";
import { netemSupport, run } from "../../scripts/lib/netem/host.ts";
import { type LinkMeasurement, measureLink } from "../../scripts/lib/netem/measure.ts";
import type { LinkShape } from "../../scripts/lib/netem/plan.ts";
import { defaultModelSpec } from "../../worker/model/spec.ts";
import { runStageProcesses, type StageEvent } from "../../worker/pipeline/launch.ts";
import type { RoundTimings } from "../../worker/pipeline/runner.ts";

const support = await netemSupport();
const skip = support.ok ? "" : ` (skipped: ${support.reason})`;
// The bench's link, and a slower, shorter, lossy one: the probes must see each as configured.
const SHAPES: LinkShape[] = [
  { rateMbit: 100, rttMs: 40, loss: 0 },
  { rateMbit: 20, rttMs: 10, loss: 0.01 },
];
const UDP_DATAGRAMS = 4000;
const namespaces = async (): Promise<string[]> => (await run(["ip", "netns", "list"])).split("\n").map((l) => l.split(" ")[0] ?? "");

describe.skipIf(!support.ok)(`shaped links between stage namespaces${skip}`, () => {
  let chain: ShapedChain | undefined;
  const measured: LinkMeasurement[] = [];
  beforeAll(async () => {
    chain = await createShapedChain(SHAPES, { seed: 5 });
    for (let l = 0; l < SHAPES.length; l++) measured.push(await measureLink(chain, l, { udpDatagrams: UDP_DATAGRAMS }));
    console.info(`measured links: ${JSON.stringify(measured)}`);
  }, 240_000);
  afterAll(async () => {
    const names = chain ? [chain.plan.relayNamespace, ...chain.plan.stageNamespaces] : [];
    await chain?.close();
    expect((await namespaces()).filter((n) => names.includes(n))).toEqual([]);
  });

  it("roundTrip_isTheConfiguredRtt_neverShorter", () => {
    SHAPES.forEach((shape, l) => {
      const { rttMs } = measured[l] as LinkMeasurement;
      // The relay holds every packet at least rtt/2 each way; a busy machine only adds to it.
      expect(rttMs.p10).toBeGreaterThanOrEqual(shape.rttMs - 0.5);
      expect(Math.abs(rttMs.median - shape.rttMs)).toBeLessThanOrEqual(Math.max(5, 0.25 * shape.rttMs));
    });
  });

  it("bulkTcp_runsWithin25PercentOfTheRate", () => {
    SHAPES.forEach((shape, l) => {
      const { steadyMbit } = (measured[l] as LinkMeasurement).throughput;
      expect(steadyMbit).toBeGreaterThanOrEqual(0.75 * shape.rateMbit);
      // Counted as TCP payload, so never above the IP-level rate (a little slack for timer edges).
      expect(steadyMbit).toBeLessThanOrEqual(1.05 * shape.rateMbit);
    });
  });

  it("loss_isWhatTheLinkWasGiven_andTcpRetransmitsOnlyThere", async () => {
    const [clean, lossy] = measured as [LinkMeasurement, LinkMeasurement];
    const stats = await (chain as ShapedChain).relayStats();
    // Whatever a socket overflowed on a busy machine is counted apart and is not the link's doing.
    expect(clean.udp.sent - clean.udp.received).toBeLessThanOrEqual(clean.udp.receiverOverflows + stats.relayOverflows);
    expect(stats.links[0]?.aToB.dropped).toBe(0);
    expect(stats.links[0]?.bToA.dropped).toBe(0);
    // Binomial(4000, 0.01): mean 40, sd 6.3; +-4.5 sd.
    const lost = lossy.udp.sent - lossy.udp.received - lossy.udp.receiverOverflows;
    expect(lost).toBeGreaterThanOrEqual(12);
    expect(lost).toBeLessThanOrEqual(68);
    const l1 = stats.links[1] as NonNullable<(typeof stats.links)[number]>;
    const share = (l1.aToB.dropped + l1.bToA.dropped) / (l1.aToB.received + l1.bToA.received);
    expect(share).toBeGreaterThan(0.006);
    expect(share).toBeLessThan(0.014);
    expect(lossy.throughput.retransmittedSegments).toBeGreaterThan(0);
  });

  it("threeStagePipeline_trainsAcrossTheShapedLinks_noFasterThanTheirRoundTrips", async () => {
    const c = chain as ShapedChain;
    const steps = 2;
    const spec = defaultModelSpec({
      stageCount: 3,
      layers: 3,
      dModel: 32,
      heads: 2,
      contextLength: 16,
      microbatchSize: 4,
      microbatchesPerStep: 4,
      learningRate: 1e-2,
    });
    const procs = await runStageProcesses(
      3,
      () => ({
        model: { kind: "transformer", spec },
        modelId: "7",
        rounds: 2,
        steps,
        microbatches: 4,
        schedule: "1f1b",
        wire: "int8",
        backend: "wasm",
      }),
      180_000,
      chainPlacement(c),
    );
    type Round = StageEvent & {
      losses: number[];
      bytesSent: number;
      bytesReceived: number;
      timings: RoundTimings;
      records: { outputActHash: string; inputActHash: string }[];
    };
    const rounds = procs.map((p) => p.all("round") as Round[]);
    expect(rounds.map((r) => r.length)).toEqual([2, 2, 2]);
    for (let r = 0; r < 2; r++) {
      const [first, mid, last] = rounds.map((x) => x[r]) as [Round, Round, Round];
      // Every byte one stage sent, its neighbours received; the last round may also count one
      // end-of-work marker (30 bytes) a neighbour sent as soon as it had finished.
      expect(r === 1 ? [0, 30] : [0]).toContain(mid.bytesReceived - (first.bytesSent + last.bytesSent));
      first.records.forEach((rec, m) => expect(rec.outputActHash).toBe(mid.records[m]?.inputActHash));
      mid.records.forEach((rec, m) => expect(rec.outputActHash).toBe(last.records[m]?.inputActHash));
      expect(last.losses.every(Number.isFinite)).toBe(true);
      // Every step's last gradient reaches stage 0 only after its activation went down both
      // links and the gradient came back up: at least one round trip of each per step.
      expect(first.timings.wallMs).toBeGreaterThanOrEqual(steps * (SHAPES[0]!.rttMs + SHAPES[1]!.rttMs));
    }
  }, 240_000);

  it("sigint_removesTheNamespacesOfTheInterruptedRun", async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", join(here, "chainChild.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const names = (JSON.parse(line) as { namespaces: string[] }).namespaces;
    expect((await namespaces()).filter((n) => names.includes(n)).sort()).toEqual([...names].sort());
    const exited = once(child, "exit");
    child.kill("SIGINT");
    const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(signal).toBe("SIGINT");
    expect((await namespaces()).filter((n) => names.includes(n))).toEqual([]);
  }, 60_000);
});
