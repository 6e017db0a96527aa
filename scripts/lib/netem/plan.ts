/**
 * The namespaces, addresses and commands of a shaped chain of stages (pure: nothing runs here).
 *
 * Each stage `s` gets a namespace holding one veth (`u`, 10.201.s.2) to a relay namespace (peer
 * `r<s>`, 10.201.s.1): the underlay. Link `l` (stage l to l+1) is a VXLAN tunnel whose two ends
 * (`vxd` in stage l, 10.202.l.1; `vxu` in stage l+1, 10.202.l.2) do not point at each other but at
 * the relay, which forwards the tunnel's UDP datagrams between them after a one-way delay and
 * with a loss probability (relayMain.ts). Stage traffic therefore crosses real IP packets that
 * are really delayed and really dropped: the stages' own TCP sees the link's RTT and retransmits.
 * The rate limit is a `tbf` qdisc on each tunnel end's egress (the link's bottleneck queue).
 */

/** One link's shape; the same in both directions. */
export type LinkShape = {
  /** Rate limit of each direction, Mbit/s (tbf; counted on the inner IP packets). */
  rateMbit: number;
  /** Round-trip time the relay adds (half each way), ms. */
  rttMs: number;
  /** Probability that a packet is lost, per direction (0..1). */
  loss: number;
};

/** One tunnel end: the stage namespace, its device and the addresses on both layers. */
export type LinkEnd = { namespace: string; device: "vxd" | "vxu"; address: string; underlay: string; relayUnderlay: string };

export type LinkPlan = { index: number; shape: LinkShape; vni: number; port: number; upstream: LinkEnd; downstream: LinkEnd };

export type ChainPlan = { id: string; relayNamespace: string; stageNamespaces: string[]; links: LinkPlan[] };

/** What the relay process needs: per link, its two sockets and each direction's impairment. */
export type RelayConfig = {
  seed: number;
  links: {
    index: number;
    port: number;
    a: { bind: string; peer: string };
    b: { bind: string; peer: string };
    delayMs: number;
    loss: number;
  }[];
};

/** Namespace names of a run start with this, then the owner's pid (stale sweeping reads it back). */
export const NAMESPACE_PREFIX = "shn-";

const underlay = (stage: number, side: 1 | 2): string => `10.201.${stage}.${side}`;
const overlay = (link: number, side: 1 | 2): string => `10.202.${link}.${side}`;

/** A run id unique on the machine: pid (alive while the run is) and random bits. */
export function chainId(pid: number, random: () => number): string {
  return `${NAMESPACE_PREFIX}${pid}-${Math.floor(random() * 0xffff)
    .toString(16)
    .padStart(4, "0")}`;
}

/** The pid that owns namespace `name`, or undefined when it is not one of ours. */
export function ownerPid(name: string): number | undefined {
  const m = /^shn-(\d+)-[0-9a-f]{4}-(?:s\d+|r)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The plan of a chain of `shapes.length + 1` stages, link `l` joining stage l to l+1.
 *
 * @example
 * const plan = chainPlan("shn-42-beef", [{ rateMbit: 100, rttMs: 40, loss: 0 }, { rateMbit: 100, rttMs: 40, loss: 0.01 }])
 */
export function chainPlan(id: string, shapes: readonly LinkShape[]): ChainPlan {
  if (shapes.length < 1 || shapes.length > 200) throw new RangeError(`a chain has 1..200 links, got ${shapes.length}`);
  for (const s of shapes)
    if (!(s.rateMbit > 0) || !(s.rttMs >= 0) || !(s.loss >= 0 && s.loss < 1)) throw new RangeError(`bad link shape ${JSON.stringify(s)}`);
  const stageNamespaces = Array.from({ length: shapes.length + 1 }, (_, s) => `${id}-s${s}`);
  const end = (stage: number, device: "vxd" | "vxu", link: number, side: 1 | 2): LinkEnd => ({
    namespace: stageNamespaces[stage] as string,
    device,
    address: overlay(link, side),
    underlay: underlay(stage, 2),
    relayUnderlay: underlay(stage, 1),
  });
  const links = shapes.map((shape, l) => ({
    index: l,
    shape,
    vni: 100 + l,
    port: 4800 + l,
    upstream: end(l, "vxd", l, 1),
    downstream: end(l + 1, "vxu", l, 2),
  }));
  return { id, relayNamespace: `${id}-r`, stageNamespaces, links };
}

/** tbf for `rateMbit`: a burst of ~1 ms of traffic (at least 16 KiB), a queue of one RTT at the rate (at least 64 KiB). */
export function tbfArgs(shape: LinkShape): string[] {
  const bytesPerMs = (shape.rateMbit * 1e6) / 8 / 1000;
  const burst = Math.max(16 * 1024, Math.ceil(bytesPerMs));
  const limit = Math.max(64 * 1024, Math.ceil(bytesPerMs * shape.rttMs));
  return ["tbf", "rate", `${shape.rateMbit}mbit`, "burst", String(burst), "limit", String(limit)];
}

/** Every command that builds the plan, in order (argv vectors for execFile; all as root). */
export function setupCommands(plan: ChainPlan): string[][] {
  const cmds: string[][] = [];
  const all = [plan.relayNamespace, ...plan.stageNamespaces];
  for (const ns of all) cmds.push(["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "set", "dev", "lo", "up"]);
  plan.stageNamespaces.forEach((ns, s) => {
    const peer = `r${s}`;
    cmds.push(
      ["ip", "link", "add", "name", "u", "netns", ns, "type", "veth", "peer", "name", peer, "netns", plan.relayNamespace],
      ["ip", "-n", ns, "addr", "add", `${underlay(s, 2)}/24`, "dev", "u"],
      ["ip", "-n", ns, "link", "set", "dev", "u", "up"],
      ["ip", "-n", plan.relayNamespace, "addr", "add", `${underlay(s, 1)}/24`, "dev", peer],
      ["ip", "-n", plan.relayNamespace, "link", "set", "dev", peer, "up"],
    );
  });
  for (const link of plan.links)
    for (const e of [link.upstream, link.downstream]) {
      const vx = [
        "type",
        "vxlan",
        "id",
        String(link.vni),
        "local",
        e.underlay,
        "remote",
        e.relayUnderlay,
        "dstport",
        String(link.port),
        "dev",
        "u",
      ];
      cmds.push(
        ["ip", "-n", e.namespace, "link", "add", "name", e.device, ...vx],
        ["ip", "-n", e.namespace, "addr", "add", `${e.address}/24`, "dev", e.device],
        // One MTU packet per datagram (no GSO super-packets), so the relay loses packets, not bursts of them.
        ["ip", "-n", e.namespace, "link", "set", "dev", e.device, "gso_max_segs", "1", "up"],
        ["tc", "-n", e.namespace, "qdisc", "add", "dev", e.device, "root", ...tbfArgs(link.shape)],
      );
    }
  return cmds;
}

/** Commands that remove everything the plan built (deleting a namespace deletes its devices). */
export function teardownCommands(plan: ChainPlan): string[][] {
  return [...plan.stageNamespaces, plan.relayNamespace].map((ns) => ["ip", "netns", "del", ns]);
}

/** The relay's configuration: link l forwards between its two ends' underlay addresses, half the RTT each way. */
export function relayConfig(plan: ChainPlan, seed: number): RelayConfig {
  return {
    seed,
    links: plan.links.map((l) => ({
      index: l.index,
      port: l.port,
      a: { bind: l.upstream.relayUnderlay, peer: l.upstream.underlay },
      b: { bind: l.downstream.relayUnderlay, peer: l.downstream.underlay },
      delayMs: l.shape.rttMs / 2,
      loss: l.shape.loss,
    })),
  };
}
