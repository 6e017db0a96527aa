/**
 * What a shaped link really does, measured from inside its two namespaces with probeMain.ts:
 * TCP round trips, bulk TCP throughput (and the sender's retransmissions), UDP loss.
 */
import { helperArgv, type ShapedChain } from "./chain.ts";
import { NetemProcessError } from "./errors.ts";
import { JsonProcess } from "./jsonProcess.ts";

export type LinkMeasurement = {
  link: number;
  rttMs: { median: number; p10: number; p90: number; samples: number };
  /** Bulk TCP upstream -> downstream; `steadyMbit` excludes the first quarter of the bytes (slow start). */
  throughput: { bytes: number; seconds: number; mbit: number; steadyMbit: number; retransmittedSegments: number; sentSegments: number };
  /** Small datagrams sent in paced batches; `receiverOverflows`: dropped by the receiving socket, not the link. */
  udp: { sent: number; received: number; receiverOverflows: number; lossFraction: number };
};

/** `bulkBytes` defaults to ~2 s of the link's rate (at least 4 MiB), so the steady part outlasts TCP's start. */
export type MeasureOptions = { rttSamples?: number; bulkBytes?: number; udpDatagrams?: number; timeoutMs?: number };

/** The `q` quantile of `xs` (nearest rank). */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

async function runProbe(argv: string[], event: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const p = new JsonProcess(argv);
  try {
    return await p.waitFor(event, timeoutMs);
  } finally {
    p.kill();
  }
}

/**
 * Measures link `link` of `chain` from its upstream stage to its downstream one. Every wait is
 * on a probe's answer; `timeoutMs` only bounds a probe that hangs.
 */
export async function measureLink(chain: ShapedChain, link: number, options: MeasureOptions = {}): Promise<LinkMeasurement> {
  const rate = chain.plan.links[link]?.shape.rateMbit ?? 0;
  const {
    rttSamples = 40,
    bulkBytes = Math.max(4 << 20, Math.round((rate * 1e6 * 2) / 8)),
    udpDatagrams = 4000,
    timeoutMs = 120_000,
  } = options;
  const up = chain.plan.links[link]?.upstream.namespace;
  const down = chain.plan.links[link]?.downstream.namespace;
  if (!up || !down) throw new RangeError(`no link ${link}`);
  const host = chain.address(link + 1, link);
  const server = new JsonProcess(helperArgv(down, "probeMain.ts", { mode: "server", host }));
  try {
    const listening = await server.waitFor("listening", timeoutMs);
    const port = listening.port as number;
    const rtt = await runProbe(helperArgv(up, "probeMain.ts", { mode: "rtt", host, port, count: rttSamples }), "rtt", timeoutMs);
    // The first exchange pays ARP across the tunnel: it is not the link's RTT.
    const samples = (rtt.samplesMs as number[]).slice(1);
    const bulk = await runProbe(helperArgv(up, "probeMain.ts", { mode: "bulk", host, port, bytes: bulkBytes }), "bulk", timeoutMs);
    const udp = await runProbe(
      helperArgv(up, "probeMain.ts", { mode: "udp", host, port, udpPort: listening.udpPort, count: udpDatagrams, size: 64 }),
      "udp",
      timeoutMs,
    );
    const n = (k: string, o: Record<string, unknown>): number => {
      if (typeof o[k] !== "number") throw new NetemProcessError(`probe answered without ${k}`, JSON.stringify(o));
      return o[k];
    };
    return {
      link,
      rttMs: { median: quantile(samples, 0.5), p10: quantile(samples, 0.1), p90: quantile(samples, 0.9), samples: samples.length },
      throughput: {
        bytes: n("bytes", bulk),
        seconds: n("ms", bulk) / 1000,
        mbit: (8 * n("bytes", bulk)) / n("ms", bulk) / 1000,
        steadyMbit: (8 * n("steadyBytes", bulk)) / n("steadyMs", bulk) / 1000,
        retransmittedSegments: n("retransSegs", bulk),
        sentSegments: n("outSegs", bulk),
      },
      udp: {
        sent: n("sent", udp),
        received: n("received", udp),
        receiverOverflows: n("receiverOverflows", udp),
        lossFraction: 1 - n("received", udp) / n("sent", udp),
      },
    };
  } finally {
    await server.stop();
  }
}
