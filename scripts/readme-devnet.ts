/**
 * Regenerates the README's devnet table from a committed run.
 *
 *   npx tsx scripts/readme-devnet.ts --from runs/<time>   # copy that run's summary.json and plot.svg into docs/, then render
 *   npx tsx scripts/readme-devnet.ts                      # render from docs/devnet-summary.json as committed
 *
 * The copy records the machine (CPU, cores, Node) beside the run's own numbers.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type DevnetSummary, withDevnetTable } from "./lib/devnetReadme.ts";

const SUMMARY = "docs/devnet-summary.json";
const from = process.argv.indexOf("--from");
if (from >= 0) {
  const runDir = process.argv[from + 1];
  if (!runDir) throw new Error("--from needs a run directory (runs/<time>)");
  const summary = JSON.parse(readFileSync(path.join(runDir, "summary.json"), "utf8")) as DevnetSummary & {
    rpcUrl?: unknown;
    childPids?: unknown;
  };
  delete summary.rpcUrl;
  delete summary.childPids;
  summary.machine = {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    recordedAt: new Date().toISOString(),
  };
  writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
  copyFileSync(path.join(runDir, "plot.svg"), "docs/devnet-plot.svg");
}
const summary = JSON.parse(readFileSync(SUMMARY, "utf8")) as DevnetSummary;
writeFileSync("README.md", withDevnetTable(readFileSync("README.md", "utf8"), summary));
console.log(`README.md devnet table regenerated from ${SUMMARY} (${summary.runDir})`);
