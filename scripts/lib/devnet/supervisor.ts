// The devnet's process supervisor: what systemd `Restart=on-failure` or a container restart policy
// is to a real miner. A miner or validator that fails (crash, kill -9, a fatal error) is started
// again with the same command (same keys, ports, libp2p identity and journal), with a log line,
// instead of aborting the whole network: that is how operators are told to run them
// (worker/cli/README.md, "crashes, restarts and neighbours"), so it is what the devnet exercises.
import { type ChildEvent, JsonLineProcess } from "../../../worker/serve/launch.ts";

/** What the devnet needs of a child, supervised or not. */
export type ManagedProcess = {
  readonly name: string;
  readonly pid: number | undefined;
  readonly events: ChildEvent[];
  readonly stderr: string[];
  readonly running: boolean;
  /** Resolves with the final exit code (a supervised process: once stopped for good). */
  readonly exit: Promise<number | null>;
  waitUntil(name: string, match: (e: ChildEvent) => boolean, timeoutMs?: number): Promise<ChildEvent>;
  stop(graceMs?: number): Promise<void>;
  kill(): void;
};

/** One exit the supervisor saw and answered with a restart. */
export type RestartRecord = { name: string; at: number; code: number | null; pid: number | undefined; delayMs: number };

export type SuperviseOptions = {
  name: string;
  script: string;
  /** The command of each incarnation (0 = first start); usually the same array every time. */
  args: (incarnation: number) => string[];
  env?: NodeJS.ProcessEnv | undefined;
  /** Every event of every incarnation, in order. */
  onEvent?: ((e: ChildEvent, incarnation: number) => void) | undefined;
  /** Every incarnation's output is appended to this file too. */
  logFile?: string | undefined;
  /** Called before each restart (the devnet logs it). */
  onRestart?: ((r: RestartRecord) => void) | undefined;
  /** Restarts allowed within `windowMs` before the supervisor gives up (a crash loop); default 20 in 10 min. */
  maxRestarts?: number | undefined;
  windowMs?: number | undefined;
};

/** Delay before restart n of a burst: immediate at first, backing off for a process that keeps dying. */
export function restartDelayMs(recentRestarts: number): number {
  return recentRestarts <= 1 ? 250 : Math.min(10_000, 250 * 2 ** (recentRestarts - 1));
}

/** The supervisor gave up: the process died `restarts` times within the window. */
export class CrashLoopError extends Error {
  constructor(name: string, restarts: number, windowMs: number, detail: string) {
    super(`${name} exited ${restarts} times within ${Math.round(windowMs / 1000)} s; not restarting it again (${detail})`);
    this.name = "CrashLoopError";
  }
}

/**
 * A child process restarted with its command whenever it fails (any exit but 0), until {@link SupervisedProcess.stop}.
 * Events of every incarnation are kept in one list, so a caller waiting for "round 5 committed"
 * does not care which incarnation logged it; a wait fails only on its timeout or a crash loop.
 */
export class SupervisedProcess implements ManagedProcess {
  readonly events: ChildEvent[] = [];
  readonly restarts: RestartRecord[] = [];
  readonly pids: number[] = [];
  readonly exit: Promise<number | null>;
  private current: JsonLineProcess;
  private incarnation = 0;
  private stopping = false;
  private failure: Error | undefined;
  private listeners: (() => void)[] = [];
  private resolveExit: (code: number | null) => void = () => undefined;

  constructor(private readonly o: SuperviseOptions) {
    this.exit = new Promise((resolve) => (this.resolveExit = resolve));
    this.current = this.spawn();
  }

  get name(): string {
    return this.o.name;
  }

  get pid(): number | undefined {
    return this.current.pid;
  }

  get running(): boolean {
    return this.current.running;
  }

  get stderr(): string[] {
    return this.current.stderr;
  }

  /** The process of the current incarnation (the chaos bench SIGKILLs it). */
  get process(): JsonLineProcess {
    return this.current;
  }

  /** Set when the supervisor gave up restarting. */
  get gaveUp(): Error | undefined {
    return this.failure;
  }

  private spawn(): JsonLineProcess {
    const incarnation = this.incarnation;
    const proc = new JsonLineProcess(this.o.name, this.o.script, this.o.args(incarnation), {
      env: this.o.env,
      logFile: this.o.logFile,
      onEvent: (e) => {
        this.events.push(e);
        this.o.onEvent?.(e, incarnation);
        for (const l of this.listeners) l();
      },
    });
    if (proc.pid !== undefined) this.pids.push(proc.pid);
    void proc.exit.then((code) => this.onExit(proc, code));
    return proc;
  }

  private onExit(proc: JsonLineProcess, code: number | null): void {
    if (proc !== this.current) return;
    // Exit 0 is a process that finished its work (a validator past --until-round): like systemd's
    // Restart=on-failure, only failures and signals are restarted.
    if (this.stopping || code === 0) {
      this.resolveExit(code);
      return;
    }
    const windowMs = this.o.windowMs ?? 600_000;
    const recent = this.restarts.filter((r) => r.at > Date.now() - windowMs).length + 1;
    if (recent > (this.o.maxRestarts ?? 20)) {
      this.failure = new CrashLoopError(this.o.name, recent - 1, windowMs, proc.stderr.slice(-2).join(" | ") || `exit ${code}`);
      for (const l of this.listeners) l();
      this.resolveExit(code);
      return;
    }
    const delayMs = restartDelayMs(recent);
    const record: RestartRecord = { name: this.o.name, at: Date.now(), code, pid: proc.pid, delayMs };
    this.restarts.push(record);
    this.o.onRestart?.(record);
    setTimeout(() => {
      if (this.stopping) return this.resolveExit(code);
      this.incarnation++;
      this.current = this.spawn();
    }, delayMs);
  }

  /** Resolves with the first event (of any incarnation) `match` accepts; rejects on the timeout or a crash loop. */
  waitUntil(name: string, match: (e: ChildEvent) => boolean, timeoutMs = 60_000): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(
        () => finish(new Error(`${this.o.name}: timeout waiting for ${name}; stderr: ${this.current.stderr.slice(-5).join("\n")}`)),
        timeoutMs,
      );
      const check = (): void => {
        for (; seen < this.events.length; seen++) if (match(this.events[seen] as ChildEvent)) return finish(undefined, this.events[seen]);
        if (this.failure) finish(this.failure);
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

  /** SIGKILLs the current incarnation as a crash would: the supervisor restarts it (the chaos bench's kill -9). */
  crash(): void {
    this.current.kill();
  }

  /** Stops for good, by force: SIGKILL and no restart (a second Ctrl-C, a failed start-up). */
  kill(): void {
    this.stopping = true;
    this.current.kill();
  }

  /** Stops for good: no more restarts; SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    this.stopping = true;
    if (!this.current.running) {
      this.resolveExit(await this.current.exit);
      return;
    }
    await this.current.stop(graceMs);
    this.resolveExit(await this.current.exit);
  }
}
