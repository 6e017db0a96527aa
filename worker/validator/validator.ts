import type { Libp2p } from "@libp2p/interface";
import { type Address, getAddress, type Hex, type PublicClient, zeroAddress } from "viem";
import { appeal } from "../../sdk/actions/disputes/appeal.ts";
import { challengeAvailability, slashUnavailable } from "../../sdk/actions/disputes/availability.ts";
import { drawCommittee } from "../../sdk/actions/disputes/drawCommittee.ts";
import { getDisputedItem } from "../../sdk/actions/disputes/getDisputedItem.ts";
import { getDisputes } from "../../sdk/actions/disputes/getDisputes.ts";
import { getPanel } from "../../sdk/actions/disputes/getPanel.ts";
import { getLedgerParameters, type LedgerParameters } from "../../sdk/actions/ledger/getLedgerParameters.ts";
import type { Deployments } from "../../sdk/deployments/types.ts";
import type { ShardholderClient } from "../../sdk/actions/internal/client.ts";
import { challengeItem } from "../../sdk/actions/miner/challengeItem.ts";
import { type AcceptedCommitment, getAcceptedCommitments } from "../../sdk/actions/miner/getAcceptedCommitments.ts";
import { getDispute } from "../../sdk/actions/miner/getDispute.ts";
import { getStaker } from "../../sdk/actions/miner/getStaker.ts";
import { resolveDispute } from "../../sdk/actions/miner/resolveDispute.ts";
import { setValidator } from "../../sdk/actions/miner/setValidator.ts";
import { stake } from "../../sdk/actions/miner/stake.ts";
import { vote } from "../../sdk/actions/miner/vote.ts";
import {
  type Commitment,
  DisputeKind,
  DisputeStatus,
  itemsTree,
  type MicrobatchItem,
  recoverCommitmentSigner,
} from "../../sdk/protocol/index.ts";
import { getModel } from "../../sdk/actions/models/getModel.ts";
import { finalizeRound } from "../../sdk/actions/miner/finalizeRound.ts";
import { getRound } from "../../sdk/actions/miner/getRound.ts";
import { type Attestation, attestItems } from "../../sdk/actions/validator/attestItems.ts";
import { getValidatorRound } from "../../sdk/actions/validator/getValidatorRound.ts";
import { type LedgerItem, ledgerItem } from "../../sdk/actions/validator/ledgerItem.ts";
import { mintValidatorReward } from "../../sdk/actions/validator/mintValidatorReward.ts";
import { proveDuplicate, proveMisordered, proveUnlinked } from "../../sdk/actions/validator/proveUnlinked.ts";
import { proveWeightsBreak } from "../../sdk/actions/validator/proveWeightsBreak.ts";
import { attestationSample, attestDraws } from "../../sdk/actions/validator/sample.ts";
import { sealRoundSeed } from "../../sdk/actions/validator/sealRoundSeed.ts";
import {
  ComputeLedgerAlreadyFinalizedError,
  ComputeLedgerAvailabilityAlreadyChallengedError,
  ComputeLedgerAvailabilityNotOpenError,
  ComputeLedgerCommitmentSlashedError,
  ComputeLedgerCommitmentVoidedError,
  ComputeLedgerCommitteeAlreadyDrawnError,
  ComputeLedgerDrawNotReadyError,
  ComputeLedgerItemAlreadyDisputedError,
} from "../../sdk/errors/contractErrors.ts";
import { type ContentKind, decodeManifest, type ItemsManifest } from "../p2p/content.ts";
import { ContentUnavailableError, fetchContentWithin } from "../p2p/contentProtocol.ts";
import { ComputeLedgerVoteWindowClosedError } from "../../sdk/errors/contractErrors.ts";
import type { MicrobatchSource } from "../pipeline/types.ts";
import { stageTrainingFlops } from "../model/layout.ts";
import type { Reexecutor } from "./reexecute.ts";
import { duplicateProof, linkedLeaves, misorderedProof, servedItem, servedLookup, unlinkedProof } from "./links.ts";
import { sampleSize } from "./sampling.ts";
import type { Tolerance } from "./tolerance.ts";
import { type ItemVerdict, verifyItem } from "./verify.ts";

/** A commitment as seen on-chain (the SDK's `getAcceptedCommitments`). */
export type { AcceptedCommitment };

/** A validator's verdict on a dispute; `fraud` undefined = abstain (a chain break it cannot attribute). */
type Verdict = { fraud: boolean | undefined; reason: string };

/** A commitment with the signed manifest its worker served. */
type AuditedCommitment = { c: AcceptedCommitment; m: ItemsManifest };

/** One line of the validator's log (`attest`: re-executed and honest; `onChain` when it was an attestable draw submitted by `attestItems`). */
export type ValidatorLogEntry =
  | { type: "attest"; modelId: bigint; round: bigint; stage: number; worker: Address; index: number; computeMs: number; onChain: boolean }
  | { type: "weightsBreak"; modelId: bigint; round: bigint; stage: number; worker: Address; previousAfter: Hex; currentBefore: Hex }
  | {
      type: "voided";
      modelId: bigint;
      round: bigint;
      stage: number;
      worker: Address;
      neighbour: Address;
      reason: "unlinked" | "duplicate" | "misordered";
    }
  | { type: "reward"; modelId: bigint; round: bigint; tokens: bigint; units: bigint }
  | { type: "challenge"; modelId: bigint; round: bigint; stage: number; worker: Address; index: number; reason: string; disputeId: bigint }
  | { type: "unverifiable"; modelId: bigint; round: bigint; worker: Address; reason: string }
  | {
      type: "availability";
      modelId: bigint;
      round: bigint;
      stage: number;
      worker: Address;
      index: number;
      reason: string;
      challengeId: bigint;
    }
  | { type: "unavailableSlashed"; challengeId: bigint; worker: Address }
  | { type: "draw"; disputeId: bigint; members: number; seats: number }
  | { type: "vote"; disputeId: bigint; fraud: boolean; reason: string }
  | { type: "abstain"; disputeId: bigint; reason: string }
  | { type: "appeal"; disputeId: bigint; level: number; fraud: boolean; bondWei: bigint }
  | { type: "resolve"; disputeId: bigint; status: DisputeStatus };

export type ValidatorParameters = {
  /** Wallet client of the validator's staking account. */
  wallet: ShardholderClient & { account: { address: Address } };
  publicClient: PublicClient;
  deployments: Deployments;
  modelId: bigint;
  /**
   * The one stage this validator holds (`setValidator(modelId, stage)`): it audits, attests,
   * challenges and sits on committees of this stage only, so it only ever fetches this stage's
   * weights (docs/PROTOCOL.md "Stages"). Other stages' manifests (leaves, no weights) are read for
   * link and chain-break checks.
   */
  stage: number;
  stageCount: number;
  reexecutor: Reexecutor;
  data: MicrobatchSource;
  tolerance: Tolerance;
  /** libp2p node the validator fetches content with. */
  node: Libp2p;
  /** Multiaddr of a worker's content server (`--peer-of`, or its StageDirectory record). */
  peerOf: (worker: Address) => string | undefined | Promise<string | undefined>;
  /** Share of each commitment's items re-executed (at least one item). */
  fraction: number;
  /**
   * This validator's signed hello (its identity, stage and the node's peer id), sent with content
   * requests: miners serve weights and gradients only to members of their stage. None: anonymous.
   */
  hello?: (() => Promise<Uint8Array>) | undefined;
  fetchTimeoutMs?: number | undefined;
  /**
   * How long an audit keeps retrying (with backoff) to fetch a worker's content before it demands
   * the sampled leaves on-chain (`challengeAvailability`) or votes a withheld input as fraud;
   * default 60 s. A worker that crashed and came back within this time is never challenged.
   */
  availabilityDeadlineMs?: number | undefined;
  /** Called with every entry as it is added to {@link Validator.log} (the CLI streams them). */
  onLog?: ((entry: ValidatorLogEntry) => void) | undefined;
};

/** Result of auditing one round. */
export type RoundAudit = {
  sampled: number;
  attested: number;
  /** Attestations recorded on-chain by `attestItems` (the attestable draws among `attested`). */
  attestedOnChain: number;
  /** Workers slashed by `proveWeightsBreak` in this audit. */
  weightsBreaks: Address[];
  /** Commitments voided as copies: a neighbour they name is linked to another worker, or they duplicate a linked commitment's input. */
  voided: Address[];
  disputes: bigint[];
  /** Availability challenges opened: sampled leaves not served within the availability deadline. */
  availability: bigint[];
  /** Forward + backward time of the re-executions. */
  computeMs: number;
  /** Training FLOPs of the re-executed items (`stageTrainingFlops` of each item's stage). */
  sampledFlops: number;
};

/**
 * A validator of one stage of one model: audits rounds after their commit window (sampling items with
 * post-commit randomness, re-executing them from the fetched committed inputs, attesting or
 * challenging), votes in the committees it is drawn into, and resolves finished disputes.
 */
export class Validator {
  readonly log: ValidatorLogEntry[] = [];
  readonly address: Address;

  private note(entry: ValidatorLogEntry): void {
    this.log.push(entry);
    this.p.onLog?.(entry);
  }
  /** This validator's own verdict per dispute (re-executed once), which it votes and defends by appeal. */
  readonly #verdicts = new Map<bigint, Verdict>();
  readonly #settled = new Set<bigint>();
  /** `disputeId:level` keys this validator abstained in (its verdict blames neither side). */
  readonly #abstained = new Set<string>();
  /** Availability challenges this validator opened and has not settled. */
  readonly #availability = new Map<bigint, { deadline: bigint; worker: Address }>();
  /** The model's registered terms, read once (they never change). */
  #model: ReturnType<typeof getModel> | undefined;
  /** The signed hello of content requests, made once. */
  #helloBytes: Promise<Uint8Array> | undefined;
  /** The ledger's protocol constants (attestation rate, batch limit, appeals), read once. */
  #ledgerParameters: Promise<LedgerParameters> | undefined;
  readonly #accusedRounds = new Set<string>();
  /** The last audited round's signed commitments, by `worker:stage`: what the next round's continuity checks compare with (only one round is kept). */
  #seen: { round: bigint; commitments: Map<string, Commitment> } = { round: -1n, commitments: new Map() };

  constructor(readonly p: ValidatorParameters) {
    this.address = getAddress(p.wallet.account.address);
  }

  /** Stakes and flags the account as a validator (SDK). */
  async stakeAsValidator(valueWei: bigint): Promise<void> {
    const { wallet, deployments } = this.p;
    await stake(wallet, { deployments, payout: this.address, signingKey: this.address, valueWei });
    await setValidator(wallet, { deployments, modelId: this.p.modelId, stage: this.p.stage, validator: true });
  }

  /** Fetches a worker's committed content, retrying with backoff until the availability deadline. */
  #fetcher(worker: Address): (kind: ContentKind, key: Hex) => Promise<Uint8Array> {
    return async (kind, key) => {
      const address = await this.p.peerOf(worker);
      if (!address) throw new ContentUnavailableError({ kind, key, reason: "unreachable" });
      this.#helloBytes ??= this.p.hello?.();
      const hello = await this.#helloBytes;
      return fetchContentWithin({
        node: this.p.node,
        address,
        kind,
        key,
        hello,
        timeoutMs: this.p.fetchTimeoutMs ?? 5000,
        deadlineMs: this.p.availabilityDeadlineMs ?? 60_000,
      });
    };
  }

  /** Every commitment accepted for `round` of the model. */
  async commitments(round: bigint): Promise<AcceptedCommitment[]> {
    return getAcceptedCommitments(this.p.publicClient, { deployments: this.p.deployments, modelId: this.p.modelId, round });
  }

  /**
   * The worker's manifest of `itemsRoot` (fetched until the availability deadline), checked against
   * the root and the worker's signing key; undefined when not served in time or not signed by it.
   */
  async manifest(worker: Address, itemsRoot: Hex): Promise<ItemsManifest | undefined> {
    try {
      const m = decodeManifest(await this.#fetcher(worker)("items", itemsRoot));
      const signer = await recoverCommitmentSigner({
        ledger: this.p.deployments.contracts.computeLedger,
        chainId: this.p.deployments.chainId,
        commitment: m.commitment,
        signature: m.signature,
      });
      const staker = await getStaker(this.p.publicClient, { deployments: this.p.deployments, account: worker });
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
      worker: manifest.commitment.worker,
      weightsRootBefore: manifest.commitment.weightsRootBefore,
      microbatchesPerStep: this.p.reexecutor.spec.microbatchesPerStep,
    });
  }

  /**
   * Audits `round` (call after its commit window closed): seals the round's attestation seed,
   * slashes weights-continuity breaks against the previous round, challenges hash-chain breaks
   * (no bond), then re-executes a sample of every remaining commitment (the on-chain draws, at
   * least `fraction` of the round's microbatches); honest attestable items are attested on-chain
   * in one batch, the first failing item of a commitment is challenged.
   */
  async auditRound(round: bigint): Promise<RoundAudit> {
    const audit: RoundAudit = {
      sampled: 0,
      attested: 0,
      attestedOnChain: 0,
      weightsBreaks: [],
      voided: [],
      disputes: [],
      availability: [],
      computeMs: 0,
      sampledFlops: 0,
    };
    const { wallet, deployments, modelId } = this.p;
    const { seed } = await sealRoundSeed(wallet, { deployments, modelId, round });
    const microbatches = await this.#microbatchesPerRound();
    const units = await this.#unitsPerMicrobatch();
    // Workers already in a dispute of this round (opened by any validator) are not challenged
    // again: one slash per worker and round is what the ledger intends.
    const opened = await getDisputes(this.p.publicClient, { deployments, modelId, round });
    for (const d of opened) {
      // A serving dispute's `round` is a request id, not a training round.
      if (d.kind === DisputeKind.Serving) continue;
      for (const w of [d.accused, d.counterparty]) if (w !== zeroAddress) this.#accusedRounds.add(`${round}:${getAddress(w)}`);
    }
    const { attestSampleBps, maxAttestDraws, maxAttestBatch } = await this.#ledger();
    const attestable = attestDraws(microbatches, { sampleBps: attestSampleBps, maxDraws: maxAttestDraws });
    const count = Math.max(attestable, sampleSize(this.p.fraction, microbatches));
    const manifests: { c: AcceptedCommitment; m: ItemsManifest }[] = [];
    const seen = new Map<string, Commitment>();
    const accepted = await this.commitments(round);
    for (const c of accepted) {
      if (c.worker === this.address) continue;
      const mine = c.stage === this.p.stage;
      // Neighbouring stages' manifests (leaves only) serve the link and chain-break checks.
      if (!mine && Math.abs(c.stage - this.p.stage) > 1) continue;
      const itemCount = Number(c.units / (units[c.stage] as bigint));
      const sample = attestationSample({ seed, validator: this.address, worker: c.worker, stage: c.stage, itemCount, count });
      const m = await this.manifest(c.worker, c.itemsRoot);
      if (!mine) {
        if (m) manifests.push({ c, m });
        continue;
      }
      // Every sampled index must be a served leaf: a missing one is demanded on-chain.
      const missing = sample.find(({ index }) => !m?.items.some((i) => i.index === index));
      if (!m || missing) {
        const reason = m ? `leaf ${missing?.index} of itemCount ${itemCount} not in the manifest` : "items manifest not served";
        this.note({ type: "unverifiable", modelId, round, worker: c.worker, reason });
        const challengeId = await this.#challengeAvailability(round, c, (missing ?? sample[0])?.index ?? 0, reason);
        if (challengeId !== undefined) audit.availability.push(challengeId);
        continue;
      }
      manifests.push({ c, m });
      seen.set(`${c.worker}:${c.stage}`, m.commitment);
    }
    const own = manifests.filter(({ c }) => c.stage === this.p.stage);
    for (const { c, m } of own) if (await this.#checkContinuity(round, c, m.commitment)) audit.weightsBreaks.push(c.worker);
    this.#seen = { round, commitments: seen };
    const voided = new Set<string>();
    for (const audited of own) {
      if (audited.c.worker === this.address || !(await this.#checkLinks(round, audited, manifests, accepted))) continue;
      audit.voided.push(audited.c.worker);
      voided.add(`${audited.c.worker}:${audited.c.stage}`);
    }
    for (const up of manifests) {
      // Only two leaves that name each other exchanged data: any other pair proves nothing.
      // A break touching this validator's stage is checked on this stage's side.
      if (up.c.stage !== this.p.stage && up.c.stage + 1 !== this.p.stage) continue;
      for (const down of manifests) {
        if (down.c.stage !== up.c.stage + 1) continue;
        const disputeId = await this.#challengeBreak(round, up, down);
        if (disputeId !== undefined) audit.disputes.push(disputeId);
      }
    }
    const attestations: Attestation[] = [];
    for (const { c, m } of own) {
      if (this.#accusedRounds.has(`${round}:${c.worker}`)) continue;
      const vouch = !voided.has(`${c.worker}:${c.stage}`);
      const tree = itemsTree(m.items);
      const itemCount = Number(c.units / (units[c.stage] as bigint));
      const sample = attestationSample({ seed, validator: this.address, worker: c.worker, stage: c.stage, itemCount, count });
      const honest: Attestation[] = [];
      for (const { draw, index } of sample) {
        const leaf = m.items.find((i) => i.index === index) as MicrobatchItem;
        const verdict = await this.verify(c.worker, m, leaf);
        audit.sampled++;
        audit.computeMs += verdict.computeMs;
        audit.sampledFlops += stageTrainingFlops(this.p.reexecutor.spec, c.stage);
        if (verdict.ok) {
          audit.attested++;
          this.note({
            type: "attest",
            modelId,
            round,
            stage: c.stage,
            worker: c.worker,
            index,
            computeMs: verdict.computeMs,
            onChain: draw < attestable,
          });
          if (draw < attestable && vouch) honest.push({ item: ledgerItem({ commitment: m.commitment, tree, index }), draw });
          continue;
        }
        const disputeId = await this.#challengeItem(round, c, ledgerItem({ commitment: m.commitment, tree, index }), verdict.reason);
        if (disputeId !== undefined) audit.disputes.push(disputeId);
        break;
      }
      // Items of a commitment this validator just accused are not vouched for.
      if (!this.#accusedRounds.has(`${round}:${c.worker}`)) attestations.push(...honest);
    }
    // The ledger takes at most `MAX_ATTEST_BATCH` attestations per call (its gas bound).
    for (let i = 0; i < attestations.length; i += maxAttestBatch)
      audit.attestedOnChain += (
        await attestItems(wallet, { deployments, attestations: attestations.slice(i, i + maxAttestBatch) })
      ).attested;
    return audit;
  }

  /** Demands one leaf on-chain; undefined when another validator already demands it. */
  async #challengeAvailability(round: bigint, c: AcceptedCommitment, index: number, reason: string): Promise<bigint | undefined> {
    try {
      const { challengeId, deadline } = await challengeAvailability(this.p.wallet, {
        deployments: this.p.deployments,
        modelId: this.p.modelId,
        round,
        stage: c.stage,
        worker: c.worker,
        index,
      });
      this.#availability.set(challengeId, { deadline: BigInt(deadline), worker: c.worker });
      this.note({ type: "availability", modelId: this.p.modelId, round, stage: c.stage, worker: c.worker, index, reason, challengeId });
      return challengeId;
    } catch (err) {
      if (!(err instanceof ComputeLedgerAvailabilityAlreadyChallengedError)) throw err;
      return undefined;
    } finally {
      this.#accusedRounds.add(`${round}:${c.worker}`);
    }
  }

  /** Challenges one leaf; undefined when another validator already disputes that same leaf. */
  async #challengeItem(round: bigint, c: AcceptedCommitment, item: LedgerItem, reason: string): Promise<bigint | undefined> {
    try {
      const { disputeId } = await challengeItem(this.p.wallet, { deployments: this.p.deployments, item });
      this.note({
        type: "challenge",
        modelId: this.p.modelId,
        round,
        stage: c.stage,
        worker: c.worker,
        index: item.leaf.index,
        reason,
        disputeId,
      });
      return disputeId;
    } catch (err) {
      if (!(err instanceof ComputeLedgerItemAlreadyDisputedError)) throw err;
      return undefined;
    } finally {
      this.#accusedRounds.add(`${round}:${c.worker}`);
    }
  }

  /**
   * Compares a commitment's `weightsRootBefore` with the same worker's previous-round
   * `weightsRootAfter` (same stage) and slashes a break on-chain; true when it slashed.
   */
  async #checkContinuity(round: bigint, c: AcceptedCommitment, current: Commitment): Promise<boolean> {
    if (round === 0n || this.#accusedRounds.has(`${round}:${c.worker}`)) return false;
    const known = this.#seen.round === round - 1n ? this.#seen.commitments.get(`${c.worker}:${c.stage}`) : undefined;
    const previous = known ?? (await this.#previousCommitment(round - 1n, c));
    if (!previous || previous.weightsRootAfter === current.weightsRootBefore) return false;
    await proveWeightsBreak(this.p.wallet, { deployments: this.p.deployments, previous, current });
    this.#accusedRounds.add(`${round}:${c.worker}`);
    this.note({
      type: "weightsBreak",
      modelId: this.p.modelId,
      round,
      stage: c.stage,
      worker: c.worker,
      previousAfter: previous.weightsRootAfter,
      currentBefore: current.weightsRootBefore,
    });
    return true;
  }

  /**
   * Voids a commitment whose named neighbour is linked to another worker of its stage
   * (`proveUnlinked`), or that claims another commitment's input without a confirmed upstream
   * link (`proveDuplicate`): what copies of someone else's work look like (docs/PROTOCOL.md,
   * "Pipeline links"). Only served manifests are compared; an unserved one is left to the
   * availability game. True when it voided.
   */
  async #checkLinks(round: bigint, audited: AuditedCommitment, all: AuditedCommitment[], accepted: AcceptedCommitment[]): Promise<boolean> {
    const { wallet, deployments, modelId } = this.p;
    const lookup = servedLookup(all);
    const commitment = audited.m.commitment;
    try {
      const misordered = misorderedProof(audited);
      if (misordered) {
        await proveMisordered(wallet, { deployments, ...misordered });
        this.note({
          type: "voided",
          modelId,
          round,
          stage: commitment.stage,
          worker: commitment.worker,
          neighbour: zeroAddress,
          reason: "misordered",
        });
        return true;
      }
      const unlinked = unlinkedProof(audited, lookup);
      if (unlinked) {
        await proveUnlinked(wallet, { deployments, ...unlinked });
        this.note({
          type: "voided",
          modelId,
          round,
          stage: commitment.stage,
          worker: commitment.worker,
          neighbour: unlinked.neighbour.worker,
          reason: "unlinked",
        });
        return true;
      }
      const duplicate = duplicateProof(audited, all, accepted, lookup);
      if (!duplicate) return false;
      await proveDuplicate(wallet, { deployments, ...duplicate });
      this.note({
        type: "voided",
        modelId,
        round,
        stage: commitment.stage,
        worker: commitment.worker,
        neighbour: duplicate.copy.leaf.upstream,
        reason: "duplicate",
      });
      return true;
    } catch (err) {
      // Another validator voided it first: voided either way.
      if (err instanceof ComputeLedgerCommitmentVoidedError) return true;
      if (err instanceof ComputeLedgerCommitmentSlashedError) return false;
      throw err;
    }
  }

  /** The worker's signed commitment of `round` at the same stage, from its manifest (undefined if not served). */
  async #previousCommitment(round: bigint, c: AcceptedCommitment): Promise<Commitment | undefined> {
    const accepted = (await this.commitments(round)).find((x) => x.worker === c.worker && x.stage === c.stage);
    return accepted ? (await this.manifest(c.worker, accepted.itemsRoot))?.commitment : undefined;
  }

  #terms(): ReturnType<typeof getModel> {
    this.#model ??= getModel(this.p.wallet, { deployments: this.p.deployments, modelId: this.p.modelId });
    return this.#model;
  }

  async #unitsPerMicrobatch(): Promise<bigint[]> {
    return (await this.#terms()).unitsPerMicrobatch;
  }

  /** The ledger's constants never change for a deployment: one read serves the whole run. */
  #ledger(): Promise<LedgerParameters> {
    this.#ledgerParameters ??= getLedgerParameters(this.p.publicClient, { deployments: this.p.deployments });
    return this.#ledgerParameters;
  }

  async #disputeTiming(): Promise<{ voteWindowSec: bigint; maxAppeals: number }> {
    const [m, { maxAppeals }] = await Promise.all([this.#terms(), this.#ledger()]);
    return { voteWindowSec: BigInt(m.timing.voteWindowSec), maxAppeals };
  }

  async #microbatchesPerRound(): Promise<number> {
    return (await this.#terms()).microbatchesPerRound;
  }

  /**
   * Mints this validator's reward of `round` once it is final: finalizes the round first when its
   * challenge window is over and no dispute is open. Returns the tokens minted (0n when there is
   * nothing to mint: no attestations, already minted, or forfeited), or undefined while the round
   * cannot be final yet.
   */
  async claimReward(round: bigint): Promise<bigint | undefined> {
    const { wallet, deployments, modelId } = this.p;
    const mine = await getValidatorRound(wallet, { deployments, modelId, round, validator: this.address });
    if (mine.units === 0n || mine.minted || mine.forfeited) return 0n;
    const state = await getRound(wallet, { deployments, modelId, round });
    if (!state.finalized) {
      const model = await this.#terms();
      const challengeEnd =
        model.genesisTime + (round + 1n) * BigInt(model.timing.commitWindowSec) + BigInt(model.timing.challengeWindowSec);
      const now = (await this.p.publicClient.getBlock()).timestamp;
      if (now < challengeEnd || state.openDisputes !== 0) return undefined;
      // Anyone may finalize: losing that race to another caller is not a failure.
      await finalizeRound(wallet, { deployments, modelId, round }).catch((err: unknown) => {
        if (!(err instanceof ComputeLedgerAlreadyFinalizedError)) throw err;
      });
    }
    const { tokens, units } = await mintValidatorReward(wallet, { deployments, modelId, round, validator: this.address });
    this.note({ type: "reward", modelId, round, tokens, units });
    return tokens;
  }

  /**
   * Looks for a hash-chain break between two neighbouring commitments and challenges this
   * validator's side as an item when its leaf fails re-execution (stage s on its output, stage s+1
   * on the input it claims); the other side is left to its own stage's validators. A break where both leaves re-execute correctly cannot be blamed on
   * either without knowing which workers exchanged data (two different pipelines paired, or an
   * input made up and computed on correctly): it is logged, not challenged, since challenging it
   * could frame an honest miner.
   */
  async #challengeBreak(round: bigint, up: AuditedCommitment, down: AuditedCommitment): Promise<bigint | undefined> {
    if (this.#accusedRounds.has(`${round}:${up.c.worker}`) || this.#accusedRounds.has(`${round}:${down.c.worker}`)) return undefined;
    for (const { up: a, down: b } of linkedLeaves(up, down)) {
      if (a.outputActHash === b.inputActHash && a.upstreamGradHash === b.inputGradHash) continue;
      for (const [side, leaf] of [
        [up, a],
        [down, b],
      ] as const) {
        // The other side is the other stage's validators' to re-execute (they hold its weights).
        if (side.c.stage !== this.p.stage) continue;
        const verdict = await this.verify(side.c.worker, side.m, leaf);
        if (verdict.ok) continue;
        return this.#challengeItem(
          round,
          side.c,
          servedItem(side, leaf),
          `chain break at microbatch ${leaf.microbatch}: ${verdict.reason}`,
        );
      }
      this.note({
        type: "unverifiable",
        modelId: this.p.modelId,
        round,
        worker: down.c.worker,
        reason: `chain break at microbatch ${a.microbatch} with ${up.c.worker}: stage ${this.p.stage}'s leaf re-executes correctly, not attributable here`,
      });
      return undefined;
    }
    return undefined;
  }

  /**
   * Moves every open dispute of the model forward as far as this validator can: draws committees
   * that are due (anyone may), votes where it holds seats (re-executing the accused item once; a
   * manifest or input the accused does not serve within the availability deadline counts as
   * fraud), appeals any tentative verdict that contradicts its own re-execution (drawn or not:
   * one honest validator suffices to take a captured committee to a larger one), and slashes the
   * workers of its availability challenges left unanswered past their deadline. Returns the
   * disputes it voted in.
   */
  async serveCommittee(): Promise<bigint[]> {
    const { wallet, deployments, publicClient } = this.p;
    const opened = await getDisputes(publicClient, { deployments, modelId: this.p.modelId });
    const { voteWindowSec, maxAppeals } = await this.#disputeTiming();
    const voted: bigint[] = [];
    for (const { disputeId, kind } of opened) {
      if (this.#settled.has(disputeId)) continue;
      // Serving disputes are judged from serving records, which this training validator does not fetch yet
      // (docs/PROTOCOL.md "Verified inference"); it leaves them to the stage's serving auditors.
      if (kind === DisputeKind.Serving) {
        this.#settled.add(disputeId);
        continue;
      }
      let d = await getDispute(wallet, { deployments, disputeId });
      if (d.status !== DisputeStatus.Open) {
        this.#settled.add(disputeId);
        continue;
      }
      const block = await publicClient.getBlock();
      // The draw lands in a later block than the latest, which is what it needs.
      if (d.voteDeadline === 0 && block.number >= d.drawBlock) {
        await this.#draw(disputeId);
        d = await getDispute(wallet, { deployments, disputeId });
      }
      if (d.voteDeadline === 0) continue;
      const panel = await getPanel(wallet, { deployments, disputeId, level: d.level });
      const mine = panel.find((seat) => getAddress(seat.member) === this.address);
      const voteKey = `${disputeId}:${d.level}`;
      if (mine && mine.vote === 0 && !this.#abstained.has(voteKey) && d.appealDeadline === 0 && block.timestamp <= BigInt(d.voteDeadline)) {
        const verdict = await this.#verdict(disputeId);
        if (verdict.fraud === undefined) {
          this.#abstained.add(voteKey);
          this.note({ type: "abstain", disputeId, reason: verdict.reason });
          continue;
        }
        try {
          await vote(wallet, { deployments, disputeId, fraud: verdict.fraud });
        } catch (err) {
          // Re-executing took past the window: a missed vote costs this seat its share, not the process.
          if (!(err instanceof ComputeLedgerVoteWindowClosedError)) throw err;
          this.#abstained.add(voteKey);
          this.note({ type: "abstain", disputeId, reason: "the vote window closed before the verdict was ready" });
          continue;
        }
        this.note({ type: "vote", disputeId, fraud: verdict.fraud, reason: verdict.reason });
        voted.push(disputeId);
        continue;
      }
      // Watchdog: once a level has voted, every validator (drawn or not) checks the tentative verdict
      // against its own re-execution and appeals a wrong one, so a captured small committee is
      // overturned by a larger one as long as one honest validator is running.
      const votingOver = d.appealDeadline !== 0 || block.timestamp > BigInt(d.voteDeadline);
      const appealEnd = d.appealDeadline !== 0 ? BigInt(d.appealDeadline) : BigInt(d.voteDeadline) + voteWindowSec;
      if (!votingOver || d.level >= maxAppeals || block.timestamp >= appealEnd) continue;
      const tentative = d.fraudSeats > d.honestSeats ? true : d.honestSeats > d.fraudSeats ? false : undefined;
      const own = await this.#verdict(disputeId);
      if (tentative === own.fraud) continue;
      // Abstaining on a decided level: appeal it (either side; the bond comes back if it ends dismissed).
      const ask = own.fraud ?? !tentative;
      const { bondWei } = await appeal(wallet, { deployments, disputeId, fraud: ask });
      this.note({ type: "appeal", disputeId, level: d.level + 1, fraud: ask, bondWei });
    }
    await this.#settleAvailability();
    return voted;
  }

  async #draw(disputeId: bigint): Promise<void> {
    try {
      const { members, seats } = await drawCommittee(this.p.wallet, { deployments: this.p.deployments, disputeId });
      this.note({ type: "draw", disputeId, members: members.length, seats });
    } catch (err) {
      // Another caller drew first, or the draw block is not behind us yet: both fine.
      if (!(err instanceof ComputeLedgerCommitteeAlreadyDrawnError || err instanceof ComputeLedgerDrawNotReadyError)) throw err;
    }
  }

  /**
   * This validator's verdict on a dispute, re-executed once: for an item, whether its leaf fails
   * (a manifest or input not served within the availability deadline counts as failing). For a
   * chain break, `fraud` blames stage s when its leaf fails, `!fraud` blames stage s+1 when its
   * leaf fails on its own claimed input, and `undefined` (abstain) when both re-execute correctly:
   * the break is then not attributable (two pipelines paired) and blaming either could frame an
   * honest miner.
   */
  async #verdict(disputeId: bigint): Promise<Verdict> {
    const known = this.#verdicts.get(disputeId);
    if (known) return known;
    const { item, downstream } = await getDisputedItem(this.p.publicClient, { deployments: this.p.deployments, disputeId });
    let verdict: Verdict = await this.#leafVerdict(item);
    if (downstream && !verdict.fraud) {
      // A committee holds stage s only: stage s + 1's leaf is not its to re-execute.
      if (downstream.stage !== this.p.stage)
        verdict = {
          fraud: undefined,
          reason: `stage ${item.stage}'s leaf re-executes correctly; stage ${downstream.stage} is not this validator's stage`,
        };
      else {
        const down = await this.#leafVerdict(downstream);
        verdict = down.fraud
          ? { fraud: false, reason: `stage ${downstream.stage}: ${down.reason}` }
          : { fraud: undefined, reason: "both leaves re-execute correctly: not attributable" };
      }
    }
    this.#verdicts.set(disputeId, verdict);
    return verdict;
  }

  async #leafVerdict(item: LedgerItem): Promise<{ fraud: boolean; reason: string }> {
    const manifest = await this.manifest(getAddress(item.worker), item.itemsRoot);
    if (!manifest) return { fraud: true, reason: "items manifest not served within the availability deadline" };
    const checked = await this.verify(getAddress(item.worker), manifest, item.leaf);
    return checked.ok ? { fraud: false, reason: "re-execution matches" } : { fraud: true, reason: checked.reason };
  }

  /** Slashes the workers of this validator's availability challenges that were not answered in time. */
  async #settleAvailability(): Promise<void> {
    if (this.#availability.size === 0) return;
    const now = (await this.p.publicClient.getBlock()).timestamp;
    for (const [challengeId, { deadline, worker }] of this.#availability) {
      if (now <= deadline) continue;
      try {
        await slashUnavailable(this.p.wallet, { deployments: this.p.deployments, challengeId });
        this.note({ type: "unavailableSlashed", challengeId, worker });
      } catch (err) {
        // Answered by the worker (or settled by someone else) meanwhile.
        if (!(err instanceof ComputeLedgerAvailabilityNotOpenError)) throw err;
      }
      this.#availability.delete(challengeId);
    }
  }

  /** Resolves `disputeId` (anyone may once every member voted or the window closed); returns its status. */
  async resolve(disputeId: bigint): Promise<DisputeStatus> {
    await resolveDispute(this.p.wallet, { deployments: this.p.deployments, disputeId });
    const d = await getDispute(this.p.wallet, { deployments: this.p.deployments, disputeId });
    this.note({ type: "resolve", disputeId, status: d.status });
    return d.status;
  }
}
