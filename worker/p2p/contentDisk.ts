import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import type { ContentBackend } from "./content.ts";

/** Writes `bytes` to `file` and fsyncs it before returning. */
function writeDurably(file: string, bytes: Uint8Array): void {
  const fd = openSync(file, "w");
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory, so a rename inside it survives a power loss. */
function fsyncPath(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Content on disk beside the journal, so a restarted miner serves again what it committed to
 * (validators audit after the commit window; a miner that restarted in between must not lose the
 * dispute). Layout: `<dir>/r<round>/<kind>-<key>`, each file written to a temporary name,
 * fsynced, renamed, and its directory fsynced, so neither a crash nor a power loss leaves a
 * partial file under a content name or loses content the journal already committed to (a miner
 * that lost its manifest after a power cut would face availability demands for work it did).
 * Content is re-checked against its key by every fetcher all the same.
 *
 * @example
 * const store = new ContentStore({ backend: directoryContentBackend(path.join(journalDir, "content")) })
 */
export function directoryContentBackend(dir: string): ContentBackend {
  mkdirSync(dir, { recursive: true });
  const roundDir = (round: bigint): string => path.join(dir, `r${round}`);
  return {
    write(round, name, bytes) {
      const folder = roundDir(round);
      mkdirSync(folder, { recursive: true });
      const file = path.join(folder, name);
      const tmp = `${file}.${process.pid}.tmp`;
      writeDurably(tmp, bytes);
      renameSync(tmp, file);
      fsyncPath(folder);
    },
    read(round, name) {
      try {
        const b = readFileSync(path.join(roundDir(round), name));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    dropRound(round) {
      rmSync(roundDir(round), { recursive: true, force: true });
    },
    list() {
      const out: Array<[bigint, string]> = [];
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const m = /^r(\d+)$/.exec(entry.name);
        if (!entry.isDirectory() || !m) continue;
        const round = BigInt(m[1] as string);
        // Leftover temporaries of a crash mid-write are not content: skip (and clean) them.
        for (const name of readdirSync(path.join(dir, entry.name))) {
          if (name.endsWith(".tmp")) rmSync(path.join(dir, entry.name, name), { force: true });
          else out.push([round, name]);
        }
      }
      return out;
    },
  };
}
