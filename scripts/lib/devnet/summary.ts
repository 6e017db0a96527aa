import { writeFile } from "node:fs/promises";
import path from "node:path";
import { formatEther } from "viem";
import { lineChartsSvg } from "../plot.ts";
import type { DevnetResult } from "./run.ts";

/** JSON-safe copy (bigints as decimal strings). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** The checks the summary states, computed from the measurements. */
export function summaryChecks(r: DevnetResult) {
  const losses = r.rounds.map((x) => x.loss).filter((l): l is number => l !== undefined);
  const first = losses[0] ?? NaN;
  const last = losses[losses.length - 1] ?? NaN;
  const evalLosses = r.rounds.map((x) => x.evalLoss).filter((l): l is number => l !== undefined);
  const holdersShareWei = r.requests.reduce((a, q) => a + q.holdersWei, 0n);
  const claimedWei = r.claims.reduce((a, c) => a + c.claimedWei, 0n);
  return {
    firstLoss: first,
    lastLoss: last,
    lossDropFraction: (first - last) / first,
    /** Held-out loss (the corpus' eval split) of the weights after the first and the last round. */
    firstEvalLoss: evalLosses[0] ?? NaN,
    lastEvalLoss: evalLosses[evalLosses.length - 1] ?? NaN,
    /** The model's optimizer steps over the run (rounds x steps per round). */
    optimizerSteps: r.rounds.length * r.stepsPerRound,
    feesWei: r.requests.reduce((a, q) => a + q.feeWei, 0n),
    holdersShareWei,
    claimedWei,
    claimsEqualHoldersShare: claimedWei === holdersShareWei,
    dustWei: holdersShareWei - claimedWei,
    /** The token's ETH after every holder claimed: the rounding dust it keeps (never over-paid). */
    tokenEthAfterClaimsWei: r.tokenEthAfterClaims,
    /** Claims plus the dust left in the token account for the escrowed holders' share exactly. */
    claimsPlusDustEqualHoldersShare: claimedWei + r.tokenEthAfterClaims === holdersShareWei,
    slashes: r.slashes.length,
    /** Slashes of the cheater (on-chain `WorkerSlashed`). */
    cheaterSlashed: r.cheater.address !== undefined && r.slashes.some((x) => x.worker === r.cheater.address),
    /** Stage miners and honest replicas slashed: must be 0. */
    honestSlashed: r.slashes.filter((x) => r.miners.includes(x.worker) || r.swarm?.replicas.some((y) => y.worker === x.worker)).length,
    /** Swarm mode: every replica's units equal the microbatches the routing stage kept from it, times the stage's units per microbatch. */
    replicasPaidPerItem: r.swarm ? swarmRows(r).every((x) => x.unitsEqualItems) : undefined,
    cheaterStakeLostWei: r.slashes.filter((x) => x.worker === r.cheater.address).reduce((a, x) => a + x.slashedWei, 0n),
    itemsReexecuted: r.validator.audits.reduce((a, x) => a + x.sampled, 0),
    itemsAttested: r.validator.audits.reduce((a, x) => a + x.attested, 0),
    disputes: r.validator.audits.reduce((a, x) => a + x.disputes.length, 0),
    /** Items the validators (one auditor per stage) attested on-chain (`ItemAttested`), and the emission share minted for them. */
    validatorItemsAttestedOnChain: r.validator.stages.flatMap((x) => x.rewards).reduce((a, v) => a + v.attestedItems, 0),
    validatorTokensMinted: r.validator.stages.flatMap((x) => x.rewards).reduce((a, v) => a + v.tokens, 0n),
    /** Share of served characters that are lowercase letters or spaces: ~28% (27 of 95) for a model that knows nothing of English, ~95% for English text. */
    outputLetterShare: letterShare(r.requests.map((q) => q.output).join("")),
    /** The same share for the untrained model's completion of the first prompt (the baseline). */
    untrainedLetterShare: letterShare(r.untrained.output),
  };
}

/** Share of `text`'s characters that are lowercase ASCII letters or spaces (NaN for empty text). */
export function letterShare(text: string): number {
  const chars = Array.from(text);
  return chars.filter((c) => /[a-z ]/.test(c)).length / chars.length;
}

/** One line naming the decoding and showing the first served completion. */
export function sampleLine(r: DevnetResult): string {
  const q = r.requests[0];
  const how = r.sampling === "greedy" ? "greedy" : `temperature ${r.sampling.temperature}, top-${r.sampling.topK}`;
  const before = `untrained: ${JSON.stringify(r.untrained.prompt)} -> ${JSON.stringify(r.untrained.output)}`;
  return q
    ? `sample completion (${how}): ${JSON.stringify(q.prompt)} -> ${JSON.stringify(q.output)} (${before})`
    : "no inference requested";
}

function minerRows(r: DevnetResult) {
  const extra = (r.swarm?.replicas ?? [])
    .filter((x) => !r.miners.includes(x.worker))
    .map((x) => ({ stage: r.swarm?.stage as number, miner: x.worker }));
  return [...r.miners.map((miner, stage) => ({ stage, miner })), ...extra].map(({ stage, miner }) => {
    const mints = r.rounds.flatMap((x) => x.mints.filter((y) => y.worker === miner));
    return {
      stage,
      miner,
      rounds: mints.length,
      units: mints.reduce((a, y) => a + y.units, 0n).toString(),
      tokens: formatEther(mints.reduce((a, y) => a + y.workerTokens, 0n)),
      slashed: r.slashes.filter((s) => s.worker === miner).length,
    };
  });
}

/**
 * The last stage's replicas: how each took part (from the start, crashed mid-round, joined later),
 * the rounds it trained, the microbatches the routing stage kept from it, and what it was paid.
 */
export function swarmRows(r: DevnetResult) {
  const swarm = r.swarm;
  if (!swarm) return [];
  const perItem = r.unitsPerMicrobatch[swarm.stage] ?? 0n;
  return swarm.replicas.map(({ worker, role }) => {
    const trained = swarm.rounds.filter((x) => (x.routed[worker] ?? 0) > 0 && x.roster.includes(worker));
    const items = trained.reduce((a, x) => a + (x.routed[worker] ?? 0), 0);
    const mints = r.rounds.flatMap((x) => x.mints.filter((y) => y.worker === worker));
    const units = mints.reduce((a, y) => a + y.units, 0n);
    return {
      replica: worker,
      role,
      event:
        role === "crashes mid-round" && swarm.crash
          ? `killed -9 in round ${swarm.crash.round}`
          : role === "joins later" && swarm.join
            ? `started during round ${swarm.join.round}`
            : "",
      roundsTrained: trained.map((x) => Number(x.round)).join(" "),
      itemsKept: items,
      units: units.toString(),
      unitsEqualItems: units === BigInt(items) * perItem,
      tokens: formatEther(mints.reduce((a, y) => a + y.workerTokens, 0n)),
      slashed: r.slashes.filter((s) => s.worker === worker).length,
    };
  });
}

function gasRows(r: DevnetResult) {
  return Object.entries(r.gas).map(([operation, list]) => ({
    operation,
    count: list.length,
    meanGas: Number(list.reduce((a, g) => a + g, 0n) / BigInt(Math.max(1, list.length))),
    maxGas: Number(list.reduce((a, g) => (g > a ? g : a), 0n)),
  }));
}

/** Prints the human summary tables. */
export function printSummary(r: DevnetResult, wallMs: number): void {
  const c = summaryChecks(r);
  console.log(
    `\n=== Shardholder devnet summary (chain ${r.chainId}, model ${r.modelId}, ${r.stages} stages, ${(wallMs / 1000).toFixed(1)} s) ===`,
  );
  console.log(`\nLoss per round (${r.stepsPerRound} optimizer steps a round; eval: held-out text after the round)`);
  console.table(
    r.rounds.map((x) => ({
      round: Number(x.round),
      trainLoss: x.loss?.toFixed(4),
      evalLoss: x.evalLoss?.toFixed(4),
      roundWallMs: Math.round(x.wallMs),
      finalizedBy: x.finalizedBy === "other" ? "validator" : "devnet",
    })),
  );
  console.log(
    `train loss ${c.firstLoss.toFixed(3)} -> ${c.lastLoss.toFixed(3)} (${(c.lossDropFraction * 100).toFixed(1)}% lower); eval loss after round 0 ${c.firstEvalLoss.toFixed(3)} -> ${c.lastEvalLoss.toFixed(3)} after ${c.optimizerSteps} steps`,
  );
  console.log("\nUnits and tokens per miner");
  console.table(minerRows(r));
  if (r.swarm) {
    console.log(
      `\nSwarm: stage ${r.swarm.stage}'s replicas (stage ${r.swarm.fanOutStage} routes each round's microbatches across them; units = microbatches kept x ${r.unitsPerMicrobatch[r.swarm.stage]})`,
    );
    console.table(swarmRows(r));
  }
  console.log("\nVerification");
  console.table(
    r.validator.audits.map((a) => ({
      round: Number(a.round),
      reexecuted: a.sampled,
      attested: a.attested,
      disputes: a.disputes.map(String).join(" "),
      voided: a.voided.length,
      computeMs: a.computeMs,
    })),
  );
  console.log("\nValidators (one per stage): on-chain attestations and emission share");
  console.table(
    r.validator.stages.flatMap((x) =>
      x.rewards.map((v) => ({
        stage: x.stage,
        validator: x.address,
        round: Number(v.round),
        itemsAttested: v.attestedItems,
        units: v.units.toString(),
        tokens: formatEther(v.tokens),
        mintedBy: v.mintedBy,
      })),
    ),
  );
  console.log(
    `validator: ${c.validatorItemsAttestedOnChain} items attested on-chain, ${formatEther(c.validatorTokensMinted)} tokens minted`,
  );
  console.table(
    r.slashes.map((x) => ({
      worker: x.worker,
      role:
        x.worker === r.cheater.address
          ? "cheater"
          : r.miners.includes(x.worker)
            ? "stage miner"
            : r.swarm?.replicas.some((y) => y.worker === x.worker)
              ? "replica"
              : "other",
      round: Number(x.round),
      slashedEth: formatEther(x.slashedWei),
    })),
  );
  console.log(
    `slashes: ${c.slashes} (cheater ${r.cheater.address ?? "none"}: ${r.cheater.note}; ${c.cheaterSlashed ? `slashed ${formatEther(c.cheaterStakeLostWei)} ETH` : "not slashed"}; honest miners slashed: ${c.honestSlashed})`,
  );
  console.log("\nInference requests");
  console.table(
    r.requests.map((q) => ({
      id: Number(q.requestId),
      prompt: q.prompt,
      output: q.output,
      feeEth: formatEther(q.feeWei),
      holdersEth: formatEther(q.holdersWei),
      latencyMs: Math.round(q.latencyMs),
    })),
  );
  console.log(`fees ${formatEther(c.feesWei)} ETH; holders' share ${formatEther(c.holdersShareWei)} ETH`);
  console.log(sampleLine(r));
  console.log(
    `lowercase letters or spaces: ${(c.outputLetterShare * 100).toFixed(0)}% of served characters (untrained model: ${(c.untrainedLetterShare * 100).toFixed(0)}%)`,
  );
  console.log("\nRevenue per holder (claims)");
  console.table(
    r.claims.map((x) => ({
      holder: x.holder,
      tokens: formatEther(r.tokenBalances.find((b) => b.holder === x.holder)?.balance ?? 0n),
      claimedEth: formatEther(x.claimedWei),
      claimedWei: x.claimedWei.toString(),
    })),
  );
  console.log(
    `claimed ${c.claimedWei} wei of ${c.holdersShareWei} wei escrowed for holders (${c.claimsEqualHoldersShare ? "equal to the wei" : `${c.dustWei} wei of rounding dust stays in the token`}); claims + token balance ${c.claimsPlusDustEqualHoldersShare ? "==" : "!="} holders' share`,
  );
  console.log("\nGas per operation");
  console.table(gasRows(r));
}

/** Writes `summary.json` and `plot.svg` into the run's directory; returns their paths. */
export async function writeRunFiles(r: DevnetResult, wallMs: number): Promise<{ json: string; svg: string }> {
  const json = path.join(r.runDir, "summary.json");
  const svg = path.join(r.runDir, "plot.svg");
  await writeFile(
    json,
    `${toJson({ ...r, wallMs: Math.round(wallMs), checks: summaryChecks(r), minerRows: minerRows(r), swarmRows: swarmRows(r), gasRows: gasRows(r) })}\n`,
  );
  let cumulative = 0n;
  const revenue: [number, number][] = [
    [0, 0],
    ...r.requests.map((q, i): [number, number] => [i + 1, Number(formatEther((cumulative += q.holdersWei)))]),
  ];
  await writeFile(
    svg,
    lineChartsSvg([
      {
        title: "Loss per round",
        xLabel: "round",
        yLabel: "mean cross-entropy (nats)",
        label: "training (mean over the round)",
        points: r.rounds.filter((x) => x.loss !== undefined).map((x) => [Number(x.round), x.loss as number]),
        color: "#1f77b4",
        overlay: {
          label: "held-out (after the round)",
          points: r.rounds.filter((x) => x.evalLoss !== undefined).map((x) => [Number(x.round), x.evalLoss as number]),
          color: "#ff7f0e",
        },
      },
      {
        title: "Cumulative holder revenue",
        xLabel: "inference requests fulfilled",
        yLabel: "ETH to token holders",
        points: revenue,
        color: "#2ca02c",
      },
    ]),
  );
  return { json, svg };
}
