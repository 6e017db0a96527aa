import { readFileSync } from "node:fs";

/**
 * Counters of `/proc/net/snmp` for one protocol line (`Tcp`, `Udp`...) in the namespace of the
 * calling process: the file is per network namespace, so each stage's TCP retransmissions and
 * each socket's receive-buffer overflows are its own.
 *
 * @example
 * snmpCounters("Udp").RcvbufErrors
 */
export function snmpCounters(protocol: string, text = readFileSync("/proc/net/snmp", "utf8")): Record<string, number> {
  const lines = text.split("\n").filter((l) => l.startsWith(`${protocol}:`));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/).slice(1)) as [string[] | undefined, string[] | undefined];
  const out: Record<string, number> = {};
  names?.forEach((n, i) => {
    out[n] = Number(values?.[i]);
  });
  return out;
}
