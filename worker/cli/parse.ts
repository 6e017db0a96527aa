// Value parsers of the CLI's flags. Each throws commander's InvalidArgumentError, which commander
// reports as one line (`error: option '--x <v>' argument 'y' is invalid. <reason>`) with exit 2.
import { InvalidArgumentError } from "commander";

/** A non-negative integer as bigint (ids, rounds, counts). */
export const uint =
  (what: string) =>
  (value: string): bigint => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer.`);
    return BigInt(value);
  };

/** An integer 0..65535 (stage indices). */
export const smallInt =
  (what: string) =>
  (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) > 0xffff) throw new InvalidArgumentError(`${what} must be an integer from 0 to 65535.`);
    return Number(value);
  };

/** An integer >= 1. */
export const positiveInt =
  (what: string) =>
  (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${what} must be a positive integer.`);
    return Number(value);
  };

/** Decimal ETH (up to 18 decimals) to wei; `allowZero` for amounts where 0 means "none". */
export const etherAmount =
  ({ allowZero = false } = {}) =>
  (value: string): bigint => {
    const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(value);
    const wei = match ? BigInt(match[1] as string) * 10n ** 18n + BigInt((match[2] ?? "").padEnd(18, "0")) : -1n;
    if (wei < 0n || (wei === 0n && !allowZero))
      throw new InvalidArgumentError(`must be a ${allowZero ? "non-negative" : "positive"} amount of ETH, e.g. 1.5.`);
    return wei;
  };

/** A positive amount of ETH in wei. */
export const ether = etherAmount();

/** A 0x address (any case). */
export const address = (value: string): `0x${string}` => {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new InvalidArgumentError("must be a 0x address.");
  return value as `0x${string}`;
};

/** 32 bytes of 0x hex. */
export const bytes32 = (value: string): `0x${string}` => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError("must be 32 bytes of 0x hex.");
  return value as `0x${string}`;
};

/** A finite number in [min, max]. */
export const numberIn =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a number from ${min} to ${max}.`);
    return n;
  };

/** Repeatable option: every value in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Repeatable bigint option. */
export const collectUint =
  (what: string) =>
  (value: string, previous: bigint[] = []): bigint[] => [...previous, uint(what)(value)];

/** `host:port` of a listening socket (port 0..65535; 0 = any free port; IPv6 as `[::1]:8080`). */
export function hostPort(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65_535) throw new InvalidArgumentError(`must be <host>:<port>, e.g. 0.0.0.0:8080.`);
  return { host: (match[1] ?? match[2]) as string, port };
}

/** An http(s) URL. */
export function httpUrl(value: string): string {
  if (!/^https?:\/\/[^\s]+$/.test(value)) throw new InvalidArgumentError("must be an http(s) URL.");
  return value;
}
