import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { open, readFile, rename } from "node:fs/promises";
import path from "node:path";
import { BaseError } from "../../sdk/errors/base.ts";
import { fsyncDir } from "../journal/journal.ts";

/** Name of the libp2p identity file inside a journal directory. */
export const PEER_KEY_FILE = "libp2p.key";

/** The identity file exists but does not hold a libp2p private key. */
export class PeerKeyFileError extends BaseError {
  constructor({ file, cause }: { file: string; cause?: Error | undefined }) {
    super(`${file} is not a libp2p private key.`, {
      name: "PeerKeyFileError",
      cause,
      metaMessages: [
        "Restore it from a backup, or delete it to start with a new peer id (neighbours and validators must then learn the new address).",
      ],
    });
  }
}

/**
 * The stage's libp2p private key, kept beside its journal so a restarted process has the same
 * peer id (its `/p2p/<id>` multiaddr stays valid for neighbours and validators). Created on first
 * use: Ed25519, protobuf-encoded, written to a temporary file, fsynced, renamed (mode 0600).
 *
 * @example
 * const privateKey = await loadOrCreatePeerKey(journalDir)
 * const node = await createPipeNode({ listen, privateKey })
 */
export async function loadOrCreatePeerKey(dir: string): Promise<PrivateKey> {
  const file = path.join(dir, PEER_KEY_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (err) {
      throw new PeerKeyFileError({ file, cause: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  const key = await generateKeyPair("Ed25519");
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(privateKeyToProtobuf(key));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await fsyncDir(dir);
  return key;
}
