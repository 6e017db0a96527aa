// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {EmissionHarness} from "./ledger/LedgerActors.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelToken} from "../interfaces/IModelToken.sol";

contract ComputeLedgerRewardsTest is LedgerTestBase {
    EmissionHarness internal harness;

    function setUp() public override {
        super.setUp();
        harness = new EmissionHarness();
        _warpToCommit(modelId, 0);
    }

    function _commitItems(uint64 id, uint64 round, uint16 stage, uint256 w, uint32 itemCount) internal {
        Commitment memory c = _commitment(id, round, stage, w, keccak256(abi.encode(id, round, stage, w)), itemCount);
        _submit(c, _sign(signingKeys[w], c));
    }

    // ---------------------------------------------------------------- finalizeRound

    function test_finalize_beforeChallengeEnd_reverts() public {
        _commit(modelId, 0, 0, 0);
        vm.warp(_genesis(modelId) + COMMIT_SEC + CHALLENGE_SEC - 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerChallengeWindowOpen.selector, modelId, 0));
        ledger.finalizeRound(modelId, 0);
    }

    function test_finalize_fixesUnitsAndEmission() public {
        _commit(modelId, 0, 0, 0);
        _warpPastChallenge(modelId, 0);
        vm.expectEmit(address(ledger));
        emit RoundFinalized(modelId, 0, 40, TOKENS_PER_ROUND);
        ledger.finalizeRound(modelId, 0);
        RoundState memory r = ledger.roundState(modelId, 0);
        assertTrue(r.finalized);
        assertEq(r.emissionTokens, TOKENS_PER_ROUND);
        assertEq(ledger.emissionAllocated(modelId), TOKENS_PER_ROUND);
        assertEq(token.totalSupply(), 0); // finalization mints nothing by itself
    }

    function test_finalize_twice_reverts() public {
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAlreadyFinalized.selector, modelId, 0));
        ledger.finalizeRound(modelId, 0);
    }

    function test_finalize_emptyRound_reservesNothing() public {
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        assertEq(ledger.roundState(modelId, 0).emissionTokens, 0);
        assertEq(ledger.emissionAllocated(modelId), 0);
    }

    function test_finalize_laterRound_decays() public {
        _warpToCommit(modelId, 3);
        _commit(modelId, 3, 0, 0);
        _warpPastChallenge(modelId, 3);
        ledger.finalizeRound(modelId, 3);
        // 1000 * 0.95^3 = 857.375
        assertEq(ledger.roundState(modelId, 3).emissionTokens, 857.375e18);
    }

    function test_finalize_clampsToCap_outOfOrder() public {
        IModelRegistry.ModelSpec memory s = _spec(1, 8);
        s.emission = IModelRegistry.Emission(100e18, 0, 250e18);
        vm.prank(designer);
        (uint64 id,) = registry.registerModel(s);
        for (uint64 r; r < 3; ++r) {
            _warpToCommit(id, r);
            _commitItems(id, r, 0, 0, 1);
        }
        _warpPastChallenge(id, 2);
        ledger.finalizeRound(id, 2);
        ledger.finalizeRound(id, 0);
        ledger.finalizeRound(id, 1);
        assertEq(ledger.roundState(id, 2).emissionTokens, 100e18);
        assertEq(ledger.roundState(id, 0).emissionTokens, 100e18);
        assertEq(ledger.roundState(id, 1).emissionTokens, 50e18);
        for (uint64 r; r < 3; ++r) ledger.mintReward(id, r, workers[0]);
        assertEq(IModelToken(registry.tokenOf(id)).totalSupply(), 250e18);
    }

    // ---------------------------------------------------------------- mintReward

    function test_mint_beforeFinalize_reverts() public {
        _commit(modelId, 0, 0, 0);
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotFinalized.selector, modelId, 0));
        ledger.mintReward(modelId, 0, workers[0]);
        assertEq(token.totalSupply(), 0);
    }

    function test_mint_proRataWithDesignerShare() public {
        _commitItems(modelId, 0, 0, 0, 2); // 20 units
        _commitItems(modelId, 0, 1, 1, 3); // 60 units
        _commitItems(modelId, 0, 0, 2, 2); // 20 units
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectEmit(address(ledger));
        emit RewardMinted(modelId, 0, workers[1], payouts[1], 540e18, 60e18, 60);
        (uint256 w, uint256 d) = ledger.mintReward(modelId, 0, workers[1]);
        assertEq(w, 540e18);
        assertEq(d, 60e18);
        assertEq(token.balanceOf(payouts[1]), 540e18);
        assertEq(token.balanceOf(designer), 60e18);
        assertEq(token.balanceOf(workers[1]), 0); // identity gets nothing, payout does
        ledger.mintReward(modelId, 0, workers[0]);
        ledger.mintReward(modelId, 0, workers[2]);
        assertEq(token.totalSupply(), TOKENS_PER_ROUND);
        assertEq(ledger.roundState(modelId, 0).mintedTokens, TOKENS_PER_ROUND);
    }

    function test_mint_sumsAllStagesOfWorker() public {
        _commitItems(modelId, 0, 0, 0, 1); // 10
        _commitItems(modelId, 0, 1, 0, 1); // 20
        _commitItems(modelId, 0, 0, 1, 3); // 30
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        (uint256 w, uint256 d) = ledger.mintReward(modelId, 0, workers[0]);
        assertEq(w + d, TOKENS_PER_ROUND / 2);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[0]).rewarded);
    }

    function test_mint_twice_reverts() public {
        _commit(modelId, 0, 0, 0);
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        ledger.mintReward(modelId, 0, workers[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[0]));
        ledger.mintReward(modelId, 0, workers[0]);
    }

    function test_mint_nonCommitter_reverts() public {
        _commit(modelId, 0, 0, 0);
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[3]));
        ledger.mintReward(modelId, 0, workers[3]);
    }

    function test_mint_goesToCurrentPayout() public {
        _commit(modelId, 0, 0, 0);
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.prank(workers[0]);
        ledger.setPayoutAddress(address(0xBEEF));
        vm.prank(makeAddr("anyone"));
        ledger.mintReward(modelId, 0, workers[0]);
        assertEq(token.balanceOf(address(0xBEEF)), TOKENS_PER_ROUND * 9 / 10);
    }

    function test_mint_onlyLedgerCanMintToken() public {
        vm.expectRevert();
        token.mint(address(this), 1);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_mintReward_proRata(uint32 a, uint32 b, uint32 c, bool sameStage) public {
        a = uint32(bound(a, 1, MICROBATCHES));
        b = uint32(bound(b, 1, MICROBATCHES));
        c = uint32(bound(c, 1, MICROBATCHES));
        _commitItems(modelId, 0, 0, 0, a);
        _commitItems(modelId, 0, sameStage ? 0 : 1, 1, b);
        _commitItems(modelId, 0, 1, 2, c);
        uint256 ua = uint256(a) * 10;
        uint256 ub = uint256(b) * (sameStage ? 10 : 20);
        uint256 uc = uint256(c) * 20;
        uint256 total = ua + ub + uc;
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        uint256 minted;
        uint256[3] memory units = [ua, ub, uc];
        for (uint256 i; i < 3; ++i) {
            (uint256 w, uint256 d) = ledger.mintReward(modelId, 0, workers[i]);
            uint256 share = TOKENS_PER_ROUND * units[i] / total;
            assertEq(w + d, share);
            assertEq(d, share * DESIGNER_BPS / 10_000);
            assertEq(token.balanceOf(payouts[i]), w);
            minted += share;
        }
        assertLe(minted, TOKENS_PER_ROUND);
        assertLe(TOKENS_PER_ROUND - minted, 3); // rounding dust: below one wei per worker
        assertEq(token.totalSupply(), minted);
    }

    function testFuzz_emission_matchesStepwiseDecay(uint64 round, uint16 decayBps, uint128 tokensPerRound) public view {
        round = uint64(bound(round, 0, 300));
        decayBps = uint16(bound(decayBps, 0, 10_000));
        tokensPerRound = uint128(bound(tokensPerRound, 1, 1e30));
        uint256 got = harness.emissionAt(tokensPerRound, decayBps, round);
        // reference in 1e36 fixed point, one multiplication per round
        uint256 ref = uint256(tokensPerRound) * 1e36;
        for (uint256 i; i < round; ++i) ref = ref * (10_000 - decayBps) / 10_000;
        ref /= 1e36;
        assertLe(got, ref + 1);
        assertApproxEqAbs(got, ref, ref / 1e15 + 2);
    }

    function testFuzz_emission_monotoneAndBounded(uint64 round, uint16 decayBps) public view {
        decayBps = uint16(bound(decayBps, 0, 10_000));
        round = uint64(bound(round, 0, type(uint64).max - 1));
        uint256 now_ = harness.emissionAt(TOKENS_PER_ROUND, decayBps, round);
        uint256 next = harness.emissionAt(TOKENS_PER_ROUND, decayBps, round + 1);
        assertLe(next, now_);
        assertLe(now_, TOKENS_PER_ROUND);
    }

    function test_emission_edgeCases() public view {
        assertEq(harness.emissionAt(1000, 0, type(uint64).max), 1000);
        assertEq(harness.emissionAt(1000, 10_000, 0), 1000);
        assertEq(harness.emissionAt(1000, 10_000, 1), 0);
        assertEq(harness.emissionAt(1e18, 5000, 1), 0.5e18);
        assertEq(harness.emissionAt(1e18, 5000, 10), 1e18 / 1024);
        assertEq(harness.emissionAt(1e18, 1, 200_000_000), 0);
    }
}

/// @dev Attestations, the validators' share of emission, false-attestation slashing, weights
/// continuity proofs and one open dispute per item. Model `m4` has 4 microbatches per round, so each
/// validator's single attestable draw always hits one of a worker's 4 committed leaves.
contract ComputeLedgerValidatorRewardsTest is LedgerTestBase {
    uint64 internal m4;

    function setUp() public override {
        super.setUp();
        m4 = _register(2, 4);
        for (uint256 i; i < validators.length; ++i) {
            vm.startPrank(validators[i]);
            ledger.setValidator(modelId, VALIDATOR_STAGE, false);
            ledger.setValidator(m4, 0, true); // these tests attest and dispute stage 0 of m4
            vm.stopPrank();
        }
        _warpToCommit(m4, 0);
    }

    /// @dev Worker `w` commits the honest 4-leaf tree of `stage` for model m4, round `round`.
    function _commit4(uint64 round, uint16 stage, uint256 w) internal returns (Commitment memory c) {
        c = _commit(m4, round, stage, w);
    }

    /// @dev The leaf validator `v`'s draw 0 hits in worker `w`'s stage commitment, ready to attest.
    function _sampled(Commitment memory c, address v) internal view returns (CommittedItem memory item) {
        uint32 index = ledger.sampledIndex(m4, c.round, v, c.worker, c.stage, 0);
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _items(c.stage, false, 0, none);
        item = _committedItem(c, leaves, hashes, index);
    }

    function _attest(address v, CommittedItem memory item, uint32 draw) internal {
        CommittedItem[] memory items = new CommittedItem[](1);
        uint32[] memory draws = new uint32[](1);
        items[0] = item;
        draws[0] = draw;
        vm.prank(v);
        ledger.attestItems(items, draws);
    }

    function test_attestDraws_tenPercentOfTheRound_cappedSoLongRoundsCostTheSame() public {
        assertEq(ledger.attestDraws(_register(2, 1)), 1);
        assertEq(ledger.attestDraws(_register(2, 11)), 2);
        assertEq(ledger.attestDraws(_register(2, 40)), ledger.MAX_ATTEST_DRAWS());
        assertEq(ledger.attestDraws(_register(2, 4096)), ledger.MAX_ATTEST_DRAWS());
    }

    function testFuzz_attestDraws_neverAboveCapNorZero(uint32 microbatches) public {
        microbatches = uint32(bound(microbatches, 1, 1 << 20));
        uint256 draws = ledger.attestDraws(_register(2, microbatches));
        assertGe(draws, 1);
        assertLe(draws, ledger.MAX_ATTEST_DRAWS());
        assertLe(draws, microbatches);
    }

    function test_attest_sampledItems_countOnce_mintProRata_workersShareRest() public {
        Commitment memory c0 = _commit4(0, 0, 0);
        Commitment memory c1 = _commit4(0, 1, 1);
        _warpToChallenge(m4, 0);
        assertEq(ledger.roundSeed(m4, 0), bytes32(0));
        bytes32 seed = _sealSeed(m4, 0);
        assertTrue(seed != bytes32(0));
        assertEq(ledger.sealRoundSeed(m4, 0), seed); // idempotent
        assertEq(ledger.attestDraws(m4), 1);

        CommittedItem memory a = _sampled(c0, validators[0]);
        // validators hold one stage: a batch with another stage's item is refused whole
        CommittedItem[] memory batch = new CommittedItem[](2);
        uint32[] memory draws = new uint32[](2);
        batch[0] = a;
        batch[1] = _sampled(c1, validators[0]);
        vm.prank(validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotStageValidator.selector, m4, uint16(1)));
        ledger.attestItems(batch, draws);
        vm.startPrank(validators[2]);
        ledger.setValidator(m4, 0, false);
        ledger.setValidator(m4, 1, true);
        vm.stopPrank();
        _attest(validators[0], a, 0);
        _attest(validators[2], _sampled(c1, validators[2]), 0);
        _attest(validators[1], _sampled(c0, validators[1]), 0);
        assertTrue(ledger.isAttested(m4, 0, 0, workers[0], validators[0], a.leaf.microbatch));
        assertEq(ledger.validatorRound(m4, 0, validators[0]).units, 10); // stage 0
        assertEq(ledger.validatorRound(m4, 0, validators[2]).units, 20); // stage 1
        assertEq(ledger.validatorRound(m4, 0, validators[1]).units, 10);
        assertEq(ledger.roundState(m4, 0).attestedUnits, 40);

        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAlreadyAttested.selector, 0));
        _attest(validators[0], a, 0);

        _warpPastChallenge(m4, 0);
        ledger.finalizeRound(m4, 0);
        RoundState memory r = ledger.roundState(m4, 0);
        uint256 pool = uint256(TOKENS_PER_ROUND) * VALIDATOR_BPS / 10_000;
        assertEq(r.validatorTokens, pool);
        assertEq(ledger.mintValidatorReward(m4, 0, validators[2]), pool * 20 / 40);
        assertEq(ledger.mintValidatorReward(m4, 0, validators[0]), pool * 10 / 40);
        assertEq(ledger.mintValidatorReward(m4, 0, validators[1]), pool * 10 / 40);
        assertEq(_token4().balanceOf(validators[2]), pool * 20 / 40); // payout = the validator itself
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, m4, 0, validators[2]));
        ledger.mintValidatorReward(m4, 0, validators[2]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, m4, 0, validators[3]));
        ledger.mintValidatorReward(m4, 0, validators[3]);

        (uint256 w0,) = ledger.mintReward(m4, 0, workers[0]);
        (uint256 w1,) = ledger.mintReward(m4, 0, workers[1]);
        uint256 workerPool = TOKENS_PER_ROUND - pool;
        assertEq(w0, workerPool * 40 / 120 - workerPool * 40 / 120 * DESIGNER_BPS / 10_000);
        assertLe(_token4().totalSupply(), TOKENS_PER_ROUND);
        assertEq(ledger.roundState(m4, 0).mintedTokens, _token4().totalSupply());
        assertGt(w1, w0);
    }

    function test_attest_unsampledDrawOrIndex_reverts() public {
        Commitment memory c0 = _commit4(0, 0, 0);
        _warpToChallenge(m4, 0);
        _sealSeed(m4, 0);
        CommittedItem memory item = _sampled(c0, validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotSampled.selector, 0));
        _attest(validators[0], item, 1); // past attestDraws
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _items(0, false, 0, none);
        CommittedItem memory other = _committedItem(c0, leaves, hashes, (item.leaf.index + 1) % 4);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotSampled.selector, 0));
        _attest(validators[0], other, 0);
    }

    function test_attest_outsideChallengeWindow_orNotValidator_orWrongRoots_reverts() public {
        Commitment memory c0 = _commit4(0, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, m4, 0));
        ledger.sealRoundSeed(m4, 0); // the seed cannot exist while commitments are accepted
        _warpToChallenge(m4, 0);
        CommittedItem memory item = _sampled(c0, validators[0]);
        _sealSeed(m4, 0);
        item = _sampled(c0, validators[0]);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        _attest(workers[1], item, 0);
        CommittedItem memory forged = item;
        forged.weightsRootAfter = keccak256("not the committed root");
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        _attest(validators[0], forged, 0);
        _warpPastChallenge(m4, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, m4, 0));
        _attest(validators[0], item, 0);
    }

    function test_slashFalseAttestation_attesterOfFraudItem_slashedAndForfeits() public {
        Commitment memory c0 = _commit4(0, 0, 0);
        _warpToChallenge(m4, 0);
        _sealSeed(m4, 0);
        CommittedItem memory item = _sampled(c0, validators[0]);
        _attest(validators[0], item, 0);
        CommittedItem memory other = _sampled(c0, validators[1]);
        _attest(validators[1], other, 0);

        // validator 4 challenges the very leaf validator 0 vouched for; the committee finds fraud
        uint256 bond = ledger.challengeBondWei(m4);
        vm.prank(validators[4]);
        uint256 id = ledger.challengeItem{value: bond}(item);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNoFraudProven.selector, id));
        ledger.slashFalseAttestation(id, validators[0]); // still open
        _decide(id, true);

        uint256 stakeBefore = ledger.staker(validators[0]).stakeWei;
        uint256 proverCredits = ledger.paymentsOf(validators[3]); // its voter share, if it sat on the committee
        vm.prank(validators[3]);
        ledger.slashFalseAttestation(id, validators[0]);
        Staker memory s = ledger.staker(validators[0]);
        assertEq(s.stakeWei, stakeBefore / 2);
        assertTrue(s.jailed);
        assertTrue(ledger.validatorRound(m4, 0, validators[0]).forfeited);
        assertEq(ledger.paymentsOf(validators[3]) - proverCredits, stakeBefore / 2 / 2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotAttested.selector, id, validators[0]));
        ledger.slashFalseAttestation(id, validators[0]); // once per attestation
        if (other.leaf.index != item.leaf.index) {
            vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotAttested.selector, id, validators[1]));
            ledger.slashFalseAttestation(id, validators[1]);
        }

        _warpPastChallenge(m4, 0);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.finalizeRound(m4, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, m4, 0, validators[0]));
        ledger.mintValidatorReward(m4, 0, validators[0]);
        // the slashed attester's units left the pool before finalization: validator 1 gets it whole,
        // unless its own attestation was of the same fraudulent leaf (then nobody is paid)
        if (other.leaf.index != item.leaf.index) {
            assertEq(ledger.mintValidatorReward(m4, 0, validators[1]), uint256(ledger.roundState(m4, 0).validatorTokens));
        }
    }

    function test_challengeItem_sameLeafTwice_secondRevertsBeforeBonding() public {
        Commitment memory c0 = _commit4(0, 0, 0);
        _warpToChallenge(m4, 0);
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves, bytes32[] memory hashes) = _items(0, false, 0, none);
        CommittedItem memory item = _committedItem(c0, leaves, hashes, 2);
        uint256 bond = ledger.challengeBondWei(m4);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(item);
        assertEq(ledger.openDisputeOfItem(m4, 0, 0, workers[0], 2), id);
        uint256 balance = validators[1].balance;
        vm.prank(validators[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerItemAlreadyDisputed.selector, id));
        ledger.challengeItem{value: bond}(item);
        assertEq(validators[1].balance, balance);
        // another leaf of the same commitment is still open to challenge
        vm.prank(validators[1]);
        ledger.challengeItem{value: bond}(_committedItem(c0, leaves, hashes, 3));
        _decide(id, false);
        assertEq(ledger.openDisputeOfItem(m4, 0, 0, workers[0], 2), 0);
    }

    function test_proveWeightsBreak_slashesWorkerWithoutCommittee() public {
        Commitment memory r0 = _commit4(0, 1, 2);
        _warpToCommit(m4, 1);
        Commitment memory r1 = _commitment(m4, 1, 1, 2, _itemsRoot(1), 4);
        r1.weightsRootBefore = keccak256("restarted from other weights");
        _submit(r1, _sign(signingKeys[2], r1));
        assertEq(ledger.roundState(m4, 1).totalUnits, 80);

        uint256 stakeBefore = ledger.staker(workers[2]).stakeWei;
        vm.prank(validators[0]);
        ledger.proveWeightsBreak(r0, r1);
        assertTrue(ledger.staker(workers[2]).jailed);
        assertEq(ledger.staker(workers[2]).stakeWei, stakeBefore / 2);
        assertEq(ledger.paymentsOf(validators[0]), stakeBefore / 2 / 2);
        assertEq(ledger.roundState(m4, 1).totalUnits, 0);
        assertTrue(ledger.commitmentOf(m4, 1, 1, workers[2]).slashed);
        assertEq(ledger.disputeCount(), 0);
        vm.prank(validators[1]);
        vm.expectRevert(ComputeLedgerCommitmentSlashed.selector);
        ledger.proveWeightsBreak(r0, r1);
    }

    function test_proveWeightsBreak_continuousOrForgedOrLate_reverts() public {
        Commitment memory r0 = _commit4(0, 0, 3);
        _warpToCommit(m4, 1);
        Commitment memory r1 = _commit4(1, 0, 3);
        vm.startPrank(validators[0]);
        vm.expectRevert(ComputeLedgerNotAWeightsBreak.selector);
        ledger.proveWeightsBreak(r0, r1); // the honest chain: after(0) == before(1)
        Commitment memory fakePrevious = r0;
        fakePrevious.weightsRootAfter = keccak256("claimed by the prover, never committed");
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.proveWeightsBreak(fakePrevious, r1);
        vm.stopPrank();
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        vm.prank(workers[0]);
        ledger.proveWeightsBreak(fakePrevious, r1);
        _warpPastChallenge(m4, 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, m4, 1));
        vm.prank(validators[0]);
        ledger.proveWeightsBreak(fakePrevious, r1);
    }

    function _token4() internal view returns (IModelToken) {
        return IModelToken(registry.tokenOf(m4));
    }
}
