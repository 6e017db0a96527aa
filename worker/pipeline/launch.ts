import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { hostDialAddress, spawnLastFirst } from "../p2p/listenAddress.ts";
import type { StageProcessConfig } from "./config.ts";

/** One JSON line printed by a stage process. */
export type StageEvent = { event: string; stage?: number; [key: string]: unknown };

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const stageMainPath = join(repoRoot, "worker", "pipeline", "stageMain.ts");

/** A running stage process (`worker/pipeline/stageMain.ts`) and the events it printed so far. */
export class StageProcess {
  readonly events: StageEvent[] = [];
  readonly stderr: string[] = [];
  readonly exit: Promise<number | null>;
  private readonly child: ChildProcess;
  private listeners: (() => void)[] = [];

  /** `commandPrefix` runs the stage through another command, e.g. `["ip", "netns", "exec", ns]`. */
  constructor(config: Partial<StageProcessConfig>, commandPrefix: readonly string[] = []) {
    const argv = [...commandPrefix, process.execPath, "--import", "tsx", stageMainPath, "--config-json", JSON.stringify(config)];
    this.child = spawn(argv[0] as string, argv.slice(1), {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as StageEvent);
      } catch {
        this.stderr.push(`stdout (not JSON): ${line}`);
      }
      for (const l of this.listeners) l();
    });
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on("line", (line) => this.stderr.push(line));
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

  /** Resolves with the first event named `name` (or rejects on an `error` event, exit or timeout). */
  waitFor(name: string, timeoutMs = 60_000): Promise<StageEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`timeout waiting for ${name}; stderr: ${this.stderr.slice(-5).join("\n")}`)),
        timeoutMs,
      );
      const check = (): void => {
        const found = this.events.find((e) => e.event === name);
        if (found) return finish(undefined, found);
        const failed = this.events.find((e) => e.event === "error");
        if (failed && name !== "error") return finish(new Error(`stage failed: ${JSON.stringify(failed)}`));
        if (this.child.exitCode !== null)
          finish(new Error(`stage exited (${this.child.exitCode}) before ${name}; stderr: ${this.stderr.slice(-5).join("\n")}`));
      };
      const finish = (err?: Error, event?: StageEvent): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        if (err) reject(err);
        else resolve(event as StageEvent);
      };
      this.listeners.push(check);
      check();
    });
  }

  /** Every event named `name`, in order. */
  all(name: string): StageEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/**
 * Where each stage runs: a command prefix (e.g. `ip netns exec <ns>`) and the IPv4 host it
 * listens on, which its upstream neighbour dials. Default: this machine's loopback.
 */
export type StagePlacement = { commandPrefix(stage: number): readonly string[]; listenHost(stage: number): string };

const loopback: StagePlacement = { commandPrefix: () => [], listenHost: () => "127.0.0.1" };

/**
 * Starts one process per stage and waits until every stage printed `done`. Each stage listens on
 * a port the OS picks at bind time (`/ip4/127.0.0.1/tcp/0`); the stages start from the last to
 * the first, each one's `next` being the address the stage after it printed in `listening`.
 * (Choosing free ports up front and binding them later raced with other processes on the machine:
 * two test files at once saw EADDRINUSE.) `configFor(s)` supplies each stage's config; `stage`,
 * `listen` and `next` are filled in. `timeoutMs` bounds the whole run, start-up included.
 * `placement` puts stages elsewhere (their own network namespaces: scripts/lib/netem).
 */
export async function runStageProcesses(
  stageCount: number,
  configFor: (stage: number) => Partial<StageProcessConfig>,
  timeoutMs = 120_000,
  placement: StagePlacement = loopback,
): Promise<StageProcess[]> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const procs = await spawnLastFirst(
    stageCount,
    (s, next) =>
      new StageProcess(
        {
          dial: { attempts: 14, baseDelayMs: 100, maxDelayMs: 1000 },
          ...configFor(s),
          stage: s,
          listen: [`/ip4/${placement.listenHost(s)}/tcp/0`],
          ...(next !== undefined ? { next } : {}),
        },
        placement.commandPrefix(s),
      ),
    async (proc) => (await proc.waitFor("listening", left())).addrs,
    undefined,
    (addrs, s) => hostDialAddress(addrs, `stage ${s}`, placement.listenHost(s)),
  );
  try {
    await Promise.all(procs.map((p) => p.waitFor("done", left())));
    await Promise.all(procs.map((p) => p.exit));
    return procs;
  } catch (err) {
    for (const p of procs) p.kill();
    // The first stage to fail is often only the neighbour of the one that broke: say what each saw.
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${procs.map(lastWords).join("\n")}`, { cause: err });
  }
}

/** A stage's last event and stderr lines, for a failed run's error message. */
function lastWords(proc: StageProcess, stage: number): string {
  const last = proc.events.at(-1);
  return `stage ${stage}: last event ${JSON.stringify(last ? { ...last, records: undefined } : null)}; stderr: ${proc.stderr.slice(-3).join(" | ")}`;
}
