/**
 * Running the plan on this machine: the capability check, the commands, and the guarantee that
 * namespaces never outlive their run (removed on close, on exit, on SIGINT/SIGTERM, and swept
 * later when a run was killed with SIGKILL).
 */
import { execFile, execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { NetemCommandError, NetemUnavailableError } from "./errors.ts";
import { ownerPid } from "./plan.ts";

/** Runs one command; rejects with {@link NetemCommandError} on a non-zero exit. */
export function run(argv: readonly string[]): Promise<string> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new NetemCommandError({ argv, code: typeof err.code === "number" ? err.code : null, stderr: stderr || err.message }));
      else resolve(stdout);
    });
  });
}

/** Whether shaped links can be built here: `{ ok: false, reason }` says why not (tests skip with it). */
export type NetemSupport = { ok: true } | { ok: false; reason: string };

let support: Promise<NetemSupport> | undefined;

/**
 * Checks once per process, for real: root, then a throwaway namespace with a veth pair, a VXLAN
 * device and a tbf qdisc (the pieces the chain uses), removed again.
 */
export function netemSupport(): Promise<NetemSupport> {
  support ??= (async (): Promise<NetemSupport> => {
    if (process.platform !== "linux") return { ok: false, reason: `not Linux (${process.platform})` };
    if (process.getuid?.() !== 0) return { ok: false, reason: "not root (network namespaces need CAP_NET_ADMIN)" };
    const ns = `shn-probe-${process.pid}`;
    try {
      await run(["ip", "netns", "add", ns]);
    } catch (err) {
      return { ok: false, reason: `\`ip netns add\` failed: ${err instanceof NetemCommandError ? err.details : String(err)}` };
    }
    try {
      await run(["ip", "-n", ns, "link", "add", "name", "a", "type", "veth", "peer", "name", "b"]);
      await run([
        "ip",
        "-n",
        ns,
        "link",
        "add",
        "name",
        "v",
        "type",
        "vxlan",
        "id",
        "1",
        "local",
        "10.0.0.1",
        "remote",
        "10.0.0.2",
        "dstport",
        "4789",
      ]);
      await run(["tc", "-n", ns, "qdisc", "add", "dev", "a", "root", "tbf", "rate", "10mbit", "burst", "16384", "limit", "65536"]);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: err instanceof NetemCommandError ? `${err.shortMessage}: ${err.details}` : String(err) };
    } finally {
      await run(["ip", "netns", "del", ns]).catch(() => undefined);
    }
  })();
  return support;
}

/** Throws {@link NetemUnavailableError} unless {@link netemSupport} is ok. */
export async function requireNetem(): Promise<void> {
  const s = await netemSupport();
  if (!s.ok) throw new NetemUnavailableError(s.reason);
}

/** Namespaces of live runs of this process, removed synchronously when the process goes. */
const live = new Set<string>();
let handlersInstalled = false;

function removeSync(namespaces: Iterable<string>): void {
  for (const ns of namespaces) {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // Already gone.
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once("exit", () => removeSync(live));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.once(signal, () => {
      removeSync(live);
      live.clear();
      // Keep the default outcome of the signal (exit 128 + n) once our namespaces are gone.
      process.kill(process.pid, signal);
    });
}

/** Marks namespaces as owned by this process until {@link release}. */
export function track(namespaces: readonly string[]): void {
  installHandlers();
  for (const ns of namespaces) live.add(ns);
}

/** Removes namespaces now and forgets them. */
export async function release(namespaces: readonly string[]): Promise<void> {
  await Promise.all(namespaces.map((ns) => run(["ip", "netns", "del", ns]).catch(() => undefined)));
  for (const ns of namespaces) live.delete(ns);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Deletes namespaces of runs that were killed outright (their owner pid is gone) and are older
 * than `minAgeMs`: the age guards a run whose pid this process cannot see (another pid namespace).
 */
export async function sweepStale(minAgeMs = 30 * 60_000): Promise<string[]> {
  const names = (await run(["ip", "netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter(Boolean);
  const stale = names.filter((ns) => {
    const pid = ownerPid(ns);
    if (pid === undefined || pid === process.pid || alive(pid)) return false;
    try {
      return Date.now() - statSync(`/run/netns/${ns}`).mtimeMs > minAgeMs;
    } catch {
      return false;
    }
  });
  await release(stale);
  return stale;
}
