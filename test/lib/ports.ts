// Loopback ports for tests that must name a port before the process that binds it exists, or
// keep it across a restart, or keep it closed. A port picked by listening on 0 comes from the
// kernel's ephemeral range, where any other process's port-0 listener or outgoing connection can
// take it before our child binds it (two test files at once saw EADDRINUSE). Below that range a
// port is only taken by an explicit bind: the bind check below catches one that is already held,
// and the per-worker slices keep two files of one vitest run from drawing the same port.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { BaseError } from "../../sdk/errors/base.ts";

/** Where fixed test ports come from, unless the ephemeral range reaches lower. */
const FIXED_LOW = 20_000;
const FIXED_HIGH = 32_000;
/** Parallel vitest workers get disjoint slices, so two files never draw the same port. */
const SLICES = 8;
const ATTEMPTS = 50;

/** No port below the ephemeral range could be used. */
export class NoFixedPortError extends BaseError {
  constructor(
    readonly range: readonly [number, number],
    reason: string,
  ) {
    super(`No usable 127.0.0.1 test port in ${range[0]}-${range[1]}: ${reason}.`, { name: "NoFixedPortError" });
  }
}

/** Linux's ephemeral port range (where port 0 and outgoing connections draw from); undefined elsewhere. */
export function ephemeralPortRange(read: (path: string) => string = (p) => readFileSync(p, "utf8")): [number, number] | undefined {
  try {
    const [low, high] = read("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/).map(Number);
    return low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}

/** The range fixed ports come from: [FIXED_LOW, FIXED_HIGH] cut below the ephemeral range, then this worker's slice. */
export function fixedPortRange(ephemeral = ephemeralPortRange(), poolId = Number(process.env.VITEST_POOL_ID ?? 1)): [number, number] {
  const high = Math.min(FIXED_HIGH, (ephemeral?.[0] ?? FIXED_HIGH + 1) - 1);
  if (high - FIXED_LOW < SLICES * 16) throw new NoFixedPortError([FIXED_LOW, high], `the ephemeral range starts at ${ephemeral?.[0]}`);
  const size = Math.floor((high - FIXED_LOW + 1) / SLICES);
  const slice = ((Number.isInteger(poolId) && poolId > 0 ? poolId : 1) - 1) % SLICES;
  return [FIXED_LOW + slice * size, FIXED_LOW + (slice + 1) * size - 1];
}

/** Ports this process handed out already: never twice, so two stages of one test never share one. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A 127.0.0.1 port outside the ephemeral range that binds right now: random in this worker's
 * slice of 20000-32000, checked with a bind, retried otherwise. Nothing that listens on port 0 or
 * dials out can take it, so a child can bind it later, and a restarted child can bind it again.
 *
 * @example
 * const port = await fixedLoopbackPort()
 * spawn(node, [bin, "train", "--listen", `/ip4/127.0.0.1/tcp/${port}`])
 */
export async function fixedLoopbackPort(): Promise<number> {
  const range = fixedPortRange();
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new NoFixedPortError(range, `none bound in ${ATTEMPTS} attempts`);
}
