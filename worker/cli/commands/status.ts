// `shardholder status`: a miner's stake, rounds, units, minted and mintable tokens, slashes, and
// the time left in each window. Read-only: no key needed with --worker.
import type { Command } from "commander";
import type { Address } from "viem";
import { connect } from "../context.ts";
import { UsageError } from "../errors.ts";
import { address, collectUint, positiveInt } from "../parse.ts";
import type { MinerStatus } from "../status.ts";

export type StatusOptions = { worker?: Address | undefined; model: bigint[]; last: number };

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("a miner's stake, rounds, units, pending and minted tokens, slashes, and the time left in each window")
    .option("--worker <address>", "the worker to show (default: the --key address)", address)
    .option("--model <id>", "only this model (repeatable; default: every model the worker committed to)", collectUint("--model"), [])
    .option("--last <n>", "newest rounds shown per model", positiveInt("--last"), 16)
    .action(async (options: StatusOptions, command: Command) => {
      const connected = await connect(command);
      const worker = options.worker ?? connected.config.account?.address;
      if (!worker) throw new UsageError("status needs --worker <address> (or --key, whose address it then shows).");
      const { readMinerStatus } = await import("../status.ts");
      const status = await readMinerStatus(connected.client, {
        deployments: connected.deployments,
        worker,
        modelIds: options.model,
        lastRounds: options.last,
      });
      if (connected.config.json) connected.logger.info(toJson(status), "status");
      else process.stdout.write(`${await toText(status)}\n`);
    });
}

const phaseText: Record<string, string> = {
  commit: "commit window",
  challenge: "challenge window",
  disputed: "disputed",
  finalizable: "finalizable",
  mintable: "mintable",
  minted: "minted",
  slashed: "slashed",
  voided: "voided",
  settled: "settled",
};

async function toText(s: MinerStatus): Promise<string> {
  const { formatDuration, formatTable, formatUnits18 } = await import("../output.ts");
  const left = (t: bigint) => formatDuration(t > s.now ? t - s.now : 0n);
  const lines = [
    `worker ${s.worker}: ${formatUnits18(s.stakeWei)} ETH staked${s.jailed ? " (jailed)" : ""}${s.unbonding ? " (unbonding)" : ""}; payout ${s.payout}; signing key ${s.signingKey}`,
  ];
  if (s.paymentsWei > 0n) lines.push(`ledger credits withdrawable: ${formatUnits18(s.paymentsWei)} ETH`);
  if (s.models.length === 0) lines.push("no commitments on any model yet");
  for (const m of s.models) {
    const token = m.model.token;
    const minimum = m.model.minWorkerStakeWei;
    lines.push(
      "",
      `model ${m.modelId}: round ${m.currentRound} in its commit window (${left(m.commitEndsAt)} left, then challenge window ${left(m.challengeEndsAt)})` +
        `; minimum stake ${formatUnits18(minimum)} ETH${s.stakeWei < minimum ? " (BELOW: commitments are refused)" : ""}`,
    );
    if (m.rounds.length) {
      const rows = [["round", "stages", "units", "state", "tokens"]];
      for (const r of m.rounds) {
        const state =
          r.windowEndsAt !== undefined
            ? `${phaseText[r.phase]} (${left(r.windowEndsAt)} left)`
            : r.phase === "disputed"
              ? `disputed (${r.openDisputes} open)`
              : (phaseText[r.phase] ?? r.phase);
        rows.push([
          r.round.toString(),
          r.stages.join(",") || "-",
          r.units.toString(),
          state,
          r.tokens !== undefined ? formatUnits18(r.tokens) : "-",
        ]);
      }
      lines.push(formatTable(rows, { rightAligned: [0, 2, 4] }));
    }
    const shown = m.rounds.length < m.roundCount ? ` (newest ${m.rounds.length} of ${m.roundCount} rounds; --last for more)` : "";
    lines.push(
      `minted ${formatUnits18(m.totals.mintedTokens)}, mintable ${formatUnits18(m.totals.mintableTokens)} tokens; ${m.totals.waitingRounds} round(s) waiting for a window or verdict${shown}`,
      `slashes: ${m.slashes.length ? m.slashes.map((x) => `round ${x.round} (${formatUnits18(x.slashedWei)} ETH)`).join(", ") : "none"}`,
      `payout holds ${formatUnits18(m.payoutTokens)} tokens (${token}), claimable revenue ${formatUnits18(m.payoutClaimableWei)} ETH`,
    );
  }
  return lines.join("\n");
}

function toJson(s: MinerStatus) {
  const ends = (t: bigint) => Number(t > s.now ? t - s.now : 0n);
  return {
    worker: s.worker,
    now: Number(s.now),
    stakeWei: s.stakeWei.toString(),
    payout: s.payout,
    signingKey: s.signingKey,
    jailed: s.jailed,
    unbonding: s.unbonding,
    paymentsWei: s.paymentsWei.toString(),
    models: s.models.map((m) => ({
      modelId: m.modelId.toString(),
      token: m.model.token,
      minWorkerStakeWei: m.model.minWorkerStakeWei.toString(),
      currentRound: m.currentRound.toString(),
      commitEndsInS: ends(m.commitEndsAt),
      challengeEndsInS: ends(m.challengeEndsAt),
      roundCount: m.roundCount,
      rounds: m.rounds.map((r) => ({
        round: r.round.toString(),
        stages: r.stages,
        units: r.units.toString(),
        phase: r.phase,
        ...(r.windowEndsAt !== undefined ? { endsInS: ends(r.windowEndsAt) } : {}),
        ...(r.tokens !== undefined ? { tokensWei: r.tokens.toString() } : {}),
        ...(r.openDisputes ? { openDisputes: r.openDisputes } : {}),
      })),
      mintedTokensWei: m.totals.mintedTokens.toString(),
      mintableTokensWei: m.totals.mintableTokens.toString(),
      waitingRounds: m.totals.waitingRounds,
      slashes: m.slashes.map((x) => ({
        round: x.round.toString(),
        slashedWei: x.slashedWei.toString(),
        unitsRemoved: x.unitsRemoved.toString(),
        txHash: x.transactionHash,
      })),
      payoutTokensWei: m.payoutTokens.toString(),
      payoutClaimableWei: m.payoutClaimableWei.toString(),
    })),
  };
}
