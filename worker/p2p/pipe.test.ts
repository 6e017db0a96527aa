import type { Libp2p } from "@libp2p/interface";
import { deflateRawSync } from "node:zlib";
import { type Address, type Hex, keccak256, stringToBytes } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { FrameFormatError, LinkClosedError, PeerTimeoutError, PeerUnreachableError, UnexpectedPeerError } from "./errors.ts";
import { encodeFrame, FRAME_HEADER_BYTES, PIPE_PROTOCOL, tensorFrameLimits, UNBOUNDED_FRAME_LIMITS } from "./frames.ts";
import { localPipeAuth, signHello } from "./hello.ts";
import { backoffDelayMs, createPipeNode, dialWithRetry } from "./node.ts";
import { PipeLink } from "./link.ts";
import { agreeFirstRound, openPipe, type OpenPipeParameters, type StagePipe } from "./pipe.ts";
import {
  decodeActivationPayload,
  decodeWireTensor,
  encodeActivationPayload,
  encodeTargets,
  encodeWireTensor,
  payloadCodecs,
} from "./wire.ts";

const KEY: Hex = keccak256(stringToBytes("model-x"));
const SHAPE = [4, 8, 16];
/** The targets [4, 8] every training activation frame of these tests carries after its activation. */
const TARGETS = encodeTargets(
  [4, 8],
  Int32Array.from({ length: 32 }, (_, i) => i % 16),
);

/** openPipe with a fresh local identity and [4, 8, 16] tensor limits unless overridden. */
async function pipe(n: Libp2p, stageIndex: number, stageCount: number, extra: Partial<OpenPipeParameters> = {}): Promise<StagePipe> {
  return openPipe({
    node: n,
    stageIndex,
    stageCount,
    modelKey: KEY,
    auth: await localPipeAuth(1n),
    limits: tensorFrameLimits(SHAPE),
    ...extra,
  });
}

const addrOf = (n: Libp2p): string => n.getMultiaddrs()[0]?.toString() as string;

/** Resolves with the next refusal the listening stage reports. */
function refusals(): { onRefused: (e: Error) => void; next: () => Promise<Error> } {
  const queue: Error[] = [];
  let wake: ((e: Error) => void) | undefined;
  return {
    onRefused: (e) => {
      if (wake) {
        const w = wake;
        wake = undefined;
        w(e);
      } else queue.push(e);
    },
    next: () => (queue.length ? Promise.resolve(queue.shift() as Error) : new Promise((resolve) => (wake = resolve))),
  };
}

const nodes: Libp2p[] = [];
const node = async (): Promise<Libp2p> => {
  const n = await createPipeNode();
  nodes.push(n);
  return n;
};
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
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
    const bSide = pipe(b, 1, 2);
    const aSide = await pipe(a, 0, 2, { nextAddress: addrOf(b) });
    const { prev } = await bSide;
    const next = aSide.next;
    if (!prev || !next) throw new Error("links missing");

    const values = Float32Array.from({ length: 4 * 8 * 16 }, (_, i) => Math.sin(i) * 3);
    const act = encodeActivationPayload([4, 8, 16], values, "int8", TARGETS);
    const act32 = encodeActivationPayload(
      [4, 8, 16],
      values.map((v) => -v),
      "float32",
      TARGETS,
    );
    const grad = encodeWireTensor(
      [4, 8, 16],
      values.map((v) => -v),
      "float32",
    );
    // Microbatch 1 before 0: the mailbox hands each receiver exactly the frame it asks for.
    await next.send({ kind: "activation", round: 5n, microbatch: 1, payload: act.bytes });
    await next.send({ kind: "activation", round: 5n, microbatch: 0, payload: act32.bytes });
    const got0 = await prev.receive("activation", 5n, 0);
    const got1 = await prev.receive("activation", 5n, 1);
    expect(decodeActivationPayload(got1.payload).hash).toBe(act.hash);
    expect(decodeActivationPayload(got0.payload).hash).toBe(act32.hash);
    // The targets arrive byte for byte: the next stage forwards exactly these.
    expect(decodeActivationPayload(got1.payload).targets.bytes).toEqual(TARGETS);
    const roundTrip = decodeActivationPayload(got1.payload).values;
    const maxAbs = Math.max(...values.map(Math.abs));
    for (let i = 0; i < values.length; i++)
      expect(Math.abs((roundTrip[i] as number) - (values[i] as number))).toBeLessThanOrEqual(maxAbs / 127 / 2 + 1e-6);

    await prev.send({ kind: "gradient", round: 5n, microbatch: 0, payload: grad.bytes });
    expect((await next.receive("gradient", 5n, 0)).payload).toEqual(grad.bytes);

    const helloBytes =
      next.stats.bytesSent -
      encodeFrame({ kind: "activation", round: 5n, microbatch: 1, payload: act.bytes }).length -
      encodeFrame({ kind: "activation", round: 5n, microbatch: 0, payload: act32.bytes }).length;
    expect(helloBytes).toBeGreaterThan(0);
    expect(prev.stats.bytesReceived).toBe(next.stats.bytesSent);
    expect(next.stats.bytesReceived).toBe(prev.stats.bytesSent);
    // Each side sent its signed hello (under 4 KiB) before anything else.
    expect(prev.stats.bytesSent - encodeFrame({ kind: "gradient", round: 5n, microbatch: 0, payload: grad.bytes }).length).toBe(helloBytes);
    expect(helloBytes).toBeLessThan(4096);
    // Canonical sizes: header 2 + 4*rank (+4 scale for int8), then 1 or 4 bytes per element; an
    // activation payload adds its targets' (2 + 4*2 header, 4 bytes per id).
    expect(act.bytes.length).toBe(2 + 12 + 4 + values.length + 2 + 8 + 4 * 32);
    expect(grad.bytes.length).toBe(2 + 12 + 4 * values.length);
    expect([...prev.received.entries()].map(([kind, r]) => [kind, r.count])).toEqual([
      ["hello", 1],
      ["activation", 2],
    ]);
  });

  it("compressionOff_sendsEveryTensorAsItIs_theAdaptiveLinkShrinksIt_bothArriveExact", async () => {
    const [a, b] = [await node(), await node()];
    const bSide = pipe(b, 1, 2);
    const aSide = await pipe(a, 0, 2, { nextAddress: addrOf(b), compression: "off" });
    const { prev } = await bSide;
    const next = aSide.next;
    if (!prev || !next) throw new Error("links missing");
    // A few large values among small ones: int8 codes crowd around 0, which DEFLATE shrinks.
    const grad = encodeWireTensor(
      [4, 8, 16],
      Float32Array.from({ length: 4 * 8 * 16 }, (_, i) => (i % 17 === 0 ? 5 : 0.05 * Math.sin(i))),
      "int8",
    );
    const frameBytes = encodeFrame({ kind: "gradient", round: 1n, microbatch: 0, payload: grad.bytes }, (payload) => ({
      codec: "none",
      bytes: payload,
    })).length;
    const sentBefore = next.stats.bytesSent;
    await next.send({ kind: "gradient", round: 1n, microbatch: 0, payload: grad.bytes });
    expect((await prev.receive("gradient", 1n, 0)).payload).toEqual(grad.bytes);
    expect(next.stats.bytesSent - sentBefore).toBe(frameBytes);
    // The other end kept the default: what it sends is compressed, and still restored exactly.
    const backBefore = prev.stats.bytesSent;
    await prev.send({ kind: "gradient", round: 1n, microbatch: 1, payload: grad.bytes });
    expect((await next.receive("gradient", 1n, 1)).payload).toEqual(grad.bytes);
    expect(prev.stats.bytesSent - backBefore).toBeLessThan(frameBytes);
  });

  it("openPipe_refusesAPeerOfAnotherModel_andKeepsWaiting", async () => {
    const [a, b, c] = [await node(), await node(), await node()];
    const refused = refusals();
    const bSide = pipe(b, 1, 2, { onRefused: refused.onRefused });
    const wrong = pipe(c, 0, 2, { modelKey: keccak256(stringToBytes("wrong")), nextAddress: addrOf(b), dial: { attempts: 1 } });
    // The dialer learns nothing but a reset: the listener never answers a hello it refused.
    await expect(wrong).rejects.toBeInstanceOf(LinkClosedError);
    expect((await refused.next()).message).toMatch(/expected model 1 \(0x[0-9a-f]{64}\), got model 1/);
    await pipe(a, 0, 2, { nextAddress: addrOf(b) });
    const { prev } = await bSide;
    expect(prev).toBeDefined();
  });

  it("openPipe_refusesAnUnstakedSigner_andTheDialerRefusesAnUnstakedListener", async () => {
    const [a, b, c, d] = [await node(), await node(), await node(), await node()];
    const honest = await localPipeAuth(1n);
    const stranger = await localPipeAuth(1n);
    const staked = new Set<Address>([honest.signer.address]);
    const chainCheck = { ...honest, isStakedNeighbour: async ({ signer }: { signer: Address }) => staked.has(signer) };
    const refused = refusals();
    const bSide = pipe(b, 1, 2, { auth: chainCheck, onRefused: refused.onRefused });
    await expect(pipe(c, 0, 2, { auth: stranger, nextAddress: addrOf(b), dial: { attempts: 1 } })).rejects.toBeInstanceOf(LinkClosedError);
    expect((await refused.next()).message).toMatch(new RegExp(`${stranger.signer.address} is not the current signing key`));
    await pipe(a, 0, 2, { auth: honest, nextAddress: addrOf(b) });
    expect((await bSide).prev).toBeDefined();
    // The other way round: a listener that is not staked is refused by the dialer, at once.
    void pipe(d, 1, 2, { auth: stranger });
    const error = await pipe(await node(), 0, 2, { auth: chainCheck, nextAddress: addrOf(d), dial: { attempts: 3 } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnexpectedPeerError);
  });

  it("hostilePeer_framesBeforeItsHello_areNeverDecoded_theLinkIsDropped_andTheStageKeepsWaiting", async () => {
    const [a, b, evil] = [await node(), await node(), await node()];
    const refused = refusals();
    const bSide = pipe(b, 1, 2, { onRefused: refused.onRefused });
    // 1. A tensor frame instead of a hello (a deflate bomb: 65 KB that inflate to 64 MiB).
    const bomb = deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
    const frame = new Uint8Array(4 + FRAME_HEADER_BYTES + bomb.length);
    new DataView(frame.buffer).setUint32(0, FRAME_HEADER_BYTES + bomb.length, true);
    frame[4] = (payloadCodecs.deflate << 4) | 1;
    frame.set(bomb, 4 + FRAME_HEADER_BYTES);
    const s1 = await dialWithRetry(evil, addrOf(b), PIPE_PROTOCOL);
    s1.send(frame);
    expect(await refused.next()).toBeInstanceOf(FrameFormatError);
    // 2. An oversized hello (refused by its length prefix, before its bytes are even buffered).
    const s2 = await dialWithRetry(evil, addrOf(b), PIPE_PROTOCOL);
    s2.send(encodeFrame({ kind: "hello", round: 0n, microbatch: 0, payload: new Uint8Array(5000) }));
    expect((await refused.next()).message).toMatch(/frame length 5013 outside \[13, 4109\]/);
    // 3. A garbage hello.
    const s3 = await dialWithRetry(evil, addrOf(b), PIPE_PROTOCOL);
    s3.send(encodeFrame({ kind: "hello", round: 0n, microbatch: 0, payload: stringToBytes('{"stage":0,"modelKey":"0xab"}') }));
    expect(await refused.next()).toBeInstanceOf(UnexpectedPeerError);
    // 4. A valid hello of another peer id (replayed), followed by tensors it hopes get decoded.
    const honest = await localPipeAuth(1n);
    const replayed = await signHello(honest.signer, honest.domain, {
      modelId: 1n,
      specHash: KEY,
      stage: 0,
      worker: honest.worker,
      peerId: a.peerId.toMultihash().bytes,
    });
    const s4 = await dialWithRetry(evil, addrOf(b), PIPE_PROTOCOL);
    s4.send(encodeFrame({ kind: "hello", round: 0n, microbatch: 0, payload: replayed }));
    expect((await refused.next()).message).toMatch(/another libp2p peer/);
    // The stage is still up and accepts the real stage 0.
    const { next } = await pipe(a, 0, 2, { auth: honest, nextAddress: addrOf(b) });
    const { prev } = await bSide;
    const act = encodeActivationPayload(SHAPE, new Float32Array(4 * 8 * 16).fill(0.5), "int8", TARGETS);
    await next?.send({ kind: "activation", round: 0n, microbatch: 0, payload: act.bytes });
    expect((await prev?.receive("activation", 0n, 0))?.payload).toEqual(act.bytes);
  });

  it("authenticatedPeer_malformedTensorOrTargets_dropsThatLinkOnly_withATypedError", async () => {
    const cases: Array<[string, Uint8Array]> = [
      [
        "wrong shape",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeActivationPayload([4, 8, 17], new Float32Array(4 * 8 * 17), "float32", TARGETS).bytes,
        }),
      ],
      [
        "targets of the wrong shape",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeActivationPayload(SHAPE, new Float32Array(512), "int8", encodeTargets([4, 7], new Int32Array(28))).bytes,
        }),
      ],
      [
        "targets of the transposed shape",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeActivationPayload(SHAPE, new Float32Array(512), "int8", encodeTargets([8, 4], new Int32Array(32))).bytes,
        }),
      ],
      [
        "no targets",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeWireTensor(SHAPE, new Float32Array(512), "int8").bytes,
        }),
      ],
      [
        "int32",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeTensor({ dtype: "int32", shape: SHAPE, data: new Int32Array(512) }),
        }),
      ],
      ["not a tensor", encodeFrame({ kind: "gradient", round: 0n, microbatch: 0, payload: new Uint8Array(300).fill(7) })],
      [
        "oversized",
        encodeFrame({
          kind: "activation",
          round: 0n,
          microbatch: 0,
          payload: encodeWireTensor([4, 8, 160], new Float32Array(5120).fill(1), "float32").bytes,
        }),
      ],
    ];
    for (const [what, bytes] of cases) {
      const [a, b] = [await node(), await node()];
      const bSide = pipe(b, 1, 2);
      const { next } = await pipe(a, 0, 2, { nextAddress: addrOf(b) });
      const { prev } = await bSide;
      if (!prev || !next) throw new Error("links missing");
      const waiting = prev.receive("activation", 0n, 0).catch((e: unknown) => e);
      next.stream.send(bytes);
      const error = await waiting;
      expect(error, what).toBeInstanceOf(FrameFormatError);
      expect(prev.ended).toBe(error);
      // The hostile side sees its link reset: the neighbour's usual reconnect path, no process exit.
      await expect(next.receive("gradient", 0n, 0, 5_000)).rejects.toThrow(/reset|closed/);
    }
  });

  it("authenticatedPeer_runningFarAhead_isDroppedOnceItsQueuedFramesExceedTheMailboxBound", async () => {
    const [a, b] = [await node(), await node()];
    const bSide = pipe(b, 1, 2, { maxMailboxBytes: 3 * tensorFrameLimits(SHAPE).maxPayloadBytes });
    const { next } = await pipe(a, 0, 2, { nextAddress: addrOf(b) });
    const { prev } = await bSide;
    if (!prev || !next) throw new Error("links missing");
    const act = encodeActivationPayload(SHAPE, new Float32Array(512).fill(1), "float32", TARGETS).bytes;
    const ended = prev.receive("gradient", 0n, 0).catch((e: unknown) => e);
    for (let r = 0; r < 4; r++) await next.send({ kind: "activation", round: BigInt(r), microbatch: 0, payload: act });
    expect(await ended).toBeInstanceOf(FrameFormatError);
    expect((prev.ended as FrameFormatError).shortMessage).toMatch(/unclaimed frames ahead/);
  });

  it("halfClose_endsTheReceiverReads_butItCanStillAnswer", async () => {
    const [a, b] = [await node(), await node()];
    const bSide = pipe(b, 1, 2, { limits: UNBOUNDED_FRAME_LIMITS });
    const { next } = await pipe(a, 0, 2, { limits: UNBOUNDED_FRAME_LIMITS, nextAddress: addrOf(b) });
    const { prev } = await bSide;
    if (!prev || !next) throw new Error("links missing");
    const payload = encodeTensor({ dtype: "float32", shape: [1], data: new Float32Array([3]) });
    // Serving frames carry a 64-byte signature trailer (checked by the serving layer, not the link).
    const signature = new Uint8Array(64).fill(7);
    await next.send({ kind: "inferActivation", round: 0n, microbatch: 0, payload, signature });
    await next.send({ kind: "inferActivation", round: 0n, microbatch: 1, payload, signature });
    const pending = prev.receiveNext("inferActivation").then((f) => f.microbatch);
    await next.close();
    // Frames sent before the close are still delivered, in order; then reads end.
    expect(await pending).toBe(0);
    expect((await prev.receiveNext("inferActivation")).microbatch).toBe(1);
    await expect(prev.receiveNext("inferActivation")).rejects.toThrow(/finished sending/);
    await prev.send({ kind: "inferToken", round: 0n, microbatch: 1, payload, signature });
    expect(await next.receive("inferToken", 0n, 1)).toMatchObject({ payload, signature });
    await expect(next.send({ kind: "inferActivation", round: 0n, microbatch: 2, payload, signature })).rejects.toThrow(/cannot send/);
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
    const bSide = pipe(b, 1, 2, { messageTimeoutMs: 400 });
    // Stage 0 connects and says hello, then never sends another frame (stuck or paused process).
    const { next } = await pipe(a, 0, 2, { nextAddress: addrOf(b) });
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
    const cSide = pipe(c, 2, 3);
    const bSide = pipe(b, 1, 3, { nextAddress: addr(c) });
    const aSide = pipe(a, 0, 3, { nextAddress: addr(b) });
    const pipes = await Promise.all([aSide, bSide, cSide]);
    // The middle stage lost the most work, so everyone restarts at its round.
    expect(await Promise.all([agreeFirstRound(pipes[0], 5n), agreeFirstRound(pipes[1], 3n), agreeFirstRound(pipes[2], 7n)])).toEqual([
      3n,
      3n,
      3n,
    ]);
    expect(await Promise.all([agreeFirstRound(pipes[0], 9n), agreeFirstRound(pipes[1], 9n), agreeFirstRound(pipes[2], 8n)])).toEqual([
      8n,
      8n,
      8n,
    ]);
  });

  it("backoff_doublesAndCaps", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("wire_rejectsInt32TensorsAsActivations", () => {
    const ids = encodeTensor({ dtype: "int32", shape: [2], data: new Int32Array([1, 2]) });
    expect(() => decodeWireTensor(ids)).toThrow(/int32/);
  });
});
