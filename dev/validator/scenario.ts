import * as tf from "@tensorflow/tfjs";
import type { Libp2p } from "@libp2p/interface";
import { type Address, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { accountAt, actionsOf, deployShardholder, type Shardholder } from "../../scripts/lib/localProtocol.ts";
import { sampleModelSpec } from "../../scripts/lib/sampleSpec.ts";
import type { ModelSpec as LedgerModelSpec } from "../../sdk/actions/models/registerModel.ts";
import type { SignedCommitment } from "../../sdk/actions/miner/submitCommitments.ts";
import {
  createStage,
  defaultModelSpec,
  initialWeightsRoots,
  type ModelSpec,
  specHash,
  stageTrainingFlops,
} from "../../worker/model/index.ts";
import { createPipeNode } from "../../worker/p2p/node.ts";
import { type CommitTamper, commitMined, createMiner, type MinedRound, MinerPipeline, type StageMiner } from "../cheat/miner.ts";
import type { StageCheat } from "../cheat/strategies.ts";
import { Reexecutor, transformerData } from "../../worker/validator/reexecute.ts";
import type { Tolerance } from "../../worker/validator/tolerance.ts";
import { Validator } from "../../worker/validator/validator.ts";
import type { MicrobatchSource, PipelineStage } from "../../worker/pipeline/types.ts";
import { withholdInputs } from "../cheat/records.ts";
import { decodeManifest } from "../../worker/p2p/content.ts";
import { readContract } from "viem/actions";
import { computeLedgerAbi } from "../../sdk/abi/computeLedger.ts";
import { DisputeKind, DisputeStatus } from "../../sdk/protocol/disputeStatus.ts";

/** The tiny model every cheating test trains: 2 stages of one block each. */
export function tinySpec(initSeed = 1): ModelSpec {
  return defaultModelSpec({
    dModel: 16,
    heads: 2,
    layers: 2,
    dFeedForward: 32,
    contextLength: 16,
    microbatchSize: 4,
    microbatchesPerStep: 4,
    stageCount: 2,
    initSeed,
    learningRate: 1e-2,
  });
}

/** The ledger registration of a worker spec: real initial weights roots and FLOP-derived units. */
export function ledgerSpec(spec: ModelSpec, microbatchesPerRound: number, symbol: string): LedgerModelSpec {
  const roots = initialWeightsRoots(spec);
  return sampleModelSpec({
    name: spec.name,
    symbol,
    specHash: specHash(spec),
    initialWeightsRoots: roots,
    unitsPerMicrobatch: spec.stages.map((_, s) => BigInt(Math.round(stageTrainingFlops(spec, s) / 1000))),
    microbatchesPerRound,
  });
}

/**
 * Chain, two registered models and their validators, sharing one libp2p node. Validators hold one
 * stage: model 1's are wallets 1 and 2 (stage 0) and 3 and 4 (stage 1); model 2's are 16 and 18
 * (stage 0) and 17 and 19 (stage 1).
 */
export type Bench = {
  s: Shardholder;
  spec: ModelSpec;
  otherSpec: ModelSpec;
  microbatches: number;
  data: MicrobatchSource;
  /** Model 1's validators: the auditor of each stage (stage order), then the committee members. */
  validators: Validator[];
  /** The auditor of each stage of model 1 (`validators[0..stageCount)`). */
  auditors: Validator[];
  /** Validators of model 2, same layout, for commitments claimed for a model not trained. */
  otherValidators: Validator[];
  reexecutor: Reexecutor;
  node: Libp2p;
  peers: Map<Address, string>;
  genesis: bigint;
};

export async function setupBench({
  fraction,
  tolerance,
  microbatches = 4,
}: {
  fraction: number;
  tolerance: Tolerance;
  microbatches?: number;
}): Promise<Bench> {
  await tf.setBackend("cpu");
  const s = await deployShardholder();
  const spec = tinySpec(1);
  const otherSpec = tinySpec(2);
  const designer = actionsOf(s, 0);
  await designer.registerModel({ spec: ledgerSpec(spec, microbatches, "TNY") });
  await designer.registerModel({ spec: ledgerSpec(otherSpec, microbatches, "TNY2") });
  const genesis = (await designer.getModel({ modelId: 1n })).genesisTime;
  const node = await createPipeNode();
  const peers = new Map<Address, string>();
  const reexecutor = new Reexecutor(spec);
  // [wallet, stage]: each stage's auditor first, then its committee member.
  const make = (modelId: bigint, modelSpec: ModelSpec, seats: [number, number][]) =>
    seats.map(
      ([i, stage]) =>
        new Validator({
          wallet: s.wallets[i] as Validator["p"]["wallet"],
          publicClient: s.publicClient,
          deployments: s.deployments,
          modelId,
          stage,
          stageCount: 2,
          reexecutor,
          data: transformerData(modelSpec, modelId),
          tolerance,
          node,
          peerOf: (w) => peers.get(w),
          fraction,
          fetchTimeoutMs: 3000,
          // Withheld content does not come back here: judge it unavailable after a short retry (long
          // enough for a first dial on a busy machine: an attempt's timeout is cut to the time left).
          availabilityDeadlineMs: 8000,
        }),
    );
  const validators = make(1n, spec, [
    [1, 0],
    [3, 1],
    [2, 0],
    [4, 1],
  ]);
  const otherValidators = make(2n, otherSpec, [
    [16, 0],
    [17, 1],
    [18, 0],
    [19, 1],
  ]);
  for (const v of [...validators, ...otherValidators]) await v.stakeAsValidator(parseEther("1"));
  return {
    s,
    spec,
    otherSpec,
    microbatches,
    data: transformerData(spec, 1n),
    validators,
    auditors: validators.slice(0, 2),
    otherValidators,
    reexecutor,
    node,
    peers,
    genesis,
  };
}

/** A strategy of the miner at `stage` (wallet 6 for stage 0, 7 for stage 1; the other stage is honest). */
export type Strategy = {
  name: string;
  stage: number;
  cheat?: StageCheat | undefined;
  /** First round the miner cheats in (earlier rounds honest; a stage cheat must itself behave so). */
  fromRound?: number | undefined;
  tamper?:
    | ((ctx: { round: bigint; history: MinedRound[][]; honest: MinedRound[]; bench: Bench; miners: StageMiner[] }) => CommitTamper)
    | undefined;
  /** Signs with a key that is not the worker's registered one. */
  forgeSignature?: boolean | undefined;
  /** After committing: refuses to serve the inputs of its items. */
  withhold?: boolean | undefined;
  /** The commitment names model 2 (audited by model 2's validators). */
  claimsOtherModel?: boolean | undefined;
  /**
   * In cheating rounds the pipeline trains the data of this head instead of stage 0's own: the
   * work a pipeline headed by that address commits, which a stage-0 cheater then copies.
   */
  copiesHead?: ((bench: Bench) => Address) | undefined;
};

export type StrategyOutcome = {
  name: string;
  caught: boolean;
  /** How: a dispute the committee decided as fraud, or a rejected submission. */
  how: "slashed" | "rejected" | "none";
  rejectedWith?: string | undefined;
  roundsUntilCaught: number | null;
  stakeLostWei: bigint;
  /** Tokens the cheater minted for the rounds it cheated in (must be 0). */
  cheaterRewardTokens: bigint;
  /** Tokens the cheater minted for rounds it worked honestly (before cheating). */
  cheaterHonestRewardTokens: bigint;
  honest: { worker: Address; slashed: boolean; stakeLostWei: bigint; rewardTokens: bigint; expectedTokens: bigint }[];
  falseChallenges: number;
  /** Tokens the auditing validator minted for its on-chain attestations over all rounds. */
  validatorRewardTokens: bigint;
  /** Items the auditor attested on-chain (its attestable draws that verified). */
  attestedOnChain: number;
  /** Auditor's re-execution compute (forward + backward), committee votes excluded. */
  validatorComputeMs: number;
  /** Items the auditor re-executed, and their training FLOPs (from the spec). */
  validatorItems: number;
  validatorFlops: number;
  /** Miners' training compute (forward + backward of every stage) and FLOPs over all rounds. */
  trainingComputeMs: number;
  trainingFlops: number;
  /** Rounds run, and microbatch items the miners trained over them (every stage). */
  rounds: number;
  itemsTrained: number;
};

/** What each bench miner stakes. */
export const MINER_STAKE_WEI = parseEther("2");

const WORKER_WALLETS = [6, 7];

/** Runs rounds until the cheater is caught (or `maxRounds`), then finalizes and mints every round. */
export async function runStrategy(bench: Bench, strategy: Strategy, maxRounds = 3): Promise<StrategyOutcome> {
  const { s, spec, microbatches, data } = bench;
  const relayer = actionsOf(s, 0);
  const miners: StageMiner[] = [];
  for (let stage = 0; stage < 2; stage++) {
    const wallet = WORKER_WALLETS[stage] as number;
    const signer = privateKeyToAccount(generatePrivateKey());
    let st: PipelineStage = createStage(spec, stage);
    if (stage === strategy.stage && strategy.cheat) st = strategy.cheat(st, spec);
    const miner = await createMiner({ worker: accountAt(s, wallet), signer, stage: st });
    await actionsOf(s, wallet).stake({ payout: accountAt(s, wallet + 8), signingKey: signer.address, valueWei: MINER_STAKE_WEI });
    bench.peers.set(miner.worker, miner.address);
    miners.push(miner);
  }
  const cheater = miners[strategy.stage] as StageMiner;
  const honestMiners = miners.filter((m) => m !== cheater);
  const pipeline = await MinerPipeline.connect(miners, specHash(spec));
  const history: MinedRound[][] = [];
  const outcome: StrategyOutcome = {
    name: strategy.name,
    caught: false,
    how: "none",
    roundsUntilCaught: null,
    stakeLostWei: 0n,
    cheaterRewardTokens: 0n,
    cheaterHonestRewardTokens: 0n,
    honest: [],
    falseChallenges: 0,
    validatorRewardTokens: 0n,
    attestedOnChain: 0,
    validatorComputeMs: 0,
    validatorItems: 0,
    validatorFlops: 0,
    trainingComputeMs: 0,
    trainingFlops: 0,
    rounds: 0,
    itemsTrained: 0,
  };
  const commitEnd = (r: bigint) => bench.genesis + (r + 1n) * 3600n;
  const cheaterSlots: { modelId: bigint; round: bigint; cheating: boolean }[] = [];
  const honestUnits = new Map<bigint, bigint>();
  let rounds = 0;
  for (let r = 0n; r < BigInt(maxRounds) && !outcome.caught; r++) {
    rounds++;
    const cheating = r >= BigInt(strategy.fromRound ?? 0);
    // A round of several optimizer steps when the registered microbatches allow it (20 = 5 steps of 4).
    const perStep = microbatches % spec.microbatchesPerStep === 0 ? spec.microbatchesPerStep : microbatches;
    const mined = await pipeline.run({
      round: r,
      microbatches: perStep,
      steps: microbatches / perStep,
      data,
      head: cheating ? strategy.copiesHead?.(bench) : undefined,
    });
    history.push(mined);
    for (const m of mined) {
      outcome.trainingComputeMs += m.result.timings.forwardMs + m.result.timings.backwardMs;
      outcome.trainingFlops += m.result.records.length * stageTrainingFlops(spec, m.result.stage);
      outcome.itemsTrained += m.result.records.length;
    }
    const ledger = s.deployments.contracts.computeLedger;
    const chainId = s.deployments.chainId;
    const honestSigned: SignedCommitment[] = [];
    for (const m of honestMiners)
      honestSigned.push(await commitMined(m, mined[m.stage.index] as MinedRound, { modelId: 1n, round: r, ledger, chainId }));
    const tamper = cheating ? strategy.tamper?.({ round: r, history, honest: mined, bench, miners }) : undefined;
    const forged = cheating && strategy.forgeSignature ? privateKeyToAccount(generatePrivateKey()) : undefined;
    const cheaterSigned = await commitMined(cheater, mined[strategy.stage] as MinedRound, {
      modelId: 1n,
      round: r,
      ledger,
      chainId,
      tamper,
      signer: forged,
    });
    await relayer.submitCommitments({ signed: honestSigned });
    for (const c of honestSigned)
      honestUnits.set(
        r,
        (honestUnits.get(r) ?? 0n) +
          (await relayer.getCommitment({ modelId: 1n, round: r, stage: c.commitment.stage, worker: c.commitment.worker })).units,
      );
    try {
      await relayer.submitCommitments({ signed: [cheaterSigned] });
      cheaterSlots.push({ modelId: cheaterSigned.commitment.modelId, round: cheaterSigned.commitment.round, cheating });
      // Honest work of the (future) cheater rightly counts in the round's total.
      if (!cheating)
        honestUnits.set(
          r,
          (honestUnits.get(r) ?? 0n) +
            (await relayer.getCommitment({ modelId: 1n, round: r, stage: strategy.stage, worker: cheater.worker })).units,
        );
    } catch (err) {
      if (!cheating) throw err;
      Object.assign(outcome, { caught: true, how: "rejected", rejectedWith: (err as Error).name, roundsUntilCaught: rounds });
    }
    if (cheating && strategy.withhold) withholdAll(cheater, cheaterSigned);
    const claimedModel = cheaterSigned.commitment.modelId;
    const end = claimedModel === 1n ? commitEnd(r) : (await relayer.getModel({ modelId: claimedModel })).genesisTime + (r + 1n) * 3600n;
    await s.networkHelpers.time.increaseTo(end > commitEnd(r) ? end : commitEnd(r));
    const auditors = claimedModel === 1n ? bench.validators : bench.otherValidators;
    const audits = [];
    for (const v of auditors.slice(0, 2)) audits.push(await v.auditRound(r));
    if (claimedModel !== 1n) for (const v of bench.auditors) audits.push(await v.auditRound(r));
    outcome.validatorComputeMs += audits.reduce((t, a) => t + a.computeMs, 0);
    outcome.validatorItems += audits.reduce((t, a) => t + a.sampled, 0);
    outcome.validatorFlops += audits.reduce((t, a) => t + a.sampledFlops, 0);
    outcome.attestedOnChain += audits.reduce((t, a) => t + a.attestedOnChain, 0);
    for (const w of audits.flatMap((a) => a.weightsBreaks)) {
      if (w === cheater.worker) Object.assign(outcome, { caught: true, how: "slashed", roundsUntilCaught: rounds });
      else outcome.falseChallenges++;
    }
    // Committees are drawn after the challenge's block and vote; then the appeal windows and the
    // availability deadlines pass (vote window of the sample spec) and unanswered demands are slashed.
    for (let pass = 0; pass < 2; pass++) for (const v of auditors) await v.serveCommittee();
    await s.networkHelpers.time.increase(1801);
    for (const v of auditors) await v.serveCommittee();
    for (const id of audits.flatMap((a) => a.availability)) {
      const a = await readContract(s.publicClient, {
        abi: computeLedgerAbi,
        address: s.deployments.contracts.computeLedger,
        functionName: "availabilityChallenge",
        args: [id],
      });
      if (a.status !== 3) continue;
      if (a.worker === cheater.worker) Object.assign(outcome, { caught: true, how: "slashed", roundsUntilCaught: rounds });
      else outcome.falseChallenges++;
    }
    for (const id of audits.flatMap((a) => a.disputes)) {
      await (auditors[0] as Validator).resolve(id);
      const d = await relayer.getDispute({ disputeId: id });
      const loser =
        d.status === DisputeStatus.Fraud
          ? d.accused
          : d.status === DisputeStatus.Honest && d.kind === DisputeKind.ChainBreak
            ? d.counterparty
            : undefined;
      if (loser === cheater.worker) Object.assign(outcome, { caught: true, how: "slashed", roundsUntilCaught: rounds });
      // A challenge that slashes an honest miner, or accuses one and loses, is a false challenge.
      else if (loser !== undefined || (d.accused !== cheater.worker && d.counterparty !== cheater.worker)) outcome.falseChallenges++;
    }
  }
  await s.networkHelpers.time.increaseTo(commitEnd(BigInt(rounds)) + 3600n);
  for (let r = 0n; r < BigInt(rounds); r++) {
    await relayer.finalizeRound({ modelId: 1n, round: r });
    const state = await relayer.getRound({ modelId: 1n, round: r });
    for (const m of honestMiners) {
      const minted = await relayer.mintReward({ modelId: 1n, round: r, worker: m.worker });
      const c = await relayer.getCommitment({ modelId: 1n, round: r, stage: m.stage.index, worker: m.worker });
      // Unaffected: paid as if the cheater's units never counted (its units leave the round on slash).
      const expected = ((state.emissionTokens - state.validatorTokens) * c.units) / (honestUnits.get(r) as bigint);
      pushHonest(outcome, m.worker, minted.workerTokens + minted.designerTokens, expected);
    }
  }
  for (let r = 0n; r < BigInt(rounds); r++) {
    for (const v of bench.validators) {
      const mine = await relayer.getValidatorRound({ modelId: 1n, round: r, validator: v.address });
      if (mine.units > 0n && !mine.minted && !mine.forfeited)
        outcome.validatorRewardTokens += (await relayer.mintValidatorReward({ modelId: 1n, round: r, validator: v.address })).tokens;
    }
  }
  for (const slot of cheaterSlots) {
    if (slot.modelId !== 1n) continue;
    const c = await relayer.getCommitment({ modelId: 1n, round: slot.round, stage: strategy.stage, worker: cheater.worker });
    if (c.slashed || c.rewarded) continue;
    const tokens = (await relayer.mintReward({ modelId: 1n, round: slot.round, worker: cheater.worker })).workerTokens;
    if (slot.cheating) outcome.cheaterRewardTokens += tokens;
    else outcome.cheaterHonestRewardTokens += tokens;
  }
  outcome.rounds = rounds;
  outcome.stakeLostWei = MINER_STAKE_WEI - (await relayer.getStaker({ account: cheater.worker })).stakeWei;
  for (const h of outcome.honest) {
    const st = await relayer.getStaker({ account: h.worker });
    h.slashed = st.jailed;
    h.stakeLostWei = MINER_STAKE_WEI - st.stakeWei;
  }
  for (const m of miners) {
    m.stage.dispose();
    await m.node.stop();
  }
  return outcome;
}

function pushHonest(outcome: StrategyOutcome, worker: Address, reward: bigint, expected: bigint): void {
  const h = outcome.honest.find((x) => x.worker === worker);
  if (h) {
    h.rewardTokens += reward;
    h.expectedTokens += expected;
  } else outcome.honest.push({ worker, slashed: false, stakeLostWei: 0n, rewardTokens: reward, expectedTokens: expected });
}

function withholdAll(miner: StageMiner, signed: SignedCommitment): void {
  // The manifest stays served (the leaves can be challenged); the inputs behind them are not.
  const manifest = miner.store.get("items", signed.commitment.itemsRoot);
  if (manifest) withholdInputs(miner.store, decodeManifest(manifest).items);
  miner.store.withheld.add(signed.commitment.weightsRootBefore);
}

export async function closeBench(bench: Bench): Promise<void> {
  bench.reexecutor.dispose();
  await bench.node.stop();
}
