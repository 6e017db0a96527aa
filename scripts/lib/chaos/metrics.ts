// What the chaos bench reads back from the chain for a span of blocks: the honest miners'
// commitments (work lost = a round and stage nobody committed), double submissions (a key
// accepted twice, or a miner's ledger transaction that reverted, as a resend of a landed batch
// would), and slashes or availability demands of honest parties.
import { type Address, getAbiItem, type PublicClient, toFunctionSelector } from "viem";
import { computeLedgerAbi } from "../../../sdk/abi/computeLedger.ts";
import { getAvailabilityChallenges } from "../../../sdk/actions/disputes/getAvailabilityChallenges.ts";
import { getSlashes } from "../../../sdk/actions/disputes/getSlashes.ts";
import { getAcceptedCommitments } from "../../../sdk/actions/miner/getAcceptedCommitments.ts";
import { getCommitment } from "../../../sdk/actions/miner/getCommitment.ts";
import type { Deployments } from "../../../sdk/deployments/types.ts";

/** Selector of `submitCommitments`: only commitment batches count as submissions (a reverted `revealItem` is not one). */
const SUBMIT_SELECTOR = toFunctionSelector(getAbiItem({ abi: computeLedgerAbi, name: "submitCommitments" }));

export type ChainSpan = { fromBlock: bigint; toBlock: bigint };

export type SpanFacts = {
  /** `round:stage` of honest work with no stored commitment (the rounds of the span that were due). */
  workLost: string[];
  /** Keys accepted more than once, plus reverted ledger transactions sent by honest miners. */
  doubleSubmissions: number;
  revertedMinerTxs: number;
  /**
   * Slashes of honest miners in the span (`WorkerSlashed`: every slash emits it once, an
   * unanswered availability demand included; counting `AvailabilitySlashed` too would count such a
   * slash twice).
   */
  honestSlashes: number;
  /** On-chain availability demands against honest miners in the span (a validator could not fetch in time). */
  availabilityDemands: number;
};

/** Honest commitments of `rounds` that the chain does not store, as `round:stage`. */
export async function missingWork(
  client: PublicClient,
  deployments: Deployments,
  modelId: bigint,
  rounds: bigint[],
  miners: Address[],
): Promise<string[]> {
  const lost: string[] = [];
  for (const round of rounds)
    for (const [stage, worker] of miners.entries())
      if (!(await getCommitment(client, { deployments, modelId, round, stage, worker })).found) lost.push(`${round}:${stage}`);
  return lost;
}

/** Facts of one span of blocks (see {@link SpanFacts}); `rounds` are the rounds the span had to commit. */
export async function spanFacts(p: {
  client: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  span: ChainSpan;
  rounds: bigint[];
  miners: Address[];
}): Promise<SpanFacts> {
  const { client, deployments, modelId, span } = p;
  const address = deployments.contracts.computeLedger;
  const honest = new Set(p.miners.map((m) => m.toLowerCase()));
  const query = { deployments, modelId, fromBlock: span.fromBlock, toBlock: span.toBlock };
  const accepted = await getAcceptedCommitments(client, query);
  const keys = new Map<string, number>();
  for (const c of accepted) keys.set(`${c.round}:${c.stage}:${c.worker}`, (keys.get(`${c.round}:${c.stage}:${c.worker}`) ?? 0) + 1);
  const duplicates = [...keys.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
  const slashed = await getSlashes(client, query);
  const demands = await getAvailabilityChallenges(client, query);
  let reverted = 0;
  for (let n = span.fromBlock; n <= span.toBlock; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (!honest.has(tx.from.toLowerCase()) || tx.to?.toLowerCase() !== address.toLowerCase() || !tx.input.startsWith(SUBMIT_SELECTOR))
        continue;
      if ((await client.getTransactionReceipt({ hash: tx.hash })).status !== "success") reverted++;
    }
  }
  return {
    workLost: await missingWork(client, deployments, modelId, p.rounds, p.miners),
    doubleSubmissions: duplicates + reverted,
    revertedMinerTxs: reverted,
    honestSlashes: slashed.filter((s) => honest.has(s.worker.toLowerCase())).length,
    availabilityDemands: demands.filter((d) => honest.has(d.worker.toLowerCase())).length,
  };
}
