/**
 * The relay's model of one direction of a link: every datagram is lost with probability
 * `loss`, or leaves exactly `delayMs` after it arrived, in arrival order (a fixed propagation
 * delay cannot reorder). Pure bookkeeping: the caller owns the clock, the timer and the socket.
 */

/** Link impairment of one direction. */
export type Impairment = { delayMs: number; loss: number };

/** What one direction did so far. */
export type DelayLineStats = { received: number; dropped: number; forwarded: number; bytesForwarded: number; maxQueued: number };

type Held = { due: number; data: Uint8Array };

/** FIFO of datagrams in flight on one direction of a link. */
export class DelayLine {
  readonly stats: DelayLineStats = { received: 0, dropped: 0, forwarded: 0, bytesForwarded: 0, maxQueued: 0 };
  readonly #queue: Held[] = [];
  #head = 0;

  constructor(
    readonly impairment: Impairment,
    private readonly random: () => number,
  ) {}

  /** Takes a datagram that arrived at `now` (ms); false when the link lost it. */
  accept(data: Uint8Array, now: number): boolean {
    this.stats.received++;
    if (this.impairment.loss > 0 && this.random() < this.impairment.loss) {
      this.stats.dropped++;
      return false;
    }
    this.#queue.push({ due: now + this.impairment.delayMs, data });
    this.stats.maxQueued = Math.max(this.stats.maxQueued, this.#queue.length - this.#head);
    return true;
  }

  /** Datagrams due by `now`, oldest first, removed from the line. */
  takeDue(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.#head < this.#queue.length && (this.#queue[this.#head] as Held).due <= now) {
      const { data } = this.#queue[this.#head++] as Held;
      this.stats.forwarded++;
      this.stats.bytesForwarded += data.length;
      out.push(data);
    }
    // Compact now and then instead of shifting per datagram (O(1) amortized).
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** When the oldest held datagram is due (ms), or undefined when none is held. */
  nextDue(): number | undefined {
    return this.#queue[this.#head]?.due;
  }
}
