import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ContentBackend } from "./content.ts";

/**
 * Content on disk beside the journal, so a restarted miner serves again what it committed to
 * (validators audit after the commit window; a miner that restarted in between must not lose the
 * dispute). Layout: `<dir>/r<round>/<kind>-<key>`, each file written to a temporary name and
 * renamed, so a crash never leaves a partial file under a content name. Files are not fsynced:
 * a process crash (kill -9) loses nothing, a power loss may lose the newest rounds' content
 * (the journal, which is fsynced, is what must never lie; content is re-checked against its key
 * by every fetcher).
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
      writeFileSync(tmp, bytes);
      renameSync(tmp, file);
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
