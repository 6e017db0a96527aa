// Loss per round is not on-chain: the last stage's miner measures it while training and logs it
// with each `round committed`; the devnet collects those logs into runs/<time>/summary.json. The
// app serves such reports as they are, with their file name, and the page shows them only for the
// model (chain id + token address) they name and only for rounds final on-chain.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

/** One loss report: what `runs/<time>/summary.json` holds (other fields ignored), or a file of just these fields. */
export type LossReport = {
  /** Where the report was read from (shown under the chart). */
  source: string;
  chainId: number;
  modelId: string;
  token: string;
  /**
   * Mean training cross-entropy of each round, as the last stage's miner reported it, and the
   * held-out loss the pipeline measured after the round (runs of many steps report it).
   */
  rounds: { round: string; loss: number; evalLoss?: number }[];
  /** File modification time (ms): newest reports first. */
  writtenAt: number;
};

function parseReport(json: unknown, source: string, writtenAt: number): LossReport | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const { chainId, modelId, token, rounds } = json as Record<string, unknown>;
  if (typeof chainId !== "number" || typeof token !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(token)) return undefined;
  if ((typeof modelId !== "string" && typeof modelId !== "number") || !Array.isArray(rounds)) return undefined;
  const points = rounds.flatMap((r: unknown) => {
    const { round, loss, evalLoss } = (r ?? {}) as Record<string, unknown>;
    const ok = (typeof round === "string" || typeof round === "number") && typeof loss === "number" && Number.isFinite(loss);
    const held = typeof evalLoss === "number" && Number.isFinite(evalLoss) ? { evalLoss } : {};
    return ok ? [{ round: String(round), loss: loss, ...held }] : [];
  });
  return { source, chainId, modelId: String(modelId), token, rounds: points, writtenAt };
}

async function readReport(file: string, label: string): Promise<LossReport | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    return parseReport(JSON.parse(text), label, info.mtimeMs);
  } catch {
    return undefined; // unreadable or not JSON: not a report
  }
}

/**
 * Every report among `files` and `<runsDir>/<run>/summary.json`, newest first. Read on each call:
 * a devnet run writes its summary when it ends, possibly after the app started.
 */
export async function readLossReports({
  files = [],
  runsDir,
}: {
  files?: readonly string[];
  runsDir?: string | undefined;
}): Promise<LossReport[]> {
  const candidates = files.map((f) => ({ file: path.resolve(f), label: f }));
  if (runsDir) {
    const runs = await readdir(runsDir).catch(() => [] as string[]);
    for (const run of runs)
      candidates.push({ file: path.join(runsDir, run, "summary.json"), label: path.join(path.basename(runsDir), run, "summary.json") });
  }
  const reports = await Promise.all(candidates.map((c) => readReport(c.file, c.label)));
  return reports.filter((r): r is LossReport => r !== undefined).sort((a, b) => b.writtenAt - a.writtenAt);
}
