/**
 * The link relay: one process in the relay namespace (run by chain.ts with `ip netns exec`).
 * For every link it binds one UDP socket per tunnel end, on the VXLAN port, and forwards each
 * datagram (one inner IP packet) to the other end through a {@link DelayLine}: lost with the
 * link's probability, else sent after the one-way delay, its inner checksum finished (checksum.ts). Lines on stdout are JSON events:
 *   ready {links}                     every socket is bound
 *   stats {links: [{index, aToB, bToA}], relayOverflows}   answering the line "stats" on stdin
 * It exits when stdin closes, so it never outlives the process that started it.
 *
 *   node --import tsx scripts/lib/netem/relayMain.ts '<RelayConfig JSON>'
 */
import { createSocket, type Socket } from "node:dgram";
import { createInterface } from "node:readline";
import { finishInnerChecksum } from "./checksum.ts";
import { seededRandom } from "../seededRandom.ts";
import { DelayLine } from "./delayLine.ts";
import { snmpCounters } from "./snmp.ts";
import type { RelayConfig } from "./plan.ts";

const emit = (event: string, body: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, ...body })}\n`);
};

/** Sends what `line` holds once due, re-arming one timer for the oldest datagram still held. */
function pump(line: DelayLine, out: Socket, peer: string, port: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    // Half a millisecond early is closer to the delay than a whole timer tick late.
    for (const data of line.takeDue(performance.now() + 0.5)) out.send(data, port, peer);
    arm();
  };
  const arm = (): void => {
    const due = line.nextDue();
    if (due === undefined || timer) return;
    timer = setTimeout(flush, Math.max(0, due - performance.now()));
  };
  return arm;
}

async function bind(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve());
  });
  return socket;
}

async function main(config: RelayConfig): Promise<void> {
  const random = seededRandom(config.seed);
  const lines = await Promise.all(
    config.links.map(async (link) => {
      const [a, b] = await Promise.all([bind(link.a.bind, link.port), bind(link.b.bind, link.port)]);
      const impairment = { delayMs: link.delayMs, loss: link.loss };
      const aToB = new DelayLine(impairment, random);
      const bToA = new DelayLine(impairment, random);
      const armAToB = pump(aToB, b, link.b.peer, link.port);
      const armBToA = pump(bToA, a, link.a.peer, link.port);
      a.on("message", (data) => {
        if (aToB.accept(data, performance.now())) {
          finishInnerChecksum(data);
          armAToB();
        }
      });
      b.on("message", (data) => {
        if (bToA.accept(data, performance.now())) {
          finishInnerChecksum(data);
          armBToA();
        }
      });
      return { index: link.index, aToB, bToA, sockets: [a, b] };
    }),
  );
  emit("ready", { links: config.links.length });
  const input = createInterface({ input: process.stdin });
  input.on("line", (cmd) => {
    if (cmd.trim() !== "stats") return;
    // Datagrams the relay's own sockets dropped (it was descheduled too long): not the link's loss, reported apart.
    const udp = snmpCounters("Udp");
    emit("stats", {
      links: lines.map((l) => ({ index: l.index, aToB: l.aToB.stats, bToA: l.bToA.stats })),
      relayOverflows: (udp.RcvbufErrors ?? 0) + (udp.SndbufErrors ?? 0),
    });
  });
  input.on("close", () => process.exit(0));
}

await main(JSON.parse(process.argv[2] ?? "{}") as RelayConfig);
