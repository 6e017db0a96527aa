// Minimal types for the `ws` package (installed as a dependency of viem; no @types/ws here).
declare module "ws" {
  import type { EventEmitter } from "node:events";
  export class WebSocket extends EventEmitter {
    send(data: string): void;
    close(): void;
    readonly readyState: number;
  }
  export class WebSocketServer extends EventEmitter {
    constructor(options: { host?: string; port?: number });
    address(): { port: number } | string;
    close(cb?: (err?: Error) => void): void;
    clients: Set<WebSocket>;
  }
}
