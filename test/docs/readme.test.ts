// The README's numbers check themselves: its devnet table must be exactly what the committed run
// (docs/devnet-summary.json) renders to, so nobody can edit one without the other.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type DevnetSummary, renderDevnetTable, withDevnetTable } from "../../scripts/lib/devnetReadme.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (file: string) => readFileSync(path.join(root, file), "utf8");

describe("README devnet table", () => {
  const summary = JSON.parse(read("docs/devnet-summary.json")) as DevnetSummary;

  it("is generated from docs/devnet-summary.json (run `npx tsx scripts/readme-devnet.ts` after a new run)", () => {
    const readme = read("README.md");
    expect(withDevnetTable(readme, summary)).toBe(readme);
  });

  it("states what the run measured: one training and one held-out loss per round, the cheater slashed, no honest miner slashed", () => {
    const table = renderDevnetTable(summary);
    const row = (name: string) => (table.split("\n").find((l) => l.startsWith(`| ${name} |`)) ?? "").split("|")[2] ?? "";
    expect(row("training loss per round").match(/\d+\.\d{3}(?=,| \()/g)).toHaveLength(summary.rounds.length);
    expect(row("held-out loss after each round").match(/\d+\.\d{3}(?=,| \()/g)).toHaveLength(summary.rounds.length);
    expect(summary.checks.honestSlashed).toBe(0);
    expect(summary.checks.cheaterSlashed).toBe(true);
    expect(summary.checks.claimsPlusDustEqualHoldersShare).toBe(true);
  });
});
