// `/shardholder/stage/1.0.0`: "which stage do you train, and do you take pipe links?". A stage
// directory record only says where a member listens; a dialer asks this before it opens a pipe,
// so a member that does not run a pipeline there (a validator, a replica without links, a stale
// address) is skipped instead of stalling the link.
import type { Libp2p } from "@libp2p/interface";
import { dialWithRetry } from "./node.ts";

/** libp2p protocol id of the stage status: response `u16 LE stage`, then the stream closes. */
export const STAGE_STATUS_PROTOCOL = "/shardholder/stage/1.0.0";

/**
 * Answers {@link STAGE_STATUS_PROTOCOL} with `stage`: this node trains that stage and accepts pipe
 * links from the stage before it.
 *
 * @example
 * await serveStageStatus(node, 1)
 */
export async function serveStageStatus(node: Libp2p, stage: number): Promise<void> {
  await node.handle(STAGE_STATUS_PROTOCOL, async (stream) => {
    const answer = new Uint8Array(2);
    new DataView(answer.buffer).setUint16(0, stage, true);
    try {
      if (!stream.send(answer)) await stream.onDrain();
      await stream.close();
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

/** The stage `address` says it trains, or undefined when it does not answer within `timeoutMs`. */
export async function askStage(node: Libp2p, address: string, timeoutMs = 3_000): Promise<number | undefined> {
  try {
    const stream = await dialWithRetry(node, address, STAGE_STATUS_PROTOCOL, { attempts: 1, attemptTimeoutMs: timeoutMs });
    const bytes = await new Promise<Uint8Array | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      stream.addEventListener("message", (event) => {
        clearTimeout(timer);
        resolve(event.data.subarray().slice(0, 2));
      });
      stream.addEventListener("close", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    await stream.close().catch(() => undefined);
    return bytes && bytes.length === 2 ? new DataView(bytes.buffer, bytes.byteOffset).getUint16(0, true) : undefined;
  } catch {
    return undefined;
  }
}
