import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

type Summary = {
  stages: number;
  miners: string[];
  childPids: number[];
  stepsPerRound: number;
  rounds: { round: string; loss: number; evalLoss: number; mints: { worker: string; units: string; workerTokens: string }[] }[];
  requests: { feeWei: string; holdersWei: string; operatorFeeWeiPerStage: string; protocolFeeWei: string; output: string }[];
  claims: { holder: string; claimableWei: string; claimedWei: string }[];
  tokenEthAfterClaims: string;
  slashes: { worker: string; round: string; slashedWei: string }[];
  cheater: { wired: boolean; address?: string; committedRounds: string[] };
  validator: {
    audits: { round: string; sampled: number; attested: number; disputes: string[]; voided: string[] }[];
    stages: { stage: number; address: string; rewards: { round: string; attestedItems: number; units: string; tokens: string; mintedBy: string }[] }[];
  };
  checks: { firstLoss: number; lastLoss: number; firstEvalLoss: number; lastEvalLoss: number; optimizerSteps: number; holdersShareWei: string; claimedWei: string; outputLetterShare: number; untrainedLetterShare: number };
  sampling: { temperature: number; topK: number; seed: string } | "greedy";
  untrained: { prompt: string; output: string };
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm start (short devnet)", () => {
  const runsDir = mkdtempSync(path.join(tmpdir(), "shardholder-devnet-"));
  afterAll(() => rmSync(runsDir, { recursive: true, force: true }));

  it("trains with falling loss, mints to miners, serves paid requests and pays holders exactly what the escrow gave them", async () => {
    const lines: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "scripts/devnet.ts", "--rounds", "4", "--steps-per-round", "8", "--requests", "2", "--json", "--runs-dir", runsDir], { stdio: ["ignore", "pipe", "inherit"] });
      child.stdout.on("data", (d: Buffer) => lines.push(...d.toString("utf8").split("\n").filter(Boolean)));
      child.on("exit", resolve);
    });
    expect(code, lines.slice(-5).join("\n")).toBe(0);
    const final = JSON.parse(lines[lines.length - 1] as string) as { summary: string; plot: string };
    const s = JSON.parse(readFileSync(final.summary, "utf8")) as Summary;
    expect(readFileSync(final.plot, "utf8")).toMatch(/^<svg[\s\S]*<path d="M/);

    // Training: every round of 8 optimizer steps finalized with one reward per miner; the loss
    // fell, and so did the held-out loss the pipeline measured after each round, well below the
    // untrained model's ln(95) = 4.55 nats.
    expect(s.rounds).toHaveLength(4);
    expect(s.stepsPerRound).toBe(8);
    expect(s.checks.optimizerSteps).toBe(32);
    expect(s.checks.lastLoss).toBeLessThan(s.checks.firstLoss * 0.9);
    for (const r of s.rounds) expect(r.evalLoss, `round ${r.round}`).toBeGreaterThan(0);
    expect(s.checks.lastEvalLoss).toBeLessThan(s.checks.firstEvalLoss - 0.1);
    expect(s.checks.lastEvalLoss).toBeLessThan(Math.log(95) - 1.2);
    for (const r of s.rounds) {
      expect(r.mints.map((m) => m.worker)).toEqual(s.miners);
      for (const m of r.mints) expect(BigInt(m.workerTokens)).toBeGreaterThan(0n);
    }

    // Inference: each fee split exactly; text delivered.
    expect(s.requests).toHaveLength(2);
    let holdersShare = 0n;
    for (const q of s.requests) {
      expect(BigInt(q.protocolFeeWei) + BigInt(q.operatorFeeWeiPerStage) * BigInt(s.stages) + BigInt(q.holdersWei)).toBe(BigInt(q.feeWei));
      expect(q.output.length).toBe(24);
      holdersShare += BigInt(q.holdersWei);
    }

    // Sampled text from the trained shards is English-like letters; the same sampling of the
    // untrained model is mostly symbols and capitals (printable ASCII drawn about evenly).
    expect(s.sampling).toMatchObject({ temperature: 0.8, topK: 8 });
    expect(s.untrained.output).toHaveLength(24);
    expect(s.checks.outputLetterShare).toBeGreaterThan(0.7);
    expect(s.checks.outputLetterShare).toBeGreaterThan(s.checks.untrainedLetterShare + 0.3);

    // Claims: each holder got what it could claim; claims plus the dust the token keeps equal the
    // escrowed holders' share to the wei, and the dust is bounded (rounding, never over-paid).
    const claimed = s.claims.reduce((a, c) => a + BigInt(c.claimedWei), 0n);
    for (const c of s.claims) expect(BigInt(c.claimedWei)).toBe(BigInt(c.claimableWei));
    expect(BigInt(s.checks.holdersShareWei)).toBe(holdersShare);
    expect(claimed + BigInt(s.tokenEthAfterClaims)).toBe(holdersShare);
    expect(BigInt(s.tokenEthAfterClaims)).toBeLessThan(holdersShare / 1_000_000n);

    // Verification: the cheating replica committed fabricated work in the first round, the
    // validator's dispute was upheld on-chain (WorkerSlashed) and no honest miner was slashed.
    const firstRound = s.rounds[0]?.round;
    expect(s.cheater.wired).toBe(true);
    expect(s.cheater.committedRounds).toEqual([firstRound]);
    expect(s.slashes.map((x) => [x.worker, x.round])).toEqual([[s.cheater.address, firstRound]]);
    expect(BigInt(s.slashes[0]?.slashedWei ?? 0)).toBeGreaterThan(0n);
    for (const m of s.miners) expect(s.slashes.some((x) => x.worker === m)).toBe(false);
    expect(s.validator.audits).toHaveLength(4);
    expect(s.validator.audits[0]?.disputes).toHaveLength(1);
    // The cheater replicates the honest stage-2 miner's links: a copy, voided by the validator before
    // its fraud is slashed; no honest commitment is ever voided.
    expect(s.validator.audits.flatMap((a) => a.voided)).toEqual([s.cheater.address]);
    // Honest items were re-executed and attested (not only the cheater's).
    expect(s.validator.audits.reduce((a, x) => a + x.attested, 0)).toBeGreaterThan(0);

    // Validators hold one stage: one auditor per stage, each attested its stage's honest items
    // on-chain and was minted its emission share for them (by itself or, for rounds final after it
    // stopped, by the devnet), and claimed its holder revenue too.
    expect(s.validator.stages.map((v) => v.stage)).toEqual(Array.from({ length: s.stages }, (_, i) => i));
    expect(new Set(s.validator.stages.map((v) => v.address)).size).toBe(s.stages);
    for (const { stage, address, rewards } of s.validator.stages) {
      expect(rewards.map((v) => v.round)).toEqual(s.rounds.map((r) => r.round));
      expect(rewards.reduce((a, v) => a + v.attestedItems, 0), `stage ${stage}`).toBeGreaterThan(0);
      for (const v of rewards) {
        expect(BigInt(v.tokens) > 0n, `stage ${stage} round ${v.round}`).toBe(v.attestedItems > 0);
        expect(v.mintedBy === "none").toBe(v.attestedItems === 0);
      }
      expect(s.claims.some((c) => c.holder === address && BigInt(c.claimedWei) > 0n), `stage ${stage}`).toBe(true);
    }

    // No stray process: every child the devnet started (miners, cheater, a validator per stage, serving) is gone.
    expect(s.childPids.length).toBe(3 * s.stages + 1);
    for (const pid of s.childPids) expect(alive(pid), `pid ${pid}`).toBe(false);
  }, 300_000);
});
