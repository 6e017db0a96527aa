import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { spawnLastFirst } from "../p2p/listenAddress.ts";
import type { ServeStageConfig } from "./stageServer.ts";

/** One JSON line printed by a child process. */
export type ChildEvent = { event: string; [key: string]: unknown };

/** What a failed child said: its short message, its log message, or else the whole event. */
function describeEvent(e: ChildEvent): string {
  const said = e.shortMessage ?? e.msg;
  return typeof said === "string" ? said : JSON.stringify(e);
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A child process (a tsx entry point) that prints one JSON event per line. Keeps every event,
 * lets callers await one by name, and is killed with its whole process group on `kill()`.
 */
export class JsonLineProcess {
  readonly events: ChildEvent[] = [];
  readonly stderr: string[] = [];
  readonly exit: Promise<number | null>;
  private readonly child: ChildProcess;
  private listeners: (() => void)[] = [];

  /** `logFile`: every stdout and stderr line is also appended there (stderr lines prefixed `stderr: `). */
  constructor(
    readonly name: string,
    script: string,
    args: string[],
    options: { onEvent?: ((e: ChildEvent) => void) | undefined; env?: NodeJS.ProcessEnv | undefined; logFile?: string | undefined } = {},
  ) {
    const { onEvent } = options;
    // Secrets (keys) go through `env`, never argv, so `ps` does not show them.
    this.child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, script), ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env },
    });
    const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
    log?.on("error", () => undefined); // a log that cannot be written never stops the child
    let open = 2; // the log ends once both streams are read to their end
    const closed = () => --open === 0 && log?.end();
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream })
      .on("close", closed)
      .on("line", (line) => {
        log?.write(`${line}\n`);
        let event: ChildEvent;
        try {
          event = JSON.parse(line) as ChildEvent;
        } catch {
          this.stderr.push(`stdout: ${line}`);
          return;
        }
        this.events.push(event);
        onEvent?.(event);
        for (const l of this.listeners) l();
      });
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream })
      .on("close", closed)
      .on("line", (line) => {
        log?.write(`stderr: ${line}\n`);
        this.stderr.push(line);
        if (this.stderr.length > 200) this.stderr.shift();
      });
    this.exit = new Promise((resolve) =>
      this.child.on("exit", (code) => {
        resolve(code);
        for (const l of this.listeners) l();
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first event matching; rejects on an `error` event, an exit, or the timeout. */
  waitFor(name: string, timeoutMs = 60_000): Promise<ChildEvent> {
    return this.waitUntil(name, (e) => e.event === name, timeoutMs);
  }

  /**
   * Resolves with the first event `match` accepts; rejects on a failure event (`event: "error"`
   * or a pino record of level >= 50), an exit, or the timeout.
   */
  waitUntil(name: string, match: (e: ChildEvent) => boolean, timeoutMs = 60_000): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: timeout waiting for ${name}; stderr: ${this.stderr.slice(-5).join("\n")}`)),
        timeoutMs,
      );
      const check = (): void => {
        const found = this.events.find(match);
        if (found) return finish(undefined, found);
        const failed = this.events.find((e) => e.event === "error" || (typeof e.level === "number" && e.level >= 50));
        if (failed && name !== "error") return finish(new Error(`${this.name} failed: ${describeEvent(failed)}`));
        if (!this.running)
          finish(
            new Error(
              `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${name}; stderr: ${this.stderr.slice(-5).join("\n")}`,
            ),
          );
      };
      const finish = (err?: Error, event?: ChildEvent): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        if (err) reject(err);
        else resolve(event as ChildEvent);
      };
      this.listeners.push(check);
      check();
    });
  }

  all(name: string): ChildEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  /** Asks politely (SIGTERM), then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.running && this.child.kill("SIGKILL"), graceMs);
    await this.exit;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}

/**
 * Starts one serving process per stage (each with its operator's `key`, passed through the
 * environment) and resolves when stage 0 reports its content store
 * `ready`. Each stage listens on a port the OS picks at bind time; the stages start from the last
 * to the first, each one's `next` being the address the stage after it printed in `listening`
 * (pre-chosen ports could be taken by another process before the stage bound them).
 * `timeoutMs` bounds the whole start-up. Once `signal` aborts no further stage is spawned (a
 * caller stopping its children on Ctrl-C would otherwise miss one spawned after it looked).
 */
export async function startServingPipeline(
  stageCount: number,
  configFor: (stage: number) => Omit<ServeStageConfig, "stage" | "listen" | "next">,
  timeoutMs = 90_000,
  signal?: AbortSignal,
): Promise<{ stages: JsonLineProcess[]; storeUrl: string }> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const stages = await spawnLastFirst(
    stageCount,
    (s, next) => {
      const { key, ...rest } = configFor(s);
      const config: ServeStageConfig = {
        ...rest,
        stage: s,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        ...(next !== undefined ? { next } : {}),
      };
      // The operator's key goes through the environment, never argv.
      return new JsonLineProcess(`serve stage ${s}`, "worker/serve/serveMain.ts", ["--config-json", JSON.stringify(config)], {
        env: key ? { SHARDHOLDER_SERVE_KEY: key } : {},
      });
    },
    async (proc) => (await proc.waitFor("listening", left())).addrs,
    signal,
  );
  try {
    const ready = await (stages[0] as JsonLineProcess).waitFor("ready", left());
    return { stages, storeUrl: String(ready.storeUrl) };
  } catch (err) {
    for (const p of stages) p.kill();
    throw err;
  }
}
