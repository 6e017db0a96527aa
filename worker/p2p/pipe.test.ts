import type { Libp2p } from "@libp2p/interface";
import { afterAll, describe, expect, it } from "vitest";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { PeerTimeoutError, PeerUnreachableError } from "./errors.ts";
import { encodeFrame, PIPE_PROTOCOL } from "./frames.ts";
import { backoffDelayMs, createPipeNode, dialWithRetry } from "./node.ts";
import { PipeLink } from "./link.ts";
import { agreeFirstRound, openPipe } from "./pipe.ts";
import { decodeWireTensor, encodeWireTensor } from "./wire.ts";

const nodes: Libp2p[] = [];
const node = async (): Promise<Libp2p> => {
  const n = await createPipeNode();
  nodes.push(n);
  return n;
};
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
});

/** A TCP port on 127.0.0.1 that nothing listens on (a node that was started, then stopped). */
async function closedPort(): Promise<string> {
  const n = await createPipeNode();
  const addr = (n.getMultiaddrs()[0] as { toString(): string }).toString().replace(/\/p2p\/.*$/, "");
  await n.stop();
  return addr;
}

describe("libp2p pipe transport", () => {
  it("listensOnLoopbackByDefault", async () => {
    const n = await node();
    const addrs = n.getMultiaddrs().map(String);
    expect(addrs.length).toBeGreaterThan(0);
    for (const a of addrs) expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
  });

  it("openPipe_linksStages_carriesTensorsBothWays_andCountsBytes", async () => {
    const [a, b] = [await node(), await node()];
    const modelKey = "model-x";
    const bSide = openPipe({ node: b, stageIndex: 1, stageCount: 2, modelKey });
    const aSide = await openPipe({ node: a, stageIndex: 0, stageCount: 2, modelKey, nextAddress: b.getMultiaddrs()[0]?.toString() });
    const { prev } = await bSide;
    const next = aSide.next;
    if (!prev || !next) throw new Error("links missing");

    const values = Float32Array.from({ length: 4 * 8 * 16 }, (_, i) => Math.sin(i) * 3);
    const act = encodeWireTensor([4, 8, 16], values, "int8");
    const grad = encodeWireTensor([4, 8, 16], values.map((v) => -v), "float32");
    // Microbatch 1 before 0: the mailbox hands each receiver exactly the frame it asks for.
    await next.send({ kind: "activation", round: 5n, microbatch: 1, payload: act.bytes });
    await next.send({ kind: "activation", round: 5n, microbatch: 0, payload: grad.bytes });
    const got0 = await prev.receive("activation", 5n, 0);
    const got1 = await prev.receive("activation", 5n, 1);
    expect(decodeWireTensor(got1.payload).hash).toBe(act.hash);
    expect(decodeWireTensor(got0.payload).hash).toBe(grad.hash);
    const roundTrip = decodeWireTensor(got1.payload).values;
    const maxAbs = Math.max(...values.map(Math.abs));
    for (let i = 0; i < values.length; i++) expect(Math.abs((roundTrip[i] as number) - (values[i] as number))).toBeLessThanOrEqual(maxAbs / 127 / 2 + 1e-6);

    await prev.send({ kind: "gradient", round: 5n, microbatch: 0, payload: grad.bytes });
    expect((await next.receive("gradient", 5n, 0)).payload).toEqual(grad.bytes);

    const helloBytes = next.stats.bytesSent - encodeFrame({ kind: "activation", round: 5n, microbatch: 1, payload: act.bytes }).length - encodeFrame({ kind: "activation", round: 5n, microbatch: 0, payload: grad.bytes }).length;
    expect(helloBytes).toBeGreaterThan(0);
    expect(prev.stats.bytesReceived).toBe(next.stats.bytesSent);
    expect(next.stats.bytesReceived).toBe(prev.stats.bytesSent);
    expect(prev.stats.bytesSent).toBe(encodeFrame({ kind: "gradient", round: 5n, microbatch: 0, payload: grad.bytes }).length);
    // Canonical sizes: header 2 + 4*rank (+4 scale for int8), then 1 or 4 bytes per element.
    expect(act.bytes.length).toBe(2 + 12 + 4 + values.length);
    expect(grad.bytes.length).toBe(2 + 12 + 4 * values.length);
    expect(prev.received.map((r) => r.kind)).toEqual(["hello", "activation", "activation"]);
  });

  it("openPipe_refusesAPeerOfAnotherModel_andKeepsWaiting", async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const refused: string[] = [];
    const bSide = openPipe({ node: b, stageIndex: 1, stageCount: 2, modelKey: "right", onRefused: (e) => refused.push(e.message) });
    const target = b.getMultiaddrs()[0]?.toString();
    const wrong = await openPipe({ node: c, stageIndex: 0, stageCount: 2, modelKey: "wrong", nextAddress: target });
    await expect(wrong.next?.receive("gradient", 0n, 0)).rejects.toThrow(/closed/);
    expect(refused.join()).toMatch(/expects stage 0 of model right/);
    await openPipe({ node: a, stageIndex: 0, stageCount: 2, modelKey: "right", nextAddress: target });
    const { prev } = await bSide;
    expect(prev).toBeDefined();
  });

  it("halfClose_endsTheReceiverReads_butItCanStillAnswer", async () => {
    const [a, b] = [await node(), await node()];
    const bSide = openPipe({ node: b, stageIndex: 1, stageCount: 2, modelKey: "k" });
    const { next } = await openPipe({ node: a, stageIndex: 0, stageCount: 2, modelKey: "k", nextAddress: b.getMultiaddrs()[0]?.toString() });
    const { prev } = await bSide;
    if (!prev || !next) throw new Error("links missing");
    const payload = new Uint8Array([1, 2, 3]);
    await next.send({ kind: "inferActivation", round: 0n, microbatch: 0, payload });
    await next.send({ kind: "inferActivation", round: 0n, microbatch: 1, payload });
    const pending = prev.receiveNext("inferActivation").then((f) => f.microbatch);
    await next.close();
    // Frames sent before the close are still delivered, in order; then reads end.
    expect(await pending).toBe(0);
    expect((await prev.receiveNext("inferActivation")).microbatch).toBe(1);
    await expect(prev.receiveNext("inferActivation")).rejects.toThrow(/finished sending/);
    await prev.send({ kind: "inferToken", round: 0n, microbatch: 1, payload });
    expect((await next.receive("inferToken", 0n, 1)).payload).toEqual(payload);
    await expect(next.send({ kind: "inferActivation", round: 0n, microbatch: 2, payload })).rejects.toThrow(/cannot send/);
  });

  it("dialWithRetry_unreachablePeer_throwsPeerUnreachableErrorAfterBackoff", async () => {
    const a = await node();
    const address = await closedPort();
    const retries: number[] = [];
    const started = performance.now();
    const error = await dialWithRetry(a, address, PIPE_PROTOCOL, {
      attempts: 4,
      baseDelayMs: 50,
      maxDelayMs: 120,
      onRetry: ({ delayMs }) => retries.push(delayMs),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerUnreachableError);
    const typed = error as PeerUnreachableError;
    expect(typed.attempts).toBe(4);
    expect(typed.address).toBe(address);
    expect(typed.shortMessage).toBe(`Peer ${address} is unreachable after 4 attempts.`);
    expect(typed.details).toMatch(/ECONNREFUSED|refused|dial/i);
    expect(retries).toEqual([50, 100, 120]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(270);
  });

  it("receive_fromAPeerThatWentSilent_failsWithPeerTimeoutError_andResetsTheLink", async () => {
    const [a, b] = [await node(), await node()];
    const bSide = openPipe({ node: b, stageIndex: 1, stageCount: 2, modelKey: "k", messageTimeoutMs: 400 });
    // Stage 0 connects and says hello, then never sends another frame (stuck or paused process).
    const { next } = await openPipe({ node: a, stageIndex: 0, stageCount: 2, modelKey: "k", nextAddress: b.getMultiaddrs()[0]?.toString() });
    const { prev } = await bSide;
    if (!prev || !next) throw new Error("links missing");
    const started = performance.now();
    const error = await prev.receive("activation", 3n, 0).catch((e: unknown) => e);
    const waitedMs = performance.now() - started;
    expect(error).toBeInstanceOf(PeerTimeoutError);
    expect((error as PeerTimeoutError).shortMessage).toBe("No activation 3/0 from the peer within 400 ms.");
    expect(waitedMs).toBeGreaterThanOrEqual(390);
    expect(waitedMs).toBeLessThan(5_000);
    // The link is dead on both sides: later receives fail at once, and the silent side's reads end.
    expect(prev.ended).toBe(error);
    await expect(prev.receive("gradient", 3n, 0)).rejects.toBe(error);
    await expect(next.receive("gradient", 3n, 0, 5_000)).rejects.toThrow(/closed|reset/);
  });

  it("send_toAPeerThatStoppedReading_failsWithPeerTimeoutError", async () => {
    const [a, b] = [await node(), await node()];
    // The receiving side accepts the stream and never reads it: its flow-control window fills.
    const held: Array<{ pause(): void }> = [];
    await b.handle(PIPE_PROTOCOL, (stream) => {
      stream.pause();
      held.push(stream);
    });
    const stream = await dialWithRetry(a, b.getMultiaddrs()[0]?.toString() ?? "", PIPE_PROTOCOL);
    const link = new PipeLink(stream, { messageTimeoutMs: 500 });
    const payload = new Uint8Array(64 * 1024);
    let sent = 0;
    const error = await (async () => {
      for (; sent < 400; sent++) await link.send({ kind: "activation", round: 0n, microbatch: sent, payload });
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerTimeoutError);
    expect((error as PeerTimeoutError).operation).toBe("send");
    expect((error as PeerTimeoutError).shortMessage).toMatch(/^Peer stopped reading: activation 0\/\d+ could not be sent within 500 ms\.$/);
    // Flow control stopped us long before 400 frames (25 MiB) were written.
    expect(sent).toBeLessThan(400);
    expect(held).toHaveLength(1);
    await expect(link.send({ kind: "activation", round: 0n, microbatch: 999, payload })).rejects.toBe(error);
  });

  it("agreeFirstRound_threeStages_allAgreeOnTheLowestNeed", async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const addr = (n: Libp2p) => n.getMultiaddrs()[0]?.toString();
    const cSide = openPipe({ node: c, stageIndex: 2, stageCount: 3, modelKey: "k" });
    const bSide = openPipe({ node: b, stageIndex: 1, stageCount: 3, modelKey: "k", nextAddress: addr(c) });
    const aSide = openPipe({ node: a, stageIndex: 0, stageCount: 3, modelKey: "k", nextAddress: addr(b) });
    const pipes = await Promise.all([aSide, bSide, cSide]);
    // The middle stage lost the most work, so everyone restarts at its round.
    expect(await Promise.all([agreeFirstRound(pipes[0], 5n), agreeFirstRound(pipes[1], 3n), agreeFirstRound(pipes[2], 7n)])).toEqual([3n, 3n, 3n]);
    expect(await Promise.all([agreeFirstRound(pipes[0], 9n), agreeFirstRound(pipes[1], 9n), agreeFirstRound(pipes[2], 8n)])).toEqual([8n, 8n, 8n]);
  });

  it("backoff_doublesAndCaps", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("wire_rejectsInt32TensorsAsActivations", () => {
    const ids = encodeTensor({ dtype: "int32", shape: [2], data: new Int32Array([1, 2]) });
    expect(() => decodeWireTensor(ids)).toThrow(/int32/);
  });
});
