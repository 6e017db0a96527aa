// Numbers for people: ETH and token amounts rounded for reading (the exact wei stays in the
// element's title and data attributes), shares as percentages, addresses shortened.
import { formatUnits } from "viem";

/** Groups the integer part in thousands: "12345.5" -> "12,345.5". */
function group(decimal: string): string {
  const [int = "0", frac] = decimal.split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac ? `${grouped}.${frac}` : grouped;
}

/**
 * `amount` (in units of 10^-decimals) with `digits` fractional digits (fewer as the integer part
 * grows), trailing zeros dropped; below 1, at least three significant digits, so no amount but
 * zero ever reads "0".
 */
export function formatAmount(amount: bigint, decimals = 18, digits = 6): string {
  if (amount === 0n) return "0";
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const exact = formatUnits(abs, decimals);
  const [int = "0", frac = ""] = exact.split(".");
  // Keep `digits` fractional digits for small numbers, fewer as the integer part grows.
  const keep = int === "0" ? Math.max(digits, frac.search(/[1-9]/) + 3) : Math.max(2, digits - int.length);
  const cut = frac.slice(0, keep).replace(/0+$/, "");
  return `${negative ? "-" : ""}${group(cut ? `${int}.${cut}` : int)}`;
}

/** Wei as ETH for reading: "0.0125 ETH". */
export function formatEth(wei: bigint, digits = 6): string {
  return `${formatAmount(wei, 18, digits)} ETH`;
}

/** `part / whole` as a percentage with two decimals ("–" when `whole` is 0). */
export function formatShare(part: bigint, whole: bigint): string {
  if (whole === 0n) return "–";
  const basisPoints = (part * 1_000_000n) / whole; // hundredths of a basis point
  const pct = Number(basisPoints) / 10_000;
  if (part > 0n && pct < 0.01) return "< 0.01 %";
  return `${pct.toFixed(2)} %`;
}

/** Basis points as a percentage: 250 -> "2.5 %". */
export function formatBps(bps: number | bigint): string {
  return `${(Number(bps) / 100).toString()} %`;
}

/** 0x1234…abcd */
export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** Seconds as "1 h", "30 min", "45 s", "1 h 30 min". */
export function formatDuration(seconds: number | bigint): string {
  let s = Number(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["min", 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s} s`);
  return parts.slice(0, 2).join(" ");
}

/** A loss value for axis ticks and tables. */
export function formatLoss(loss: number): string {
  return loss >= 100 ? loss.toFixed(0) : loss >= 10 ? loss.toFixed(2) : loss.toFixed(3);
}

/**
 * Parses an ETH amount typed by a person ("0.01", "1", ".5") into wei; undefined when it is not a
 * non-negative decimal with at most 18 fractional digits.
 */
export function parseEthInput(text: string): bigint | undefined {
  const m = /^\s*(\d*)(?:\.(\d{0,18}))?\s*$/.exec(text);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) return undefined;
  return BigInt(m[1] || "0") * 10n ** 18n + BigInt((m[2] ?? "").padEnd(18, "0"));
}
