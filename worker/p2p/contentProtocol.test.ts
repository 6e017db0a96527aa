import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p } from "@libp2p/interface";
import { afterAll, describe, expect, it } from "vitest";
import { encodeTensor } from "../../sdk/protocol/tensorBytes.ts";
import { fixedLoopbackPort } from "../../test/lib/ports.ts";
import { ContentStore } from "./content.ts";
import { ContentUnavailableError, fetchContentWithin, serveContent } from "./contentProtocol.ts";
import { createPipeNode } from "./node.ts";

const nodes: Libp2p[] = [];
const started = async (...args: Parameters<typeof createPipeNode>): Promise<Libp2p> => {
  const n = await createPipeNode(...args);
  nodes.push(n);
  return n;
};
afterAll(async () => {
  await Promise.all(nodes.map(async (n) => n.stop()));
});

describe("content fetch within a deadline", () => {
  it("fetchContentWithin_minerDownThenBack_retriesWithBackoffAndGetsTheBytes", async () => {
    // The miner: a fixed identity and port, so its multiaddr is the same after the restart.
    const privateKey = await generateKeyPair("Ed25519");
    const listen = [`/ip4/127.0.0.1/tcp/${await fixedLoopbackPort()}`];
    const store = new ContentStore();
    const bytes = encodeTensor({ dtype: "float32", shape: [3], data: new Float32Array([1, 2, 3]) });
    const key = store.putTensor(bytes);
    const first = await createPipeNode({ listen, privateKey });
    const address = first.getMultiaddrs()[0]?.toString() as string;
    await first.stop(); // down before the auditor asks
    const auditor = await started();
    const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
    let back: Promise<void> | undefined;
    const fetched = await fetchContentWithin({
      node: auditor,
      address,
      kind: "tensor",
      key,
      deadlineMs: 60_000,
      baseDelayMs: 50,
      random: () => 0.5,
      onRetry: ({ attempt, delayMs, error }) => {
        retries.push({ attempt, delayMs, reason: error.reason });
        // The miner restarts once the auditor has failed twice (an event, not a guessed time).
        if (attempt === 2)
          back = started({ listen, privateKey }).then(async (n) => {
            await serveContent(n, store);
          });
      },
    });
    await back;
    expect(fetched).toEqual(bytes);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.slice(0, 2)).toEqual([
      { attempt: 1, delayMs: 38, reason: "unreachable" },
      { attempt: 2, delayMs: 75, reason: "unreachable" },
    ]);
  });

  it("fetchContentWithin_minerNeverBack_judgesUnavailableOnlyAfterTheDeadline", async () => {
    const gone = await createPipeNode();
    const address = gone.getMultiaddrs()[0]?.toString() as string;
    await gone.stop();
    const auditor = await started();
    const attempts: number[] = [];
    const t0 = performance.now();
    const error = await fetchContentWithin({
      node: auditor,
      address,
      kind: "tensor",
      key: `0x${"00".repeat(32)}`,
      deadlineMs: 1_500,
      baseDelayMs: 100,
      onRetry: ({ attempt }) => attempts.push(attempt),
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - t0;
    expect(error).toBeInstanceOf(ContentUnavailableError);
    expect((error as ContentUnavailableError).reason).toBe("unreachable");
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    // Not judged before the next retry would pass the deadline, and not long after it.
    expect(elapsed).toBeGreaterThan(1_500 / 4);
    expect(elapsed).toBeLessThan(1_500 + 6_000);
  });

  it("fetchContentWithin_wrongBytes_areFinalAtOnce", async () => {
    const miner = await started();
    const store = new ContentStore();
    const bytes = encodeTensor({ dtype: "float32", shape: [1], data: new Float32Array([1]) });
    const key = store.putTensor(bytes);
    // A miner that answers another key's bytes for this one (store.put checks, so bypass it).
    const lying = { get: () => encodeTensor({ dtype: "float32", shape: [1], data: new Float32Array([2]) }) } as unknown as ContentStore;
    await serveContent(miner, lying);
    const retried: number[] = [];
    const error = await fetchContentWithin({
      node: await started(),
      address: miner.getMultiaddrs()[0]?.toString() as string,
      kind: "tensor",
      key,
      deadlineMs: 30_000,
      onRetry: ({ attempt }) => retried.push(attempt),
    }).catch((e: unknown) => e);
    expect((error as ContentUnavailableError).reason).toBe("mismatch");
    expect(retried).toEqual([]);
  });
});
