// Loss per round is measured off-chain by the last stage's miner while it trains; the devnet
// collects it into runs/<time>/summary.json and the app's server serves those reports at
// /api/loss. A report is shown for a model only when its chain id and token address match, and
// only for rounds the chain says are final.
import type { Address } from "viem";

export type LossReport = {
  source: string;
  chainId: number;
  modelId: string;
  token: string;
  rounds: { round: string; loss: number; evalLoss?: number }[];
};

/** A final round's training loss and, when the run measured it, its held-out loss. */
export type LossPoint = { round: bigint; loss: number; evalLoss?: number | undefined };

export type ModelLoss = { source: string; points: LossPoint[]; unreported: bigint[] };

export async function loadLossReports(origin = window.location.origin): Promise<LossReport[]> {
  const res = await fetch(new URL("/api/loss", origin), { cache: "no-store" });
  if (!res.ok) throw new Error(`The app's server answered /api/loss with HTTP ${res.status}.`);
  return ((await res.json()) as { reports: LossReport[] }).reports;
}

/**
 * The newest report naming this model (`reports` come newest first), as one point per final
 * round it covers; final rounds it does not cover are listed as `unreported`.
 */
export function lossOfModel(
  reports: readonly LossReport[],
  chainId: number,
  token: Address,
  finalRounds: readonly bigint[],
): ModelLoss | undefined {
  const report = reports.find((r) => r.chainId === chainId && r.token.toLowerCase() === token.toLowerCase());
  if (!report) return undefined;
  const byRound = new Map(report.rounds.map((r) => [BigInt(r.round), r]));
  const points: LossPoint[] = [];
  const unreported: bigint[] = [];
  for (const round of [...finalRounds].sort((a, b) => (a < b ? -1 : 1))) {
    const reported = byRound.get(round);
    if (reported === undefined) unreported.push(round);
    else points.push({ round, loss: reported.loss, evalLoss: reported.evalLoss });
  }
  return { source: report.source, points, unreported };
}
