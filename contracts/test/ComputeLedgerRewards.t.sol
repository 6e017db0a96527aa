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
