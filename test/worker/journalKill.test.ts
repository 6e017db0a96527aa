import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Address, getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { encodeLine, JOURNAL_FILE, loadCheckpoint, readJournalFile, replay } from "../../worker/journal/index.ts";
import { serveWitness, WitnessChain } from "./journalWitness.ts";
import { runWorkerLoop } from "./journalWorkerLoop.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const childFile = path.join(here, "journalKill.child.ts");
const config = { rounds: 8, stepsPerRound: 2, microbatchesPerStep: 3, batchSize: 2, elements: 5000 };
const KILLS = Number(process.env.KILL_COUNT ?? 6);
const ledgerAddress = getAddress("0x000000000000000000000000000000000000c0de");

// Seeded so a failing schedule can be replayed: KILL_SEED=<n> npx vitest run ...
const seed = Number(process.env.KILL_SEED ?? Date.now() % 100_000);
let rngState = seed;
const random = () => {
  rngState = (rngState * 1_103_515_245 + 12_345) % 2_147_483_648;
  return rngState / 2_147_483_648;
};

type Run = { acks: Array<{ seq: number; type: string }>; opened?: { existing: number; torn: number }; done: boolean; killed: boolean };

type KillPlan = { afterAcks: number; delayMs: number };

function runChild(args: string[], kill: KillPlan | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", childFile, ...args], {
      env: { ...process.env, LOOP_CONFIG: JSON.stringify(config) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const run: Run = { acks: [], done: false, killed: false };
    let buffer = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout?.on("data", (d: Buffer) => {
      buffer += d.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const [kind, a, b] = buffer.slice(0, nl).split(" ");
        buffer = buffer.slice(nl + 1);
        if (kind === "ack") {
          run.acks.push({ seq: Number(a), type: String(b) });
          // Arm the kill after a few fsynced records, so every kill lands in real work however fast
          // the machine is; the extra delay lets it land between records as well as at them.
          if (kill !== undefined && !timer && run.acks.length >= kill.afterAcks)
            timer = setTimeout(() => {
              run.killed = child.kill("SIGKILL");
            }, kill.delayMs);
        } else if (kind === "open") run.opened = { existing: Number(a), torn: Number(b) };
        else if (kind === "done") run.done = true;
      }
    });
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === "SIGKILL" || code === 0) resolve(run);
      else reject(new Error(`worker child exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("journal under kill -9", () => {
  it(`resumes after ${KILLS} random kills with no lost record, no double submission, torn tails ignored (seed ${seed})`, async () => {
    const signingKey = generatePrivateKey();
    const signer = privateKeyToAccount(signingKey);
    const worker: Address = privateKeyToAccount(generatePrivateKey()).address;
    const keys = new Map([[worker.toLowerCase(), signer.address]]);

    // Reference: the same loop, in-process, never interrupted.
    const refDir = await mkdtemp(path.join(tmpdir(), "journal-ref-"));
    dirs.push(refDir);
    const refChain = new WitnessChain(ledgerAddress, 31337, keys);
    await runWorkerLoop({ dir: refDir, ledger: refChain.ledgerFor(worker), ledgerAddress, chainId: 31337, signer, worker, modelId: 1n, stage: 1, ...config });
    expect(refChain.stored.size).toBe(config.rounds);

    const chain = new WitnessChain(ledgerAddress, 31337, keys);
    const server = await serveWitness(chain, 25);
    const dir = await mkdtemp(path.join(tmpdir(), "journal-kill-"));
    dirs.push(dir);
    const file = path.join(dir, JOURNAL_FILE);
    const args = [dir, server.url, ledgerAddress, signingKey, worker, worker];

    let kills = 0;
    let tornInjected = 0;
    let expectTorn = 0;
    let last: Run | undefined;
    const killedAfter = new Map<string, number>();
    for (let attempt = 0; attempt < KILLS + 5; attempt++) {
      const kill = kills < KILLS ? { afterAcks: 1 + Math.floor(random() * 4), delayMs: Math.floor(random() * 30) } : undefined;
      const run = await runChild(args, kill);
      if (run.opened && expectTorn) expect(run.opened.torn).toBe(expectTorn);
      expectTorn = 0;
      const parsed = await readJournalFile(file);
      // Every record whose fsync the child acknowledged is there, with the same type.
      for (const ack of run.acks) expect(parsed.records[ack.seq]?.type).toBe(ack.type);
      expect(chain.duplicateAttempts).toEqual([]);
      last = run;
      if (run.done) break;
      kills++;
      const lastType = run.acks.at(-1)?.type ?? "startup";
      killedAfter.set(lastType, (killedAfter.get(lastType) ?? 0) + 1);
      // Every third kill, also tear the tail the way power loss can: a partial or garbled line.
      if (kills % 3 === 0) {
        const line = encodeLine(parsed.records.length, { type: "resume", pid: 1 });
        const torn = kills % 2 ? line.slice(0, 1 + Math.floor(random() * (line.length - 2))) : `${line.slice(0, -3)}xx\n`;
        await appendFile(file, torn);
        expectTorn = Buffer.byteLength(torn);
        tornInjected++;
      }
    }
    await server.close();
    expect(last?.done).toBe(true);
    expect(kills).toBe(KILLS);
    expect(tornInjected).toBeGreaterThan(0);

    const final = await readJournalFile(file);
    expect(final.tornBytes).toBe(0);
    const state = replay(final.records);
    expect(state.restarts).toBe(kills);
    expect(state.doubleSubmissions).toEqual([]);
    expect(state.inDoubt).toEqual([]);
    for (const c of state.commitments.values()) expect(["confirmed", "foundOnChain"]).toContain(c.status);
    // No transaction reverted (a duplicate would), each commitment stored once, all of them.
    expect(chain.duplicateAttempts).toEqual([]);
    expect(chain.badSignatures).toEqual([]);
    expect(chain.txs.every((t) => t.status === "success")).toBe(true);
    expect(chain.txs.flatMap((t) => t.keys).length).toBe(config.rounds);
    // No lost or altered work: identical commitments to the uninterrupted run.
    expect([...chain.stored.entries()].sort()).toEqual([...refChain.stored.entries()].sort());
    if (!state.lastCheckpoint) throw new Error("no checkpoint");
    await expect(loadCheckpoint(dir, state.lastCheckpoint)).resolves.toHaveLength(config.elements);
    console.log(`kill -9 test seed ${seed}: ${kills} kills, ${tornInjected} torn tails, ${final.records.length} records, ${chain.txs.length} txs, ${state.discardedItems} items recomputed; killed after ${JSON.stringify(Object.fromEntries(killedAfter))}`);
  });
});
