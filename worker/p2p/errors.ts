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
