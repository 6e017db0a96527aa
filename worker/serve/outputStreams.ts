// Live text of requests being generated, for `GET /outputs/<id>/stream`: a subscriber gets what
// was generated so far, then every new piece, then `done` (or `abandoned`). Bounded: at most
// `maxLive` requests are tracked; a subscriber to a request that never starts is dropped by the
// HTTP handler's own timeout.
import type { EndpointStreamEvent } from "../../sdk/protocol/servingEndpoint.ts";

type Listener = (event: EndpointStreamEvent) => void;
type Live = { chunks: string[]; listeners: Set<Listener> };

export class OutputStreams {
  private readonly live = new Map<string, Live>();

  constructor(private readonly maxLive = 1_000) {}

  private entry(requestId: bigint): Live {
    const key = requestId.toString();
    let live = this.live.get(key);
    if (!live) {
      if (this.live.size >= this.maxLive) this.live.delete(this.live.keys().next().value as string);
      live = { chunks: [], listeners: new Set() };
      this.live.set(key, live);
    }
    return live;
  }

  /** A piece of `requestId`'s text was generated. */
  append(requestId: bigint, text: string): void {
    const live = this.entry(requestId);
    live.chunks.push(text);
    for (const listener of live.listeners) listener({ text });
  }

  /** `requestId` ended (`done` or `abandoned`): tell every subscriber and forget it. */
  end(requestId: bigint, event: Exclude<EndpointStreamEvent, { text: string }>): void {
    const key = requestId.toString();
    const live = this.live.get(key);
    this.live.delete(key);
    for (const listener of live?.listeners ?? []) listener(event);
  }

  /**
   * Subscribes to `requestId`: `listener` first receives the text generated so far (one event),
   * then each new piece and the end. Returns the unsubscribe function.
   */
  subscribe(requestId: bigint, listener: Listener): () => void {
    const live = this.entry(requestId);
    if (live.chunks.length > 0) listener({ text: live.chunks.join("") });
    live.listeners.add(listener);
    return () => {
      live.listeners.delete(listener);
      // Nothing generated and nobody listening: a subscription to a request that never started.
      if (live.listeners.size === 0 && live.chunks.length === 0 && this.live.get(requestId.toString()) === live)
        this.live.delete(requestId.toString());
    };
  }
}
