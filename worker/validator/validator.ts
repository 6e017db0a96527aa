import type { Libp2p } from "@libp2p/interface";
import { type Address, decodeFunctionData, getAddress, type Hex, type PublicClient } from "viem";
import { computeLedgerAbi } from "../../sdk/abi/computeLedger.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import { challengeChainBreak } from "../../sdk/actions/miner/challengeChainBreak.ts";
import { challengeItem } from "../../sdk/actions/miner/challengeItem.ts";
import { getDispute } from "../../sdk/actions/miner/getDispute.ts";
import { resolveDispute } from "../../sdk/actions/miner/resolveDispute.ts";
import { setValidator } from "../../sdk/actions/miner/setValidator.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { vote } from "../../sdk/actions/miner/vote.ts";
import { type CommittedItem, committedItem, itemsTree, type MicrobatchItem, recoverCommitmentSigner } from "../../sdk/protocol/index.ts";
import { type ContentKind, decodeManifest, type ItemsManifest } from "../p2p/content.ts";
import { ContentUnavailableError, fetchContent } from "../p2p/contentProtocol.ts";
import type { MicrobatchSource } from "../pipeline/types.ts";
import { stageTrainingFlops } from "../model/layout.ts";
import type { Reexecutor } from "./reexecute.ts";
import { sampleIndices, samplingSeed } from "./sampling.ts";
import type { Tolerance } from "./tolerance.ts";
import { type ItemVerdict, verifyItem } from "./verify.ts";

/** A commitment as seen on-chain (from `CommitmentAccepted`). */
export type AcceptedCommitment = { worker: Address; stage: number; itemsRoot: Hex; units: bigint };

/** One line of the validator's off-chain log: the ledger has no attestation entry point, so attestations live here. */
export type ValidatorLogEntry =
  | { type: "attest"; modelId: bigint; round: bigint; stage: number; worker: Address; index: number; computeMs: number }
  | { type: "challenge"; modelId: bigint; round: bigint; stage: number; worker: Address; index: number; reason: string; disputeId: bigint }
  | { type: "chainBreak"; modelId: bigint; round: bigint; stage: number; upstream: Address; downstream: Address; index: number; disputeId: bigint }
  | { type: "unverifiable"; modelId: bigint; round: bigint; worker: Address; reason: string }
  | { type: "vote"; disputeId: bigint; fraud: boolean; reason: string }
  | { type: "resolve"; disputeId: bigint; status: number };

export type ValidatorParameters = {
  /** Wallet client of the validator's staking account. */
  wallet: ShardholderClient & { account: { address: Address } };
  publicClient: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  stageCount: number;
  reexecutor: Reexecutor;
  data: MicrobatchSource;
  tolerance: Tolerance;
  /** libp2p node the validator fetches content with. */
  node: Libp2p;
  /** Multiaddr of a worker's content server (announced off-chain). */
  peerOf: (worker: Address) => string | undefined;
  /** Share of each commitment's items re-executed (at least one item). */
  fraction: number;
  fetchTimeoutMs?: number | undefined;
};

/** Result of auditing one round. */
export type RoundAudit = {
  sampled: number;
  attested: number;
  disputes: bigint[];
  /** Forward + backward time of the re-executions. */
  computeMs: number;
  /** Training FLOPs of the re-executed items (`stageTrainingFlops` of each item's stage). */
  sampledFlops: number;
};

/**
 * A validator of one model: audits rounds after their commit window (sampling items with
 * post-commit randomness, re-executing them from the fetched committed inputs, attesting or
 * challenging), votes in the committees it is drawn into, and resolves finished disputes.
 */
export class Validator {
  readonly log: ValidatorLogEntry[] = [];
  readonly address: Address;
  readonly #voted = new Set<bigint>();
  readonly #accusedRounds = new Set<string>();

  constructor(readonly p: ValidatorParameters) {
    this.address = getAddress(p.wallet.account.address);
  }

  /** Stakes and flags the account as a validator (SDK). */
  async stakeAsValidator(valueWei: bigint): Promise<void> {
    const { wallet, deployments } = this.p;
    await stake(wallet, { deployments, payout: this.address, signingKey: this.address, valueWei });
    await setValidator(wallet, { deployments, validator: true });
  }

  #fetcher(worker: Address): (kind: ContentKind, key: Hex) => Promise<Uint8Array> {
    return async (kind, key) => {
      const address = this.p.peerOf(worker);
      if (!address) throw new ContentUnavailableError({ kind, key, reason: "unreachable" });
      return fetchContent({ node: this.p.node, address, kind, key, timeoutMs: this.p.fetchTimeoutMs ?? 5000 });
    };
  }

  /** Every commitment accepted for `round` of the model. */
  async commitments(round: bigint): Promise<AcceptedCommitment[]> {
    const logs = await this.p.publicClient.getContractEvents({
      abi: computeLedgerAbi,
      address: this.p.deployments.contracts.computeLedger,
      eventName: "CommitmentAccepted",
      args: { modelId: this.p.modelId, round },
      fromBlock: 0n,
    });
    return logs.map((l) => ({ worker: getAddress(l.args.worker as Address), stage: Number(l.args.stage), itemsRoot: l.args.itemsRoot as Hex, units: l.args.units as bigint }));
  }

  /** The worker's manifest of `itemsRoot`, checked against the root and the worker's signing key; undefined when not served. */
  async manifest(worker: Address, itemsRoot: Hex): Promise<ItemsManifest | undefined> {
    try {
      const m = decodeManifest(await this.#fetcher(worker)("items", itemsRoot));
      const signer = await recoverCommitmentSigner({ ledger: this.p.deployments.contracts.computeLedger, chainId: this.p.deployments.chainId, commitment: m.commitment, signature: m.signature });
      const staker = await this.p.publicClient.readContract({ abi: computeLedgerAbi, address: this.p.deployments.contracts.computeLedger, functionName: "staker", args: [worker] });
      if (getAddress(signer) !== getAddress(staker.signingKey) || getAddress(m.commitment.worker) !== worker) return undefined;
      return m;
    } catch (err) {
      if (err instanceof ContentUnavailableError) return undefined;
      throw err;
    }
  }

  /** Re-executes one leaf of a manifest. */
  async verify(worker: Address, manifest: ItemsManifest, leaf: MicrobatchItem): Promise<ItemVerdict> {
    return verifyItem({
      reexecutor: this.p.reexecutor,
      fetch: this.#fetcher(worker),
      data: this.p.data,
      tolerance: this.p.tolerance,
      round: manifest.commitment.round,
      stage: manifest.commitment.stage,
      stageCount: this.p.stageCount,
      leaf,
      weightsRootBefore: manifest.commitment.weightsRootBefore,
    });
  }

  /**
   * Audits `round` (call after its commit window closed): hash-chain breaks are challenged first
   * (no bond), then a sample of every remaining commitment is re-executed; honest items are
   * attested in the log, the first failing item of a commitment is challenged.
   */
  async auditRound(round: bigint): Promise<RoundAudit> {
    const audit: RoundAudit = { sampled: 0, attested: 0, disputes: [], computeMs: 0, sampledFlops: 0 };
    const block = await this.p.publicClient.getBlock();
    const seed = samplingSeed({ blockHash: block.hash, validator: this.address, modelId: this.p.modelId, round });
    // Workers already in a dispute of this round (opened by any validator) are not challenged
    // again: one slash per worker and round is what the ledger intends.
    const opened = await this.p.publicClient.getContractEvents({
      abi: computeLedgerAbi,
      address: this.p.deployments.contracts.computeLedger,
      eventName: "DisputeOpened",
      args: { modelId: this.p.modelId, round },
      fromBlock: 0n,
    });
    for (const l of opened) {
      for (const w of [l.args.accused, l.args.counterparty]) if (w && BigInt(w) !== 0n) this.#accusedRounds.add(`${round}:${getAddress(w)}`);
    }
    const manifests: { c: AcceptedCommitment; m: ItemsManifest }[] = [];
    for (const c of await this.commitments(round)) {
      if (c.worker === this.address) continue;
      const m = await this.manifest(c.worker, c.itemsRoot);
      if (!m) this.log.push({ type: "unverifiable", modelId: this.p.modelId, round, worker: c.worker, reason: "items manifest not served" });
      else manifests.push({ c, m });
    }
    for (const up of manifests) {
      for (const down of manifests.filter((d) => d.c.stage === up.c.stage + 1)) {
        const disputeId = await this.#challengeBreak(round, up.m, down.m);
        if (disputeId !== undefined) audit.disputes.push(disputeId);
      }
    }
    for (const { c, m } of manifests) {
      if (this.#accusedRounds.has(`${round}:${c.worker}`)) continue;
      const indices = sampleIndices(seed, c.itemsRoot, m.items.map((i) => i.index), this.p.fraction);
      for (const index of indices) {
        const leaf = m.items.find((i) => i.index === index) as MicrobatchItem;
        const verdict = await this.verify(c.worker, m, leaf);
        audit.sampled++;
        audit.computeMs += verdict.computeMs;
        audit.sampledFlops += stageTrainingFlops(this.p.reexecutor.spec, c.stage);
        if (verdict.ok) {
          audit.attested++;
          this.log.push({ type: "attest", modelId: this.p.modelId, round, stage: c.stage, worker: c.worker, index, computeMs: verdict.computeMs });
          continue;
        }
        const item = committedItem({ commitment: m.commitment, tree: itemsTree(m.items), index });
        const { disputeId } = await challengeItem(this.p.wallet, { deployments: this.p.deployments, item });
        this.#accusedRounds.add(`${round}:${c.worker}`);
        this.log.push({ type: "challenge", modelId: this.p.modelId, round, stage: c.stage, worker: c.worker, index, reason: verdict.reason, disputeId });
        audit.disputes.push(disputeId);
        break;
      }
    }
    return audit;
  }

  async #challengeBreak(round: bigint, up: ItemsManifest, down: ItemsManifest): Promise<bigint | undefined> {
    const upWorker = getAddress(up.commitment.worker);
    const downWorker = getAddress(down.commitment.worker);
    if (this.#accusedRounds.has(`${round}:${upWorker}`) || this.#accusedRounds.has(`${round}:${downWorker}`)) return undefined;
    for (const a of up.items) {
      const b = down.items.find((i) => i.index === a.index);
      if (!b || (a.outputActHash === b.inputActHash && a.upstreamGradHash === b.inputGradHash)) continue;
      const upstream = committedItem({ commitment: up.commitment, tree: itemsTree(up.items), index: a.index });
      const downstream = committedItem({ commitment: down.commitment, tree: itemsTree(down.items), index: a.index });
      const { disputeId } = await challengeChainBreak(this.p.wallet, { deployments: this.p.deployments, upstream, downstream });
      this.#accusedRounds.add(`${round}:${upWorker}`);
      this.#accusedRounds.add(`${round}:${downWorker}`);
      this.log.push({ type: "chainBreak", modelId: this.p.modelId, round, stage: up.commitment.stage, upstream: upWorker, downstream: downWorker, index: a.index, disputeId });
      return disputeId;
    }
    return undefined;
  }

  /** The challenged item(s) of a dispute, decoded from the transaction that opened it. */
  async #disputedItems(transactionHash: Hex): Promise<{ item: CommittedItem; chainBreak: boolean }> {
    const tx = await this.p.publicClient.getTransaction({ hash: transactionHash });
    const call = decodeFunctionData({ abi: computeLedgerAbi, data: tx.input });
    if (call.functionName === "challengeItem") return { item: call.args[0] as CommittedItem, chainBreak: false };
    if (call.functionName === "challengeChainBreak") return { item: call.args[0] as CommittedItem, chainBreak: true };
    throw new Error(`transaction ${transactionHash} opened no dispute`);
  }

  /**
   * Votes in every open dispute of the model this validator was drawn for: re-executes the
   * accused item (for a chain break: stage s's item; if it verifies, stage s+1 is at fault).
   * A manifest or input the accused does not serve counts as fraud. Returns the disputes voted.
   */
  async serveCommittee(): Promise<bigint[]> {
    const logs = await this.p.publicClient.getContractEvents({
      abi: computeLedgerAbi,
      address: this.p.deployments.contracts.computeLedger,
      eventName: "DisputeOpened",
      args: { modelId: this.p.modelId },
      fromBlock: 0n,
    });
    const voted: bigint[] = [];
    for (const l of logs) {
      const disputeId = l.args.disputeId as bigint;
      const committee = (l.args.committee ?? []).map((a) => getAddress(a));
      if (this.#voted.has(disputeId) || !committee.includes(this.address)) continue;
      const d = await getDispute(this.p.wallet, { deployments: this.p.deployments, disputeId });
      if (d.status !== 1) continue;
      const { item } = await this.#disputedItems(l.transactionHash as Hex);
      const manifest = await this.manifest(getAddress(item.worker), item.itemsRoot);
      let fraud: boolean;
      let reason: string;
      if (!manifest) [fraud, reason] = [true, "items manifest not served"];
      else {
        const verdict = await this.verify(getAddress(item.worker), manifest, item.leaf);
        [fraud, reason] = verdict.ok ? [false, "re-execution matches"] : [true, verdict.reason];
      }
      await vote(this.p.wallet, { deployments: this.p.deployments, disputeId, fraud });
      this.#voted.add(disputeId);
      this.log.push({ type: "vote", disputeId, fraud, reason });
      voted.push(disputeId);
    }
    return voted;
  }

  /** Resolves `disputeId` (anyone may once every member voted or the window closed); returns its status. */
  async resolve(disputeId: bigint): Promise<number> {
    await resolveDispute(this.p.wallet, { deployments: this.p.deployments, disputeId });
    const d = await getDispute(this.p.wallet, { deployments: this.p.deployments, disputeId });
    this.log.push({ type: "resolve", disputeId, status: d.status });
    return d.status;
  }
}
