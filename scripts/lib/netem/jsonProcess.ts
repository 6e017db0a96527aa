import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { NetemProcessError } from "./errors.ts";

/** One JSON line a helper printed. */
export type JsonEvent = { event: string; [key: string]: unknown };

/** The argv prefix that runs a command inside network namespace `ns`. */
export const inNamespace = (ns: string): string[] => ["ip", "netns", "exec", ns];

/**
 * A helper process that prints one JSON object per line (relay, probes) and reads commands on
 * stdin; closing its stdin ({@link JsonProcess.stop}) makes it exit. Waits are on its events.
 */
export class JsonProcess {
  readonly events: JsonEvent[] = [];
  readonly stderr: string[] = [];
  readonly exit: Promise<number | null>;
  readonly #child: ChildProcess;
  #listeners: (() => void)[] = [];

  constructor(argv: readonly string[]) {
    const [cmd, ...args] = argv as [string, ...string[]];
    this.#child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.#child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as JsonEvent);
      } catch {
        this.stderr.push(`stdout (not JSON): ${line}`);
      }
      this.#notify();
    });
    createInterface({ input: this.#child.stderr as NodeJS.ReadableStream }).on("line", (line) => this.stderr.push(line));
    this.exit = new Promise((resolve) =>
      this.#child.on("exit", (code) => {
        resolve(code);
        this.#notify();
      }),
    );
  }

  #notify(): void {
    for (const l of this.#listeners) l();
  }

  /** The first event named `name` after the first `skip` of them; rejects on exit first or after `timeoutMs`. */
  waitFor(name: string, timeoutMs: number, skip = 0): Promise<JsonEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.filter((e) => e.event === name)[skip];
        if (found) return done(undefined, found);
        if (this.#child.exitCode !== null || this.#child.signalCode !== null)
          done(new NetemProcessError(`helper exited before "${name}"`, this.stderr.slice(-8).join("\n")));
      };
      const timer = setTimeout(
        () => done(new NetemProcessError(`no "${name}" within ${timeoutMs} ms`, this.stderr.slice(-8).join("\n"))),
        timeoutMs,
      );
      const done = (err?: Error, event?: JsonEvent): void => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        if (err) reject(err);
        else resolve(event as JsonEvent);
      };
      this.#listeners.push(check);
      check();
    });
  }

  /** Sends one command line to the helper's stdin. */
  send(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
  }

  /** Asks it to exit (closes stdin) and waits; kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
  }
}
