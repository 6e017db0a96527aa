/**
 * The tunnel ends' TCP and UDP leave their checksums to "hardware" (CHECKSUM_PARTIAL: veth
 * offloads them), so the inner packets the relay reads from its UDP socket carry unfinished
 * checksums, and the receiving end, which checks them in software after decapsulating, would
 * drop every data segment. The relay therefore finishes them: it recomputes the inner TCP or UDP
 * checksum of each IPv4 packet it forwards (correct whether or not the sender had filled it).
 * Without ethtool there is no way to switch the offload off; this needs nothing installed.
 */

const VXLAN_HEADER = 8;
const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const TCP = 6;
const UDP = 17;

/** One's complement sum of `bytes[from..to)` as big-endian 16-bit words, added to `sum` (not folded). */
function sum16(bytes: Uint8Array, from: number, to: number, sum: number): number {
  let s = sum;
  let i = from;
  for (; i + 1 < to; i += 2) s += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < to) s += (bytes[i] as number) << 8;
  return s;
}

const fold = (sum: number): number => {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
};

/**
 * Recomputes, in place, the TCP or UDP checksum of the IPv4 packet inside a VXLAN datagram;
 * returns false (and leaves the bytes alone) for anything else: ARP, IPv6, fragments, truncated
 * packets.
 *
 * @example
 * socket.on("message", (d) => { finishInnerChecksum(d); forward(d) })
 */
export function finishInnerChecksum(datagram: Uint8Array): boolean {
  const eth = VXLAN_HEADER;
  const ip = eth + ETHERNET_HEADER;
  if (datagram.length < ip + 20) return false;
  if ((((datagram[eth + 12] as number) << 8) | (datagram[eth + 13] as number)) !== ETHERTYPE_IPV4) return false;
  const versionIhl = datagram[ip] as number;
  const ihl = 4 * (versionIhl & 0x0f);
  if (versionIhl >> 4 !== 4 || ihl < 20) return false;
  const totalLength = ((datagram[ip + 2] as number) << 8) | (datagram[ip + 3] as number);
  const fragment = (((datagram[ip + 6] as number) & 0x3f) << 8) | (datagram[ip + 7] as number);
  if (fragment !== 0 || totalLength < ihl || ip + totalLength > datagram.length) return false;
  const protocol = datagram[ip + 9] as number;
  const l4 = ip + ihl;
  const l4Length = totalLength - ihl;
  const at = protocol === TCP ? l4 + 16 : protocol === UDP ? l4 + 6 : -1;
  if (at < 0 || at + 2 > ip + totalLength) return false;
  datagram[at] = 0;
  datagram[at + 1] = 0;
  // Pseudo-header: source and destination addresses, protocol, L4 length.
  let s = sum16(datagram, ip + 12, ip + 20, protocol + l4Length);
  s = sum16(datagram, l4, ip + totalLength, s);
  let checksum = ~fold(s) & 0xffff;
  if (protocol === UDP && checksum === 0) checksum = 0xffff; // 0 means "no checksum" in UDP
  datagram[at] = checksum >> 8;
  datagram[at + 1] = checksum & 0xff;
  return true;
}
