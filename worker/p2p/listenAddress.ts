import { BaseError } from "../../sdk/errors/base.ts";

/** A process's `listening` record announced no TCP address on the expected host (127.0.0.1 by default) that a neighbour could dial. */
export class NoLoopbackAddressError extends BaseError {
  constructor({ who, addrs, host = "127.0.0.1" }: { who: string; addrs: unknown; host?: string | undefined }) {
    super(`${who} announced no /ip4/${host}/tcp address to dial.`, {
      name: "NoLoopbackAddressError",
      details: `addrs: ${JSON.stringify(addrs)}`,
      metaMessages: [`Launch it with a listen address such as /ip4/${host}/tcp/0.`],
    });
  }
}

/**
 * The address a neighbour on this machine dials to reach a process that printed `addrs` (the
 * `addrs` field of its `listening` record, i.e. `node.getMultiaddrs()`): the first TCP multiaddr
 * on 127.0.0.1. The `/p2p/<id>` suffix is kept, so the dialer also checks it reached that peer.
 *
 * Launchers start a stage on port 0 and pass this to the stage before it: the OS picks the port
 * at bind time, so no other process can take it between choosing and binding.
 *
 * @example
 * const next = loopbackDialAddress((await last.waitFor("listening")).addrs, "stage 2")
 */
export function loopbackDialAddress(addrs: unknown, who: string): string {
  return hostDialAddress(addrs, who, "127.0.0.1");
}

/**
 * {@link loopbackDialAddress} for a process listening on another IPv4 host (a stage in its own
 * network namespace, reached over a shaped link): the first TCP multiaddr on `host`.
 */
export function hostDialAddress(addrs: unknown, who: string, host: string): string {
  const found = Array.isArray(addrs)
    ? addrs.find((a): a is string => typeof a === "string" && a.startsWith(`/ip4/${host}/tcp/`))
    : undefined;
  if (!found) throw new NoLoopbackAddressError({ who, addrs, host });
  return found;
}

/**
 * Starts one process per stage from the last to the first and returns them in stage order. Each
 * listens on a port the OS picks at bind time (`/ip4/127.0.0.1/tcp/0`); stage s is spawned with
 * `next` = the address stage s+1 announced (`listeningAddrs`), so no port is chosen before it is
 * bound. If any step fails, every process spawned so far is killed and the error rethrown; once
 * `signal` aborted, nothing more is spawned (a Ctrl-C handler would miss a later child).
 * `dialAddress` picks the address to dial from what stage s announced (default: its loopback one).
 *
 * @example
 * const procs = await spawnLastFirst(3, (s, next) => start({ stage: s, next }), async (p) => (await p.waitFor("listening")).addrs)
 */
export async function spawnLastFirst<P extends { kill(): void }>(
  stageCount: number,
  spawn: (stage: number, next: string | undefined) => P,
  listeningAddrs: (proc: P) => Promise<unknown>,
  signal?: AbortSignal,
  dialAddress: (addrs: unknown, stage: number) => string = (addrs, stage) => loopbackDialAddress(addrs, `stage ${stage}`),
): Promise<P[]> {
  const procs: P[] = [];
  try {
    let next: string | undefined;
    for (let s = stageCount - 1; s >= 0; s--) {
      signal?.throwIfAborted();
      const proc = spawn(s, next);
      procs.unshift(proc);
      if (s > 0) next = dialAddress(await listeningAddrs(proc), s);
    }
    return procs;
  } catch (err) {
    for (const proc of procs) proc.kill();
    throw err;
  }
}
