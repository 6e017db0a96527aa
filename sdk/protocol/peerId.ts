import type { Hex } from "viem";

const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/**
 * The text form of a libp2p peer id (its multihash bytes in Bitcoin base58), as libp2p prints it
 * and as a multiaddr's `/p2p/<id>` names it. The stage directory stores the bytes; dialers need this.
 *
 * @example
 * const address = `${record.multiaddrs[0]}/p2p/${peerIdText(record.peerId)}`
 */
export function peerIdText(multihash: Hex): string {
  let n = BigInt(multihash);
  let out = "";
  while (n > 0n) {
    out = (BASE58_ALPHABET[Number(n % 58n)] as string) + out;
    n /= 58n;
  }
  for (let i = 2; i < multihash.length && multihash.slice(i, i + 2) === "00"; i += 2) out = `1${out}`;
  return out;
}
