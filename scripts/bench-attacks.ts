/**
 * Attacks of the adversarial review (issue 11) against the real contracts, written to
 * bench/attacks.json: each attack's cost to the attacker, its expected gain and its outcome, as
 * measured by contracts/test/ComputeLedgerAttacks.t.sol (which asserts every outcome it logs), plus
 * the committee-capture probability from a simulation of the ledger's exact draw rule.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { LEVEL_SEATS, binomialMajorityTail, population, seatsForTarget, simulateLevel } from "./lib/attacks/capture.ts";

const TEST_FILE = "contracts/test/ComputeLedgerAttacks.t.sol";
/** The colluding-neighbour attack and its answer, link receipts (docs/PROTOCOL.md "Link receipts"). */
const RECEIPTS_TEST_FILE = "contracts/test/ComputeLedgerLinkReceipts.t.sol";
const SIM_DISPUTES = Number(process.env.ATTACKS_SIM_DISPUTES ?? 100_000);
/** Valuation assumption: compute cost of one microbatch; the token is priced so honest work breaks even. */
const COST_PER_MICROBATCH_WEI = 10n ** 16n; // 0.01 ETH

/** `attack <key> <value>` lines of the Solidity test output. */
export function parseAttackLogs(output: string): Record<string, bigint> {
  const figures: Record<string, bigint> = {};
  for (const raw of output.split("\n")) {
    const m = /^\s*attack\s+(\S+)\s+(-?\d+)\s*$/.exec(raw);
    if (m) figures[m[1]!] = BigInt(m[2]!);
  }
  return figures;
}

function runAttackTests(): string {
  try {
    return execFileSync("npx", ["hardhat", "test", "solidity", TEST_FILE, RECEIPTS_TEST_FILE, "-vv"], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
  } catch (error: unknown) {
    const stdout = (error as { stdout?: unknown }).stdout;
    if (typeof stdout !== "string" || !stdout.includes("passing")) throw error;
    console.error("bench:attacks: some attack tests FAILED; their logged figures are recorded, see the output above");
    process.exitCode = 1;
    return stdout;
  }
}

const eth = (wei: bigint | number): string => `${(Number(wei) / 1e18).toPrecision(4)} ETH`;

async function main() {
  console.error("bench:attacks: running the attack tests on the real contracts...");
  const f = parseAttackLogs(runAttackTests());
  const need = (key: string): bigint => {
    const v = f[key];
    if (v === undefined) throw new Error(`missing figure "${key}" in the test output`);
    return v;
  };
  const test = (name: string) => `${TEST_FILE}::${name}`;

  // ------------------------------------------------------------ committee capture (simulation)
  console.error(`bench:attacks: simulating ${SIM_DISPUTES} disputes per (q, level)...`);
  const committeeRows = [];
  for (const [label, q] of [
    ["10%", 0.1],
    ["20%", 0.2],
    ["33%", 1 / 3],
  ] as const) {
    const pop = population(q);
    const drawable = pop.total - pop.weights[pop.challenger]!;
    const qEff = (q * pop.total) / drawable;
    const levels = [];
    for (let level = 0; level < LEVEL_SEATS.length; ++level) {
      const sim = await simulateLevel(pop, level, SIM_DISPUTES);
      levels.push({
        seats: sim.seats,
        simulatedDisputes: sim.disputes,
        simulatedAttackerMajorities: sim.attackerMajorities,
        simulatedFrequency: sim.frequency,
        simulationResolution: 1 / sim.disputes,
        meanFilledSeats: Number(sim.meanFilledSeats.toFixed(3)),
        exactBinomialTail: binomialMajorityTail(sim.seats, qEff),
      });
    }
    const p61 = levels[2]!.exactBinomialTail;
    committeeRows.push({
      attackerStake: label,
      q,
      qAmongDrawable: qEff,
      levels,
      perDisputeCaptureNoAppeal: levels[0]!.exactBinomialTail,
      perDisputeCaptureWithAppeals: p61,
      meetsTarget1e6: p61 < 1e-6,
    });
  }
  const committeeCapture = {
    drawRule:
      "seat attempt a of level l of dispute id hits keccak256(abi.encode(blockhash(drawBlock), id, l, a)) % totalWeight over cumulative validator stakes (StakeSortition); parties skipped; 3 attempts a seat; with replacement",
    population:
      "attacker stake split among 50 equal sybils, honest stake among 150 validators of random sizes; the challenger (an honest validator) is a party and skipped, so the attacker's share of drawable stake is slightly above q",
    appealRule:
      "the honest side appeals every wrong verdict (MAX_APPEALS = 2, levels of 5, 19, 61 seats) and the attacker appeals every verdict against it, so every contested dispute ends at the 61-seat level: per-dispute capture = P[Bin(61, q) > 30.5]",
    assumptions: [
      "every drawn seat votes (the verdict is the majority of CAST seats: honest abstention lowers the bar, see row own-abstention)",
      "the block hash is unbiased (a block proposer can bias both the challenge block and the draw)",
      `the simulation cannot resolve frequencies below ~1/${SIM_DISPUTES} (${(1 / SIM_DISPUTES).toExponential(0)}); the exact binomial tail is authoritative below it`,
    ],
    target: "below 1e-6 per dispute at 20% of validator stake",
    targetMet: committeeRows[1]!.meetsTarget1e6,
    committeeSizeAndRuleForTarget: `final level of 61 seats reached by appeal (5 -> 19 -> 61); at q = 0.2 the smallest final committee under 1e-6 is ${seatsForTarget(0.2, 1e-6)} seats, under 1e-7 ${seatsForTarget(0.2, 1e-7)}`,
    rows: committeeRows,
  };

  // ------------------------------------------------------------ 1. over-claim EV
  const k = Number(need("overclaim.k"));
  const c = Number(need("overclaim.c"));
  const V = Number(need("overclaim.validators"));
  const D = Number(need("overclaim.attestDraws"));
  const slashWei = need("overclaim.slashedWei");
  const upm = need("overclaim.unitsPerMicrobatch");
  const tokensPerMicrobatch = (need("overclaim.undetectedWorkerTokens") * upm) / (BigInt(c) * upm); // worker tokens per item
  const priceWeiPerToken = Number(COST_PER_MICROBATCH_WEI) / (Number(tokensPerMicrobatch) / 1e18);
  const overclaimEv = (kk: number) => {
    const pUndetected = (kk / c) ** (V * D);
    const extraWei = (c - kk) * Number(COST_PER_MICROBATCH_WEI); // extra items paid at the break-even price
    const lossWei = Number(slashWei) + kk * Number(COST_PER_MICROBATCH_WEI); // stake slashed + the real items unpaid
    const ev = pUndetected * extraWei - (1 - pUndetected) * lossWei;
    const breakEvenCost = ((1 - pUndetected) * Number(slashWei)) / (pUndetected * (c - kk) - (1 - pUndetected) * kk);
    return {
      k: kk,
      c,
      pUndetected,
      extraRewardWei: extraWei,
      evWei: ev,
      breakEvenCostPerMicrobatchWei: breakEvenCost > 0 ? breakEvenCost : null,
    };
  };
  const overclaimTable = Array.from({ length: c - 1 }, (_, i) => overclaimEv(i + 1));
  const measured = overclaimEv(k);
  const colludeLoss = need("colludeDemand.coalitionLossWei");

  // ------------------------------------------------------------ 2. committee for sale (on-chain)
  const K = need("committee.K");
  const qRig = Number(need("committee.sybilWeightBpsOfDrawable")) / 1e4;
  const rigCost = need("committee.attackerBondsWei") + need("committee.attackerStakeLossWei") - need("committee.attackerPaymentsWei");
  const rigPerDisputeGain = binomialMajorityTail(61, qRig) * 0.75 * 1e18; // challenger 50% + voters 25% of a 1 ETH slash

  const valuation = `token valued at ${priceWeiPerToken.toExponential(3)} wei (${(priceWeiPerToken / 1e18).toExponential(3)} ETH) per token: the price at which a worker's emission for one microbatch (${(Number(tokensPerMicrobatch) / 1e18).toFixed(2)} tokens in the test round) equals an assumed compute cost of ${eth(COST_PER_MICROBATCH_WEI)} per microbatch, i.e. honest work breaks even (honest EV = 0 per round, minus gas)`;

  const attacks = [
    {
      id: "1",
      name: "Pay without checkable work (itemCount over a one-leaf tree)",
      before: "itemCount was signed and paid with nothing binding it to leaves: a one-leaf tree claiming every microbatch was paid in full",
      now: `any validator demands index < itemCount (challengeAvailability); the over-claimer cannot reveal index 5, slashUnavailable takes ${eth(slashWei)} (50% of ${eth(need("overclaim.stakeWei"))}), jails it, voids its round (mintReward reverts NothingToMint); the auditor gets its bond back + ${eth(need("overclaim.auditorRewardWei"))}. Undetected, k=${k} of c=${c} would have been paid ${(Number(need("overclaim.undetectedWorkerTokens")) / 1e18).toFixed(0)} tokens (2x an honest 4-leaf peer). P(undetected) = (k/c)^(V*D) with V=${V} auditors x D=${D} draws = ${measured.pUndetected.toExponential(3)}; EV = ${eth(measured.evWei)} vs honest EV 0`,
      attackerCostWei: slashWei.toString(),
      expectedGainWei: Math.round(measured.pUndetected * measured.extraRewardWei).toString(),
      expectedValueWei: Math.round(measured.evWei).toString(),
      honestExpectedValueWei: "0",
      valuation,
      evByRealLeaves: overclaimTable,
      profitable: measured.evWei > 0,
      status: "fixed",
      test: test("test_attack1_overclaim_oneLeafTree_slashedByAvailability"),
    },
    {
      id: "1b",
      name: "Over-claim with fabricated leaves behind the missing indices",
      before: "(variant, own) not reviewed",
      now: `a tree of 1 real + 7 fabricated leaves answers every availability demand (revealItem succeeds and the auditor's ${eth(need("overclaimFabricated.bondToCheaterWei"))} bond goes to the cheater); only an item challenge (${eth(need("overclaimFabricated.itemChallengeBondWei"))} bond, a committee re-executing the leaf) slashes it (${eth(need("overclaimFabricated.slashedWei"))}). Data availability binds itemCount to leaves that exist, not to work done; detection needs the same sampled re-execution, so the EV table of row 1 applies only if auditors re-execute every sampled leaf and challenge`,
      attackerCostWei: need("overclaimFabricated.slashedWei").toString(),
      expectedGainWei: Math.round(measured.pUndetected * measured.extraRewardWei).toString(),
      profitable: false,
      status: "partially mitigated",
      test: test("test_attack1b_overclaim_fabricatedLeaves_answerDemands_itemChallengeSlashes"),
    },
    {
      id: "1c",
      name: "Colluding validator front-runs the auditor's demand (self-report)",
      before: "(own finding)",
      now: `one open demand per leaf: the colluder's demand of the same index makes the auditor's revert (AvailabilityAlreadyChallenged); the colluder settles first and collects WINNER_SHARE of the slash: coalition loss ${eth(colludeLoss)} (25% of stake) instead of ${eth(need("colludeDemand.slashedWei"))}, honest auditor reward ${eth(need("colludeDemand.auditorRewardWei"))}. Same pattern for challengeItem (ItemAlreadyDisputed). Halves the deterrent and removes the auditors' incentive whenever the cheater has a validator friend`,
      attackerCostWei: colludeLoss.toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "open",
      test: test("test_attack1c_colluderFrontRunsDemand_coalitionLosesQuarter_auditorGetsNothing"),
    },
    {
      id: "2",
      name: "Committee for sale (challenge that reverts unless its sybils are seated)",
      before:
        "the committee was drawn inside the challenge transaction: a challenge reverting unless 2 of 3 seats were sybils, retried each block, captured any dispute",
      now: `inside the challenge tx the panel is empty (${need("committee.panelMembersVisibleAtChallenge")} members) and drawCommittee reverts DrawNotReady; the draw is a pure function of blockhash(drawBlock) (same panel from another caller 100 blocks later; a second draw reverts). K=${K} framings by 3 min-stake sybils among 5 honest validators (sybil share of drawable stake ${(qRig * 100).toFixed(1)}%): level-0 captures ${need("committee.level0Captured")}/${need("committee.level0Reached")} (binomial ${(binomialMajorityTail(5, qRig) * Number(K)).toFixed(2)} expected), after honest appeal: 19 seats ${need("committee.level1Captured")}/${need("committee.level1Reached")}, 61 seats ${need("committee.level2Captured")}/${need("committee.level2Reached")}; final wins ${need("committee.finalWins")}. Attacker lost ${eth(need("committee.attackerBondsWei") - need("committee.attackerPaymentsWei"))} of bonds + ${eth(need("committee.attackerStakeLossWei"))} of vote penalties; honest appeal bonds ${eth(need("committee.honestAppealBondsWei"))} all refunded`,
      attackerCostWei: rigCost.toString(),
      expectedGainWei: Math.round(rigPerDisputeGain * Number(K)).toString(),
      profitable: false,
      status: "fixed",
      test: test("test_attack2_committeeForSale_kDisputes_honestAppeals"),
      alsoTest: test("test_attack2_committeeForSale_noCommitteeWhenChallengeLands_drawDeterministic"),
    },
    {
      id: "3",
      name: "Validator sybil flood (zero-stake setValidator entries)",
      before: "3,000 empty entries made 97 of 100 challenges revert NoCommittee",
      now: `${need("flood.entries")} zero-stake entries (${need("flood.gasPerEntry")} gas each): ${need("flood.fullCommittees")}/${need("flood.challenges")} challenges of real fraud got a full 5-seat committee, ${need("flood.floodSeats")} seats went to flood entries; the first resolved Fraud`,
      attackerCostWei: "0",
      attackerCostGas: (need("flood.gasPerEntry") * need("flood.entries")).toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_attack3_sybilFlood_zeroStakeEntriesNeverSeated"),
    },
    {
      id: "3b",
      name: "Under-minimum stake dilutes committees (own finding)",
      before:
        "(own finding, first version of this redesign) 60 entries of 0.49 ETH left 6 of 30 fraud committees empty; an empty committee dismissed and the fraud went unslashed",
      now: `${need("dilution.entries")} entries of 0.49 ETH (under the model's 0.5 ETH minimum; ${eth(need("dilution.lockedWei"))} locked vs ${eth(need("dilution.eligibleWei"))} eligible) are weighted in the sortition but skipped at the draw; ${need("dilution.shortAfterOneCall")} of ${need("dilution.disputes")} committees were short after one drawCommittee call and were drawn further by later calls (at most ${need("dilution.maxDrawCalls")} calls): seats 0..5 = ${[0, 1, 2, 3, 4, 5].map((s) => need(`dilution.seats${s}`)).join("/")}, the fraud slashed. Emptying a 5-seat committee now needs all of its 150 attempts to miss (about 19x the eligible stake parked for a 1% chance)`,
      attackerCostWei: "0",
      attackerCapitalLockedWei: need("dilution.lockedWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_own_underMinimumStake_delaysButCannotEmptyCommittees"),
    },
    {
      id: "4",
      name: "Seed grinding (first sealRoundSeed caller reverts until the seed suits it)",
      before: "the first caller fixed the seed and could revert until it liked it",
      now: `the first call only names its block; 5 calls in that block by 2 accounts leave it unchanged; the sealed seed equals keccak256(blockhash(B), model, round) whoever seals and is identical to the one another caller sealed; sealed for good. Residual: if nobody seals for 256 blocks the block moves (measured at ${need("seed.rerollAfterWithheldBlocks")} blocks): a lone caller gets a re-roll only while every other validator stays silent (attestItems also seals)`,
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_attack4_seedGrinding_seedIndependentOfCallerAndRepeats"),
    },
    {
      id: "5",
      name: "Copying another worker's commitment",
      before: "a verbatim copy of another worker's commitment (worker field changed) was paid like the original",
      now: `every signed commitment names the pipeline neighbours it exchanged the round's data with (upstream, downstream; bound in the stored digest); a verbatim copy names the original's neighbours, which are linked to the original, so anyone voids it with a pure proof (proveUnlinked); a copy naming made-up neighbours still claims the original's inputs and is voided as a duplicate of the linked original (proveDuplicate; every pipeline's data is keyed by its head). The copier mints ${(Number(need("copy.copierTokens")) / 1e18).toFixed(0)} tokens, the original ${(Number(need("copy.originalTokens")) / 1e18).toFixed(0)}. Voided is not slashed and a neighbour alone voids nobody (a made-up or absent neighbour costs an honest stage nothing); a voided copy stays challengeable. A neighbour that colludes with the copier is row 5b`,
      attackerCostWei: "0",
      expectedGainWei: need("copy.copierTokens").toString(),
      valuation,
      profitable: false,
      status: "fixed",
      test: "contracts/test/ComputeLedgerAttacks.t.sol::test_attack5_copyCommitment_voidedAndEarnsNothing, test_attack5_copyOfStageZero_voidedThroughItsDownstream, test_attack5_copyNamingAMadeUpNeighbour_voidedAsDuplicate, test_lyingNeighbourAlone_cannotVoidItsHonestNeighbour, test_voidedCopy_staysSlashable_unitsRemovedOnce",
    },
    {
      id: "5b",
      name: "A neighbour colludes with a copier (names it instead of the worker it fed)",
      before:
        "the upstream named the copier on a microbatch the honest downstream trained; the copier named it back, so proveUnlinked voided the honest worker's whole commitment and the copy was paid: the pair gained one share for no compute",
      now: `every stage signs a link receipt (EIP-712) of the microbatches it exchanged with each neighbour once its round is durable, and a stage makes a round durable only with its upstream's receipt in hand; proveLinkEquivocation slashes a worker whose leaf contradicts a receipt it signed (${eth(need("collude.liarSlashedWei"))} of 2 ETH, ${eth(need("collude.proverRewardWei"))} of it to the prover), restores the commitment its lie voided and voids the copy: the victim mints ${(Number(need("collude.victimTokens")) / 1e18).toFixed(1)} tokens (its full share), the copier ${(Number(need("collude.copierTokens")) / 1e18).toFixed(0)}. Rotating the signing key does not hide a lie (a key retired after the round began stays evidence). The miner sends the proof itself from its journaled receipts (worker/commit/defend.ts). Residual: a downstream that lies about its upstream and withholds its own receipt voids the upstream unshielded, for no gain (the copy it names is voided through its own upstream)`,
      attackerCostWei: need("collude.liarSlashedWei").toString(),
      expectedGainWei: "0",
      valuation,
      profitable: false,
      status: "fixed",
      test: `${RECEIPTS_TEST_FILE}::test_colludingUpstream_victimRestored_liarSlashed_copyVoided, testFuzz_colludingUpstream_anyRoutingAnyMicrobatch_victimKeepsItsUnits, test_colludingUpstream_voidedAsDuplicate_restored, test_colludingDownstream_upstreamRestored_liarSlashed, test_keyRotation_retiredKeyEvidenceOnlyForRoundsItServed`,
    },
    {
      id: "6",
      name: "Escrow griefing (pipelines without consent; fulfilment not bound to who served)",
      before:
        "any staked operator could put others (and the treasury) into new pipelines: ~4,100 pipelines pushed a withdraw past 30M gas; a staked operator front-ran a fulfilment with itself on every stage and took the whole operator share",
      now: "a pipeline is registered only with every operator's EIP-712 (or ERC-1271) consent; the treasury's share is one counter; withdrawals pull per listed pipeline, so nobody can lengthen another's withdrawal; a request names its pipeline and only its members fulfil (a non-member's copy reverts, a member's copy pays the same members the same shares)",
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: "contracts/test/InferenceEscrowPipelines.t.sol::test_registerPipeline_withoutOthersConsent_reverts, test_withdraw_gasIndependentOfOthersPipelines; contracts/test/InferenceEscrow.t.sol::test_fulfill_frontRunWithOwnPipeline_reverts",
    },
    {
      id: "7",
      name: "Unsettleable registry terms",
      before:
        "a challenge window longer than 7 commit windows locked honest workers out of the commitment ring; a cap the emission schedule can never reach (2^96-1 at 1,000 tokens/round, 50% decay) locked every wei of holder revenue for good",
      now: "registerModel rejects commit + challenge + 6 vote windows beyond 8 commit windows (ModelRegistrySettlementOutlastsRing) or 7 days (ModelRegistrySettlementOutlastsUnbonding), and caps whose revenue-release supply the schedule cannot reach (ModelRegistryCapUnreachable, a proven lower bound of the schedule's total)",
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: "contracts/test/ModelRegistry.t.sol::test_registerModel_settlementOutlastsRing_reverts, test_registerModel_settlementOutlastsUnbonding_reverts, test_registerModel_capUnreachableBySchedule_reverts",
    },
    {
      id: "8",
      name: "Chain break pairing two different pipelines",
      before: "a chain-break challenge was free: pairing leaves of workers that never exchanged data slashed one of them",
      now: `a chain break may only pair two commitments that name each other as neighbours (up.downstream == down.worker and down.upstream == up.worker, both bound in the stored digests): the cross-pipeline pairing reverts ComputeLedgerNotLinked before any bond is taken, and re-pointing the neighbours fails the digest check; the honest stage-1 worker loses ${eth(need("chainbreak.victimSlashedWei"))}. Still open: a break between linked neighbours where the downstream made up its input and computed on it correctly is not attributable (validators abstain; needs per-frame signatures of the sender)`,
      attackerCostWei: need("chainbreak.dismissedLossWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      statusNote:
        "cross-pipeline framing is refused outright; fabricated-input breaks between real neighbours stay unattributable (never slashed, not paid for either)",
      test: test("test_attack8_chainBreakAcrossPipelines_refusedUnlessLinked"),
    },
    {
      id: "9a",
      name: "Front-running one commitment out of a relayed batch",
      before: "the duplicate reverted the whole batch",
      now: `the exact copy is skipped: the batch lands, units counted once (${need("frontrun.totalUnits")} = ${need("frontrun.expectedUnits")})`,
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_attack9a_frontRunRelayedBatch_copySkippedBatchLands"),
    },
    {
      id: "9a'",
      name: "A worker in a relayed batch rotates its key just before it lands (own finding)",
      before: "(own finding)",
      now: `rotateSigningKey (${need("keyGrief.rotateGas")} gas) makes the all-or-nothing batch revert InvalidSignature for every worker in it (${need("keyGrief.relayerGasWasted")} gas wasted on a batch of 3); rotating back revives the same signatures, so it can be repeated on each relay attempt until the commit window closes`,
      attackerCostWei: "0",
      attackerCostGas: need("keyGrief.rotateGas").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "open",
      test: test("test_own_workerRotatesKey_sinksRelayedBatch"),
    },
    {
      id: "9b",
      name: "Dispute nobody votes on",
      before: "a dispute nobody voted on cost its opener nothing",
      now: `dismissed: the challenger loses ${eth(need("noVote.challengerLossWei"))} (DISMISS_FEE_BPS, credited to the accused); ${need("noVote.absentSeats")} absent seats lose ${eth(need("noVote.absentPenaltyPerSeatWei"))} each (${eth(need("noVote.absentPenaltiesWei"))}, burned: no coherent seat)`,
      attackerCostWei: need("noVote.challengerLossWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_attack9b_disputeNobodyVotesOn_dismissFeeAndAbsentPenalties"),
    },
    {
      id: "9c",
      name: "Tokens sent to the token contract",
      before: "tokens sent to the token contract earned revenue nobody could claim",
      now: "transfer, transferFrom and mint to the token itself revert (ERC20InvalidReceiver)",
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: "contracts/test/ModelToken.t.sol::test_transfer_toTokenContract_reverts",
    },
    {
      id: "own-stall",
      name: "Stalling a dispute by never drawing; re-rolling by withholding the draw",
      before: "(own finding)",
      now: `an undrawn dispute blocks finalizeRound (DisputesOpen) but anyone can draw it; withheld ${need("stall.redrawAfterBlocks")} blocks, the hash is gone and the draw moves to a new block (CommitteeDrawDeferred): a new panel (differs: ${need("stall.redrawnPanelDiffers") === 1n ? "yes" : "no"}). Everyone can compute the pending panel from the public hash, so the side it favours draws it; a re-roll needs every party and validator silent for 256 blocks (~51 min on L1, far less on fast L2s)`,
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "partially mitigated",
      test: test("test_own_stallByNeverDrawing_anyoneDraws_redrawAfter256Blocks"),
    },
    {
      id: "own-dodge",
      name: "Committee member unbonds to dodge its penalty",
      before: "(own finding)",
      now: `the member's stake stays locked (withdrawStake reverts StakeAtRisk after 7 days) until the dispute resolves; the absent-seat penalty ${eth(need("dodge.penaltyWei"))} is taken`,
      attackerCostWei: need("dodge.penaltyWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_own_memberUnbondsToDodgePenalty_stakeStaysLocked"),
    },
    {
      id: "own-double-slash",
      name: "Double slashing through concurrent disputes",
      before: "(own finding)",
      now: `2 item disputes + 1 availability demand, all proven, against one worker's round: slashed once (${eth(need("doubleSlash.slashedWei"))}, not ${eth(need("doubleSlash.compoundedWouldBeWei"))})`,
      attackerCostWei: "0",
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_own_concurrentDisputes_slashOnce"),
    },
    {
      id: "own-appeal-grief",
      name: "Appeal griefing (the accused appeals a correct verdict twice)",
      before: "(own finding)",
      now: `the accused loses both appeal bonds (${eth(need("appealGrief.lostBondsWei"))}) to delay the round's finalization by at most ${need("appealGrief.maxDelaySec")} s here (2 vote + 2 appeal windows); the verdict stands`,
      attackerCostWei: need("appealGrief.lostBondsWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "partially mitigated",
      test: test("test_own_appealGriefing_accusedAppealsTwice_losesBonds"),
    },
    {
      id: "own-abstention",
      name: "Capture by abstention (a lone sybil seat decides while honest seats are absent)",
      before:
        "(own finding, first version of this redesign) with 4 honest seats absent, 1 sybil seat decided a framing: an honest worker slashed 1 ETH, attacker net +0.95 ETH",
      now: `a verdict needs a majority of all drawn seats: ${need("abstain.sybilSeats")} sybil seat(s) against ${need("abstain.honestSeatsAbsent")} absent honest seats decide nothing, the dispute is dismissed, the victim keeps its stake and the framer loses ${eth(need("abstain.attackerLossWei"))}`,
      attackerCostWei: need("abstain.attackerLossWei").toString(),
      expectedGainWei: "0",
      profitable: false,
      status: "fixed",
      test: test("test_own_captureByAbstention_minorityCannotDecide"),
    },
  ];

  const result = {
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? "unknown"}), Node ${process.version}, Hardhat 3 EDR Solidity tests, solc 0.8.28`,
    measuredAt: new Date().toISOString(),
    economics:
      "LedgerTestBase: worker stake 2 ETH (min 1), validators 5 x 1 ETH (min 0.5), challenge bond 0.5 ETH, availability bond 0.05 ETH, vote penalty 0.05 ETH a seat, appeal bonds 1 and 2 ETH, 1000 tokens a round, 8 microbatches a round (1 attestation draw each)",
    valuation,
    figures: Object.fromEntries(Object.entries(f).map(([key, v]) => [key, v.toString()])),
    attacks,
    committeeCapture,
  };
  await mkdir("bench", { recursive: true });
  await writeFile("bench/attacks.json", `${JSON.stringify(result, null, 2)}\n`);

  console.table(
    attacks.map((a) => ({
      id: a.id,
      name: a.name.length > 58 ? `${a.name.slice(0, 57)}…` : a.name,
      cost: a.attackerCostWei === null ? "-" : eth(BigInt(a.attackerCostWei)),
      gain: a.expectedGainWei === null ? "-" : eth(BigInt(a.expectedGainWei)),
      profitable: a.profitable ?? "-",
      status: a.status,
    })),
  );
  console.table(
    committeeRows.flatMap((r) =>
      r.levels.map((l) => ({
        stake: r.attackerStake,
        qDrawable: r.qAmongDrawable.toFixed(4),
        seats: l.seats,
        simulated: `${l.simulatedAttackerMajorities}/${l.simulatedDisputes}`,
        exact: l.exactBinomialTail.toExponential(3),
      })),
    ),
  );
  console.table(
    committeeRows.map((r) => ({
      stake: r.attackerStake,
      noAppeal: r.perDisputeCaptureNoAppeal.toExponential(3),
      withAppeals: r.perDisputeCaptureWithAppeals.toExponential(3),
      "< 1e-6": r.meetsTarget1e6,
    })),
  );
  console.log("written bench/attacks.json");
}

main().catch((error: unknown) => {
  console.error(`bench:attacks: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
