/**
 * A shaped chain of stage namespaces, built and owned by this process (see plan.ts for the
 * topology). Everything lives inside fresh namespaces with unique names, so parallel runs never
 * share an address, a device or a port, and nothing of the host's network is touched.
 *
 * @example
 * const chain = await createShapedChain([{ rateMbit: 100, rttMs: 40, loss: 0 }, { rateMbit: 100, rttMs: 40, loss: 0.01 }])
 * try { spawn([...chain.exec(1), "node", "stage.js"]) } finally { await chain.close() }
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DelayLineStats } from "./delayLine.ts";
import { type NetemCommandError, NetemProcessError } from "./errors.ts";
import { release, requireNetem, run, sweepStale, track } from "./host.ts";
import { inNamespace, JsonProcess } from "./jsonProcess.ts";
import { snmpCounters } from "./snmp.ts";
import { type ChainPlan, chainId, chainPlan, type LinkShape, relayConfig, setupCommands, teardownCommands } from "./plan.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** Scheduling priority of the relay process (see createShapedChain). */
export const RELAY_NICE = -10;

/** argv that runs one of this folder's TypeScript helpers with the current Node inside `ns` (at `nice`, root may go below 0). */
export const helperArgv = (ns: string, script: string, arg: unknown, nice = 0): string[] => [
  ...inNamespace(ns),
  ...(nice !== 0 ? ["nice", "-n", String(nice)] : []),
  process.execPath,
  "--import",
  "tsx",
  join(here, script),
  JSON.stringify(arg),
];

/** Per-link counters of the relay, each direction (a: the upstream stage's end, b: the downstream's). */
export type RelayLinkStats = { index: number; aToB: DelayLineStats; bToA: DelayLineStats };

/** The relay's counters; `relayOverflows`: datagrams its own sockets dropped (not the links' configured loss). */
export type RelayStats = { links: RelayLinkStats[]; relayOverflows: number };

export type ShapedChain = {
  plan: ChainPlan;
  /** argv prefix that runs a command inside stage `s`'s namespace. */
  exec(stage: number): string[];
  /** Stage `s`'s address on link `l` (it must be one of the link's two ends). */
  address(stage: number, link: number): string;
  /** The TCP counters of stage `s`'s namespace (/proc/net/snmp there): retransmissions, segments sent. */
  tcpCounters(stage: number): Promise<{ retransSegs: number; outSegs: number }>;
  /** The relay's counters so far. */
  relayStats(timeoutMs?: number): Promise<RelayStats>;
  /** Stops the relay and deletes every namespace; safe to call twice. */
  close(): Promise<void>;
};

/**
 * Builds the namespaces, veths, tunnels and tbf qdiscs of `shapes.length + 1` stages and starts
 * the relay. Throws `NetemUnavailableError` where that cannot work (not root, no `ip netns`...),
 * so callers can skip; on any later failure it removes what it built before rethrowing.
 */
export async function createShapedChain(
  shapes: readonly LinkShape[],
  { seed = 1, readyTimeoutMs = 60_000 }: { seed?: number; readyTimeoutMs?: number } = {},
): Promise<ShapedChain> {
  await requireNetem();
  await sweepStale().catch(() => []);
  const plan = chainPlan(chainId(process.pid, Math.random), shapes);
  const namespaces = [plan.relayNamespace, ...plan.stageNamespaces];
  track(namespaces);
  let relay: JsonProcess | undefined;
  try {
    for (const cmd of setupCommands(plan)) await run(cmd);
    // The relay stands for wires, which never wait for a CPU: ahead of the stages in the scheduler's
    // queue, it keeps its delays and rates on a machine the stages load fully.
    relay = new JsonProcess(helperArgv(plan.relayNamespace, "relayMain.ts", relayConfig(plan, seed), RELAY_NICE));
    await relay.waitFor("ready", readyTimeoutMs);
  } catch (err) {
    relay?.kill();
    await release(namespaces);
    throw err;
  }
  const started = relay;
  let statsAsked = 0;
  let closed = false;
  return {
    plan,
    exec: (stage) => inNamespace(plan.stageNamespaces[stage] as string),
    address(stage, link) {
      const l = plan.links[link];
      const end = l && [l.upstream, l.downstream].find((e) => e.namespace === plan.stageNamespaces[stage]);
      if (!end) throw new RangeError(`stage ${stage} is not an end of link ${link}`);
      return end.address;
    },
    async tcpCounters(stage) {
      const tcp = snmpCounters("Tcp", await run([...inNamespace(plan.stageNamespaces[stage] as string), "cat", "/proc/net/snmp"]));
      return { retransSegs: tcp.RetransSegs ?? 0, outSegs: tcp.OutSegs ?? 0 };
    },
    async relayStats(timeoutMs = 10_000) {
      const skip = statsAsked++;
      started.send("stats");
      const event = await started.waitFor("stats", timeoutMs, skip);
      return { links: event.links as RelayLinkStats[], relayOverflows: event.relayOverflows as number };
    },
    async close() {
      if (closed) return;
      closed = true;
      await started.stop();
      const errors: Error[] = [];
      for (const cmd of teardownCommands(plan)) await run(cmd).catch((e: NetemCommandError) => errors.push(e));
      // Forget them either way: the exit handler must not retry what failed here.
      await release(namespaces);
      if (errors.length) throw new NetemProcessError("some namespaces could not be deleted", errors.map((e) => e.message).join("\n"));
    },
  };
}

/**
 * Where `runStageProcesses` (worker/pipeline/launch.ts) runs each stage of `chain`: in its own
 * namespace, listening on its upstream link's address (stage 0, which has none, on its downstream one).
 */
export function chainPlacement(chain: ShapedChain): { commandPrefix(stage: number): readonly string[]; listenHost(stage: number): string } {
  return { commandPrefix: (s) => chain.exec(s), listenHost: (s) => chain.address(s, Math.max(0, s - 1)) };
}
