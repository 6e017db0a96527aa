// One process per key: every command that sends transactions holds an exclusive lock file for its
// key while it runs. Two processes sending from one key both take the node's pending nonce, so one
// of them loses its transaction (a round's commitments, issue #14); the second is refused instead.
// Within one process the SDK queues an account's sends (sdk/actions/internal/client.ts).
import { createHash } from "node:crypto";
import { mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync, closeSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { KeyInUseError } from "./errors.ts";

/** What a lock file says about the process holding the key. */
export type KeyLockHolder = { pid: number; command: string; since: string; host: string; address: string; chainId: number };

/** A held key lock; `release()` is idempotent (also run at process exit). */
export type KeyLock = { readonly file: string; release(): void };

/** Where the lock files live: `SHARDHOLDER_LOCK_DIR`, else `<os tmpdir>/shardholder-keys`. */
export function keyLockDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHARDHOLDER_LOCK_DIR || path.join(tmpdir(), "shardholder-keys");
}

/**
 * The lock file of `address` on a chain. Nonces belong to (chain, account); every local dev chain
 * has chain id 31337 and its own nonces, so on a loopback RPC the endpoint is part of the name too
 * (two Hardhat nodes on two ports are two chains; a real chain reached through two providers is one).
 */
export function keyLockFile({
  address,
  chainId,
  rpcUrl,
  dir = keyLockDir(),
}: {
  address: string;
  chainId: number;
  rpcUrl: string;
  dir?: string;
}): string {
  const url = new URL(rpcUrl);
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" || url.hostname.startsWith("127.");
  const identity = `${chainId}|${address.toLowerCase()}|${loopback ? `${url.hostname}:${url.port}` : ""}`;
  return path.join(dir, `${createHash("sha256").update(identity).digest("hex").slice(0, 24)}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(file: string): KeyLockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as KeyLockHolder;
  } catch {
    return undefined; // gone meanwhile, or torn (its writer died mid-write)
  }
}

const held = new Set<KeyLock>();
let exitHook = false;

/**
 * Takes the lock of `address` on this chain for `command`, or throws {@link KeyInUseError} naming
 * the live process that holds it. A lock whose process is gone (killed, crashed, machine rebooted
 * without clearing tmp) is stale and taken over. Released by `release()` or when this process exits.
 *
 * @example
 * const lock = acquireKeyLock({ address, chainId: 31337, rpcUrl, command: "train --stage 0" })
 * try { ... } finally { lock.release() }
 */
export function acquireKeyLock(p: {
  address: string;
  chainId: number;
  rpcUrl: string;
  command: string;
  dir?: string | undefined;
}): KeyLock {
  const dir = p.dir ?? keyLockDir();
  mkdirSync(dir, { recursive: true });
  const file = keyLockFile({ ...p, dir });
  const me: KeyLockHolder = {
    pid: process.pid,
    command: p.command,
    since: new Date().toISOString(),
    host: hostname(),
    address: p.address,
    chainId: p.chainId,
  };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readHolder(file);
      if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new KeyInUseError({ address: p.address, holder });
      // Stale (or ours from an earlier command in this process, or torn): take it over.
      if (attempt >= 3) throw new KeyInUseError({ address: p.address, holder: holder ?? { pid: 0, command: "unknown", since: "unknown" } });
      rmSync(file, { force: true });
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    break;
  }
  let released = false;
  const lock: KeyLock = {
    file,
    release() {
      if (released) return;
      released = true;
      held.delete(lock);
      // Only our own file: never one a later process took over.
      if (readHolder(file)?.pid === process.pid) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    },
  };
  held.add(lock);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", releaseAllKeyLocks);
  }
  return lock;
}

/** Releases every key lock this process holds (the CLI calls it before it exits). */
export function releaseAllKeyLocks(): void {
  for (const lock of [...held]) lock.release();
}
