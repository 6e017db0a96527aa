import { Writable } from "node:stream";
import cliProgress from "cli-progress";
import { pino, type Logger } from "pino";

/**
 * The CLI's logger. `--json`: pino's structured lines on stdout. Otherwise one readable line
 * per record on stderr (the same pino records, formatted), so stdout stays free for results.
 */
export function createLogger({ json }: { json: boolean }): Logger {
  if (json)
    return pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
  const human = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const {
        level,
        msg,
        time: _time,
        ...rest
      } = JSON.parse(chunk.toString("utf8")) as Record<string, string | number | boolean | null | object> & { level: number; msg?: string };
      const prefix = level >= 50 ? "error: " : level >= 40 ? "warning: " : "";
      const fields = Object.entries(rest)
        .filter(([k]) => k !== "err")
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(" ");
      process.stderr.write(`${prefix}${msg ?? ""}${fields ? ` (${fields})` : ""}\n`);
      done();
    },
  });
  return pino({ base: null, timestamp: false }, human);
}

/** `value` with every bigint written as its decimal string, for a log record (pino cannot write bigints). */
export function loggable(value: object): object {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as object;
}

/** One progress update of a training or serving loop. */
export type ProgressUpdate = {
  step: number;
  loss?: number | undefined;
  tokensPerSec?: number | undefined;
  bytesOnWire?: number | undefined;
};

/** A progress display: a bar on a terminal, log records otherwise (pipes, `--json`). */
export type Progress = { update(u: ProgressUpdate): void; stop(): void };

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/**
 * Shows step, loss, tokens/s and bytes on the wire: a cli-progress bar when stdout is a TTY and
 * logs are not JSON, else one `progress` log record per update.
 *
 * @example
 * const progress = createProgress({ total: steps, logger, json: false })
 * progress.update({ step: 1, loss: 3.2, tokensPerSec: 5400, bytesOnWire: 1 << 20 })
 */
export function createProgress({
  total,
  logger,
  json,
  tty = Boolean(process.stdout.isTTY),
}: {
  total: number;
  logger: Logger;
  json: boolean;
  tty?: boolean;
}): Progress {
  if (json || !tty) {
    return {
      update: (u) =>
        logger.info({ step: u.step, total, loss: u.loss, tokensPerSec: u.tokensPerSec, bytesOnWire: u.bytesOnWire }, "progress"),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: "step {value}/{total} [{bar}] loss {loss} | {tps} tok/s | wire {wire}", hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { loss: "-", tps: "-", wire: "0 B" });
  return {
    update: (u) =>
      bar.update(u.step, {
        loss: u.loss === undefined ? "-" : u.loss.toFixed(4),
        tps: u.tokensPerSec === undefined ? "-" : Math.round(u.tokensPerSec).toString(),
        wire: formatBytes(u.bytesOnWire ?? 0),
      }),
    stop: () => bar.stop(),
  };
}

/** 3725 -> "1h 2m"; 0 -> "0s" (the SDK's, which its finalizeRound error uses too). */
export { durationText as formatDuration } from "../../sdk/actions/internal/duration.ts";

/** Rows as aligned columns (the first row is the header), for results printed on stdout. */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>, { rightAligned = [] as number[] } = {}): string {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows
    .map((row) =>
      row
        .map((cell, i) => (rightAligned.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Wei as decimal with at most `digits` fraction digits, rounded down ("0.000044"); never "0" for a nonzero amount. */
export function formatUnits18(wei: bigint, digits = 6): string {
  if (wei < 0n) return `-${formatUnits18(-wei, digits)}`;
  const whole = wei / 10n ** 18n;
  const fraction = (wei % 10n ** 18n).toString().padStart(18, "0");
  const shown = fraction.slice(0, digits).replace(/0+$/, "");
  if (wei > 0n && whole === 0n && !shown) {
    const firstDigit = fraction.search(/[1-9]/);
    return `0.${fraction.slice(0, firstDigit + 2).replace(/0+$/, "")}`;
  }
  return `${whole}${shown ? `.${shown}` : ""}`;
}
