// Measures a listening stage's RSS before and after a flood of hostile frames (issue 12): deflate
// bombs (65 KB that inflate to 64 MiB) sent before any hello, then by an authenticated neighbour.
// Run: node_modules/.bin/node --expose-gc --import tsx scripts/flood-rss.ts [bombs]
// Measured on the 2-core build machine: 4 bombs 226 -> 228 MB (before this change: 204 -> 606 MB,
// the bombs inflated and kept before any hello); 64 bombs 225 -> 240 MB.
import { deflateRawSync } from "node:zlib";
import { keccak256, stringToBytes } from "viem";
import { FRAME_HEADER_BYTES, PIPE_PROTOCOL, tensorFrameLimits } from "../worker/p2p/frames.ts";
import { localPipeAuth } from "../worker/p2p/hello.ts";
import { createPipeNode, dialWithRetry } from "../worker/p2p/node.ts";
import { openPipe } from "../worker/p2p/pipe.ts";
import { payloadCodecs } from "../worker/p2p/wire.ts";

const bombs = Number(process.argv[2] ?? 4);
const mb = (): number => {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1e6);
};
const modelKey = keccak256(stringToBytes("flood"));
const limits = tensorFrameLimits([16, 64, 128]);
const [listener, evil, honest] = await Promise.all([createPipeNode(), createPipeNode(), createPipeNode()]);
const address = listener.getMultiaddrs()[0]?.toString() as string;
let refused = 0;
let onRefused = (): void => undefined;
const side = openPipe({
  node: listener,
  stageIndex: 1,
  stageCount: 2,
  modelKey,
  auth: await localPipeAuth(1n),
  limits,
  onRefused: () => (refused++, onRefused()),
});
const packed = deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
const bomb = new Uint8Array(4 + FRAME_HEADER_BYTES + packed.length);
new DataView(bomb.buffer).setUint32(0, FRAME_HEADER_BYTES + packed.length, true);
bomb[4] = (payloadCodecs.deflate << 4) | 1;
bomb.set(packed, 4 + FRAME_HEADER_BYTES);
const before = mb();
for (let i = 0; i < bombs; i++) {
  const stream = await dialWithRetry(evil, address, PIPE_PROTOCOL);
  const seen = new Promise<void>((resolve) => (onRefused = resolve));
  stream.send(bomb);
  await seen;
}
const afterUnauthenticated = mb();
const { next } = await openPipe({
  node: honest,
  stageIndex: 0,
  stageCount: 2,
  modelKey,
  auth: await localPipeAuth(1n),
  limits,
  nextAddress: address,
});
const { prev } = await side;
const dropped = prev?.receive("activation", 0n, 0).catch((e: Error) => e.constructor.name);
for (let i = 0; i < bombs; i++) next?.stream.send(bomb);
const reason = await dropped;
const afterAuthenticated = mb();
console.log(
  JSON.stringify({
    bombFrameBytes: bomb.length,
    bombs,
    refused,
    rssMb: { before, afterUnauthenticated, afterAuthenticated },
    authenticatedLink: reason,
  }),
);
await Promise.all([listener.stop(), evil.stop(), honest.stop()]);
