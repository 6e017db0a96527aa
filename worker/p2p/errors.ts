import { BaseError } from "../../sdk/errors/base.ts";

/** A neighbour stage could not be reached after every dial attempt. */
export class PeerUnreachableError extends BaseError {
  readonly address: string;
  readonly attempts: number;
  constructor({ address, attempts, cause }: { address: string; attempts: number; cause?: Error | undefined }) {
    super(`Peer ${address} is unreachable after ${attempts} attempt${attempts === 1 ? "" : "s"}.`, {
      name: "PeerUnreachableError",
      cause,
      metaMessages: [
        "Check that the neighbour stage process is running and listening on that multiaddr,",
        "and that the address (host, port) is reachable from here.",
      ],
    });
    this.address = address;
    this.attempts = attempts;
  }
}

/** A frame on the tensor-stream protocol does not follow the frame layout. */
export class FrameFormatError extends BaseError {
  constructor(reason: string) {
    super(`Invalid pipe frame: ${reason}.`, { name: "FrameFormatError" });
  }
}

/** The tensor link closed (or was reset) while a frame was still awaited or being sent. */
export class LinkClosedError extends BaseError {
  constructor({ reason, cause }: { reason: string; cause?: Error | undefined }) {
    super(`Pipe link closed: ${reason}.`, { name: "LinkClosedError", cause });
  }
}

/** A neighbour sent a frame this stage did not expect (wrong stage, model or kind). */
export class UnexpectedPeerError extends BaseError {
  constructor(reason: string) {
    super(`Unexpected pipe peer: ${reason}.`, { name: "UnexpectedPeerError" });
  }
}

/**
 * A connected neighbour went silent: a frame it owes did not arrive, or it stopped reading so our
 * send could not drain, within the per-message timeout. The link is unusable afterwards.
 */
export class PeerTimeoutError extends BaseError {
  readonly operation: "receive" | "send";
  readonly what: string;
  readonly timeoutMs: number;
  constructor({ operation, what, timeoutMs }: { operation: "receive" | "send"; what: string; timeoutMs: number }) {
    super(
      operation === "receive"
        ? `No ${what} within ${timeoutMs} ms.`
        : `Peer stopped reading: ${what} could not be sent within ${timeoutMs} ms.`,
      {
        name: "PeerTimeoutError",
        metaMessages: ["The neighbour stage is connected but not responding (stuck, paused, or overloaded)."],
      },
    );
    this.operation = operation;
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** No miner of the neighbouring stage has a peer record in the stage directory (nothing to dial). */
export class NoStagePeerError extends BaseError {
  constructor({ modelId, stage, waitedMs }: { modelId: bigint; stage: number; waitedMs: number }) {
    super(
      `No miner of stage ${stage} of model ${modelId} has announced a peer record in the stage directory (waited ${Math.round(waitedMs / 1000)} s).`,
      {
        name: "NoStagePeerError",
        metaMessages: ["Start that stage's `shardholder train` (it announces itself), or pass its address with --peer."],
      },
    );
  }
}
