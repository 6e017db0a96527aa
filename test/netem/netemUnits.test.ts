import { describe, expect, it } from "vitest";
import { finishInnerChecksum } from "../../scripts/lib/netem/checksum.ts";
import { seededRandom } from "../../scripts/lib/seededRandom.ts";
import { DelayLine } from "../../scripts/lib/netem/delayLine.ts";
import { chainId, chainPlan, ownerPid, relayConfig, setupCommands, tbfArgs, teardownCommands } from "../../scripts/lib/netem/plan.ts";
import { snmpCounters } from "../../scripts/lib/netem/snmp.ts";
import { summarizeRun } from "../../scripts/lib/swarm/summary.ts";

/** A VXLAN datagram holding Ethernet + IPv4 + `l4` (protocol 6 or 17), checksum field garbled. */
function vxlanPacket(protocol: 6 | 17, payload: number[]): Uint8Array {
  const l4Header = protocol === 6 ? 20 : 8;
  const l4 = new Uint8Array(l4Header + payload.length);
  l4.set([0x12, 0x34, 0x00, 0x50], 0); // ports
  if (protocol === 6) l4[12] = 0x50;
  else l4.set([(l4.length >> 8) & 0xff, l4.length & 0xff], 4);
  l4.set(payload, l4Header);
  const ip = [0x45, 0, 0, 20 + l4.length, 0, 1, 0x40, 0, 64, protocol, 0, 0, 10, 202, 1, 1, 10, 202, 1, 2];
  const out = new Uint8Array(8 + 14 + 20 + l4.length);
  out.set([0x08, 0, 0, 0, 0, 0, 0x65, 0], 0);
  out.set([0x08, 0x00], 8 + 12);
  out.set(ip, 8 + 14);
  out.set(l4, 8 + 14 + 20);
  const at = 8 + 14 + 20 + (protocol === 6 ? 16 : 6);
  out[at] = 0xde; // what CHECKSUM_PARTIAL leaves: not the checksum
  out[at + 1] = 0xad;
  return out;
}

/** The receiver's check: the one's complement sum over pseudo-header and segment, checksum included, is 0xffff. */
function verifies(d: Uint8Array, protocol: number): boolean {
  const ip = 22;
  const len = (((d[ip + 2] as number) << 8) | (d[ip + 3] as number)) - 20;
  let s = protocol + len;
  for (let i = ip + 12; i < ip + 20; i += 2) s += ((d[i] as number) << 8) | (d[i + 1] as number);
  for (let i = ip + 20; i < ip + 20 + len; i += 2) s += ((d[i] as number) << 8) | (i + 1 < ip + 20 + len ? (d[i + 1] as number) : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

describe("netem relay pieces (no root needed)", () => {
  it("finishInnerChecksum_tcpAndUdpOddLengths_receiverCheckPasses_otherFramesUntouched", () => {
    for (const protocol of [6, 17] as const)
      for (const payload of [[], [1], [1, 2, 3, 250, 251], Array.from({ length: 1401 }, (_, i) => i & 0xff)]) {
        const d = vxlanPacket(protocol, payload);
        expect(verifies(d, protocol)).toBe(false);
        expect(finishInnerChecksum(d)).toBe(true);
        expect(verifies(d, protocol)).toBe(true);
      }
    const arp = vxlanPacket(17, [1, 2]);
    arp.set([0x08, 0x06], 20);
    const before = arp.slice();
    expect(finishInnerChecksum(arp)).toBe(false);
    expect(arp).toEqual(before);
    const fragment = vxlanPacket(6, [1, 2, 3]);
    fragment[22 + 6] = 0x20; // more fragments
    expect(finishInnerChecksum(fragment)).toBe(false);
    expect(finishInnerChecksum(new Uint8Array(30))).toBe(false);
  });

  it("delayLine_keepsOrderAndDelay_losesAboutTheConfiguredShare", () => {
    const line = new DelayLine({ delayMs: 20, loss: 0 }, seededRandom(1));
    for (let i = 0; i < 5; i++) line.accept(new Uint8Array([i]), i);
    expect(line.takeDue(19.9)).toEqual([]);
    expect(line.nextDue()).toBe(20);
    expect(line.takeDue(22).map((d) => d[0])).toEqual([0, 1, 2]);
    expect(line.takeDue(100).map((d) => d[0])).toEqual([3, 4]);
    expect(line.nextDue()).toBeUndefined();
    const lossy = new DelayLine({ delayMs: 0, loss: 0.01 }, seededRandom(7));
    for (let i = 0; i < 100_000; i++) lossy.accept(new Uint8Array(1), i);
    // Binomial(100000, 0.01): mean 1000, sd ~31.
    expect(lossy.stats.dropped).toBeGreaterThan(850);
    expect(lossy.stats.dropped).toBeLessThan(1150);
    expect(lossy.takeDue(1e9)).toHaveLength(100_000 - lossy.stats.dropped);
    expect(lossy.stats.forwarded).toBe(100_000 - lossy.stats.dropped);
  });

  it("chainPlan_namesAddressesAndCommands_areUniqueAndRemovable", () => {
    const id = chainId(4242, () => 0.5);
    const plan = chainPlan(id, [
      { rateMbit: 100, rttMs: 40, loss: 0 },
      { rateMbit: 20, rttMs: 10, loss: 0.01 },
    ]);
    expect(plan.stageNamespaces).toEqual([`${id}-s0`, `${id}-s1`, `${id}-s2`]);
    expect([...plan.stageNamespaces, plan.relayNamespace].map(ownerPid)).toEqual([4242, 4242, 4242, 4242]);
    expect(ownerPid("other-ns")).toBeUndefined();
    expect(plan.links[1]?.upstream).toMatchObject({ namespace: `${id}-s1`, address: "10.202.1.1" });
    expect(plan.links[1]?.downstream).toMatchObject({ namespace: `${id}-s2`, address: "10.202.1.2" });
    const relay = relayConfig(plan, 3);
    expect(relay.links.map((l) => [l.delayMs, l.loss])).toEqual([
      [20, 0],
      [5, 0.01],
    ]);
    expect(relay.links[1]).toMatchObject({ a: { bind: "10.201.1.1", peer: "10.201.1.2" }, b: { bind: "10.201.2.1", peer: "10.201.2.2" } });
    // 100 Mbit/s for 40 ms is 500 kB of queue; the burst is ~1 ms of traffic.
    expect(tbfArgs({ rateMbit: 100, rttMs: 40, loss: 0 })).toEqual(["tbf", "rate", "100mbit", "burst", "16384", "limit", "500000"]);
    const cmds = setupCommands(plan);
    expect(cmds.filter((c) => c[0] === "tc")).toHaveLength(4);
    expect(
      teardownCommands(plan)
        .map((c) => c[3])
        .sort(),
    ).toEqual([...plan.stageNamespaces, plan.relayNamespace].sort());
    expect(() => chainPlan(id, [{ rateMbit: 0, rttMs: 1, loss: 0 }])).toThrow(RangeError);
  });

  it("snmpCounters_readsOneProtocolLine", () => {
    const text = "Tcp: RtoMin RetransSegs OutSegs\nTcp: 200 7 99\nUdp: InDatagrams RcvbufErrors\nUdp: 5 2\n";
    expect(snmpCounters("Tcp", text)).toEqual({ RtoMin: 200, RetransSegs: 7, OutSegs: 99 });
    expect(snmpCounters("Udp", text).RcvbufErrors).toBe(2);
  });

  it("summarizeRun_tokensFromTheSlowestStage_efficiencyIsBusyOverWall", () => {
    const t = (wallMs: number, idleMs: number) => ({
      wallMs,
      idleMs,
      busyMs: wallMs - idleMs,
      forwardMs: 10,
      backwardMs: 20,
      stepMs: 5,
      codecMs: 1,
    });
    const s = summarizeRun(
      [
        [{ losses: [], bytesSent: 100, timings: t(1000, 500) }],
        [{ losses: [], bytesSent: 300, timings: t(2000, 500) }],
        [{ losses: [2, 4], bytesSent: 200, timings: t(1000, 0) }],
      ],
      { tokensPerRound: 4000, stepsPerRound: 2 },
    );
    expect(s.tokensPerSecond).toBe(2000);
    expect(s.secondsPerStep).toBe(1);
    expect(s.stages.map((x) => x.efficiency)).toEqual([0.5, 0.75, 1]);
    expect(s.pipelineEfficiency).toBe(0.75);
    expect(s.bytesSentPerStep).toBe(300);
    expect(s.meanLossLastRound).toBe(3);
  });
});
