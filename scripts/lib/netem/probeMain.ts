/**
 * Link probes, run inside a stage namespace by measure.ts (`ip netns exec`); one JSON line each:
 *   {mode: "server", host}                 listening {port, udpPort}; serves the probes below until stdin closes
 *   {mode: "rtt", host, port, count}       rtt {samplesMs}: `count` 8-byte ping-pongs over one TCP connection
 *   {mode: "bulk", host, port, bytes}      bulk {bytes, ms, steadyBytes, steadyMs, retransSegs, outSegs}
 *   {mode: "udp", host, port, udpPort, count, size}   udp {sent, received, receiverOverflows}
 * Server side of a TCP connection, by its first byte: `e` echoes, `s` counts until the client
 * half-closes and answers with timings (steady: from a quarter of the bytes to the last, past
 * slow start), `u` answers with the UDP datagrams received so far. The `u` request crosses the
 * same tbf queue and relay FIFO after the datagrams, so every datagram that was not lost is in
 * the socket by the time it is read, and the answer waits until the socket's queue is drained:
 * no waiting on a clock.
 */
import { createSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { snmpCounters } from "./snmp.ts";

type Probe =
  | { mode: "server"; host: string }
  | { mode: "rtt"; host: string; port: number; count: number }
  | { mode: "bulk"; host: string; port: number; bytes: number }
  | { mode: "udp"; host: string; port: number; udpPort: number; count: number; size: number };

const MIB = 1 << 20;

const emit = (event: string, body: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, ...body })}\n`);
};

/** This namespace's TCP counters. */
function tcpCounters(): { retransSegs: number; outSegs: number } {
  const tcp = snmpCounters("Tcp");
  return { retransSegs: tcp.RetransSegs ?? 0, outSegs: tcp.OutSegs ?? 0 };
}

/** Bytes waiting in the receive queue of the UDP socket bound to `port` (/proc/net/udp, this namespace). */
function udpQueued(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(`:${hexPort}`)) return Number.parseInt((f[4] ?? "0:0").split(":")[1] ?? "0", 16);
  }
  return 0;
}

/**
 * Resolves once the socket on `port` has nothing queued: the kernel holds every datagram that
 * arrived before the request, but Node reads a socket in batches, so the count may lag it.
 */
async function drained(port: number): Promise<void> {
  while (udpQueued(port) > 0) await new Promise((resolve) => setImmediate(resolve));
  // One more turn of the loop: the last batch read may still be on its way to the handler.
  await new Promise((resolve) => setImmediate(resolve));
}

async function serve(host: string): Promise<void> {
  let udpReceived = 0;
  // The largest buffer rmem_max allows: a probe process the busy machine deschedules for a few
  // ms must not drop what the link delivered (overflows are reported apart, never as link loss).
  const udp = createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  udp.on("message", () => udpReceived++);
  await new Promise<void>((resolve) => udp.bind(0, host, resolve));
  const udpPort = udp.address().port;
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let mode: string | undefined;
    let bytes = 0;
    let start = 0;
    // marks[k]: when the k-th MiB had arrived (steady state is measured from a quarter of the total).
    const marks: number[] = [];
    socket.on("data", (chunk: Buffer) => {
      let data = chunk;
      if (mode === undefined) {
        mode = String.fromCharCode(data[0] as number);
        data = data.subarray(1);
        start = performance.now();
        marks.push(start);
        if (mode === "u")
          void drained(udpPort).then(() =>
            socket.end(`${JSON.stringify({ received: udpReceived, receiverOverflows: snmpCounters("Udp").RcvbufErrors ?? 0 })}\n`),
          );
      }
      if (mode === "e") socket.write(data);
      if (mode !== "s") return;
      bytes += data.length;
      while (bytes >= marks.length * MIB) marks.push(performance.now());
    });
    socket.on("end", () => {
      if (mode !== "s") return socket.end();
      const t = performance.now();
      const k = Math.floor(bytes / 4 / MIB);
      socket.end(`${JSON.stringify({ bytes, ms: t - start, steadyBytes: bytes - k * MIB, steadyMs: t - (marks[k] as number) })}\n`);
    });
    socket.on("error", () => undefined);
  });
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  emit("listening", { port: typeof address === "object" && address ? address.port : 0, udpPort });
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

async function open(host: string, port: number, first: string): Promise<Socket> {
  const socket = connect({ host, port, noDelay: true });
  await once(socket, "connect");
  socket.write(first);
  return socket;
}

async function readLine(socket: Socket): Promise<Record<string, number>> {
  let text = "";
  for await (const chunk of socket) text += String(chunk);
  return JSON.parse(text.trim()) as Record<string, number>;
}

async function rtt(host: string, port: number, count: number): Promise<void> {
  const socket = await open(host, port, "e");
  const samplesMs: number[] = [];
  const ping = Buffer.alloc(8);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    socket.write(ping);
    let got = 0;
    while (got < ping.length) got += ((await once(socket, "data")) as [Buffer])[0].length;
    samplesMs.push(performance.now() - t);
  }
  socket.destroy();
  emit("rtt", { samplesMs });
}

async function bulk(host: string, port: number, bytes: number): Promise<void> {
  const before = tcpCounters();
  const socket = await open(host, port, "s");
  const chunk = Buffer.alloc(64 * 1024, 7);
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(chunk.length, bytes - sent);
    sent += n;
    if (!socket.write(chunk.subarray(0, n))) await once(socket, "drain");
  }
  socket.end();
  const reply = await readLine(socket);
  const after = tcpCounters();
  emit("bulk", { ...reply, retransSegs: after.retransSegs - before.retransSegs, outSegs: after.outSegs - before.outSegs });
}

async function udp(p: Extract<Probe, { mode: "udp" }>): Promise<void> {
  const control = connect({ host: p.host, port: p.port, noDelay: true });
  await once(control, "connect");
  const socket = createSocket("udp4");
  const payload = Buffer.alloc(p.size, 1);
  // Batches of 20 per timer tick: well under the tbf queue, so only the relay drops.
  for (let i = 0; i < p.count; i += 20) {
    const batch = Math.min(20, p.count - i);
    await Promise.all(
      Array.from(
        { length: batch },
        () => new Promise<void>((resolve, reject) => socket.send(payload, p.udpPort, p.host, (err) => (err ? reject(err) : resolve()))),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  control.write("u");
  const { received, receiverOverflows } = await readLine(control);
  socket.close();
  emit("udp", { sent: p.count, received, receiverOverflows });
}

const probe = JSON.parse(process.argv[2] ?? "{}") as Probe;
if (probe.mode === "server") await serve(probe.host);
else {
  if (probe.mode === "rtt") await rtt(probe.host, probe.port, probe.count);
  else if (probe.mode === "bulk") await bulk(probe.host, probe.port, probe.bytes);
  else await udp(probe);
  process.exit(0);
}
