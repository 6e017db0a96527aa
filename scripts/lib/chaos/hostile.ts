// A hostile peer for the chaos bench: a libp2p node of its own that opens pipe and content
// streams to a running stage and sends what an attacker would (worker/cli/README.md, "Only
// authenticated neighbours are heard"). What is measured is the target: it must drop each stream
// (`refused a pipe link`) and keep training, in the same process.
import { randomBytes } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import type { Libp2p } from "@libp2p/interface";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { CONTENT_PROTOCOL } from "../../../worker/p2p/contentProtocol.ts";
import { encodeFrame, FRAME_HEADER_BYTES, frameKinds, PIPE_PROTOCOL } from "../../../worker/p2p/frames.ts";
import { type HelloDomain, signHello } from "../../../worker/p2p/hello.ts";
import { createPipeNode, dialWithRetry } from "../../../worker/p2p/node.ts";
import { payloadCodecs } from "../../../worker/p2p/wire.ts";

/** One hostile stream and what the attacker sent on it. */
export type HostileAttempt = { attack: string; protocol: string; bytesSent: number; error?: string | undefined };

/** A frame whose length prefix is `body.length` and whose header says a deflated activation. */
function deflateBombFrame(inflatedBytes: number): Uint8Array {
  const packed = deflateRawSync(new Uint8Array(inflatedBytes), { level: 9 });
  const frame = new Uint8Array(4 + FRAME_HEADER_BYTES + packed.length);
  new DataView(frame.buffer).setUint32(0, FRAME_HEADER_BYTES + packed.length, true);
  frame[4] = (payloadCodecs.deflate << 4) | frameKinds.activation;
  frame.set(packed, 4 + FRAME_HEADER_BYTES);
  return frame;
}

/** A length prefix announcing a 1 GiB frame, followed by 1 MiB of it. */
function oversizedFrame(): Uint8Array {
  const out = new Uint8Array(4 + (1 << 20));
  new DataView(out.buffer).setUint32(0, 1 << 30, true);
  out[4] = frameKinds.activation;
  return out;
}

/**
 * Hello of `worker` (a real, staked neighbour's address) for `stage`, signed by a key that is not
 * its registered signing key: an impersonation the chain check must refuse.
 */
async function impersonatingHello(
  node: Libp2p,
  p: { modelId: bigint; specHash: Hex; stage: number; worker: Address; domain: HelloDomain },
): Promise<Uint8Array> {
  const payload = await signHello(privateKeyToAccount(generatePrivateKey()), p.domain, {
    modelId: p.modelId,
    specHash: p.specHash,
    stage: p.stage,
    worker: p.worker,
    peerId: node.peerId.toMultihash().bytes,
  });
  return encodeFrame({ kind: "hello", round: 0n, microbatch: 0, payload });
}

/**
 * Attacks the stage at `address` (its `/p2p/` multiaddr): garbage, an oversized frame, a deflate
 * bomb (64 MiB of zeros in ~64 KB), a hello impersonating its upstream neighbour, each on a pipe
 * stream of its own, then garbage on its content-fetch protocol. Resolves once every stream was
 * sent (what the target did with it is read from the target's logs).
 */
export async function attackStage(p: {
  address: string;
  modelId: bigint;
  specHash: Hex;
  upstreamStage: number;
  upstreamWorker: Address;
  domain: HelloDomain;
}): Promise<HostileAttempt[]> {
  const node = await createPipeNode();
  const attempts: HostileAttempt[] = [];
  const send = async (attack: string, protocol: string, bytes: Uint8Array) => {
    try {
      // The target may be between two sessions (no pipe handler for a moment): retry briefly.
      const stream = await dialWithRetry(node, p.address, protocol, { attempts: 12, baseDelayMs: 200, maxDelayMs: 1_000 });
      stream.send(bytes);
      await stream.close().catch(() => undefined);
      attempts.push({ attack, protocol, bytesSent: bytes.length });
    } catch (err) {
      attempts.push({ attack, protocol, bytesSent: 0, error: (err as Error).message });
    }
  };
  try {
    await send("garbage", PIPE_PROTOCOL, randomBytes(64 * 1024));
    await send("oversized frame", PIPE_PROTOCOL, oversizedFrame());
    await send("deflate bomb", PIPE_PROTOCOL, deflateBombFrame(64 * 1024 * 1024));
    await send(
      "impersonated upstream hello",
      PIPE_PROTOCOL,
      await impersonatingHello(node, {
        modelId: p.modelId,
        specHash: p.specHash,
        stage: p.upstreamStage,
        worker: p.upstreamWorker,
        domain: p.domain,
      }),
    );
    await send("garbage fetch request", CONTENT_PROTOCOL, randomBytes(16 * 1024));
  } finally {
    await node.stop();
  }
  return attempts;
}
