// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelRegistryErrors} from "../interfaces/IModelRegistryErrors.sol";
import {IModelTokenErrors} from "../interfaces/IModelTokenErrors.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {ModelToken} from "../ModelToken.sol";
import {EmissionMath} from "../ledger/EmissionMath.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";

contract ModelRegistryTest is EconomyBase {
    function setUp() public {
        _deployRegistry();
    }

    // ------------------------------------------------------------ deployment and ledger binding

    function test_constructor_zeroImplementation_reverts() public {
        vm.expectRevert(IModelRegistryErrors.ModelRegistryZeroAddress.selector);
        new ModelRegistry(address(0));
    }

    function test_bindLedger_setsOnceAndEmits() public {
        ModelRegistry r = new ModelRegistry(address(tokenImpl));
        assertEq(r.ledger(), address(0));
        assertEq(r.deployer(), address(this));
        vm.expectEmit(address(r));
        emit IModelRegistry.LedgerBound(minter);
        r.bindLedger(minter);
        assertEq(r.ledger(), minter);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryLedgerAlreadyBound.selector, minter));
        r.bindLedger(address(0xbeef));
    }

    function test_bindLedger_byOther_reverts() public {
        ModelRegistry r = new ModelRegistry(address(tokenImpl));
        vm.prank(designer);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryUnauthorized.selector, designer));
        r.bindLedger(minter);
    }

    function test_bindLedger_zero_reverts() public {
        ModelRegistry r = new ModelRegistry(address(tokenImpl));
        vm.expectRevert(IModelRegistryErrors.ModelRegistryZeroAddress.selector);
        r.bindLedger(address(0));
    }

    function test_registerModel_beforeLedgerBound_reverts() public {
        ModelRegistry r = new ModelRegistry(address(tokenImpl));
        vm.expectRevert(IModelRegistryErrors.ModelRegistryLedgerNotBound.selector);
        r.registerModel(_spec(2));
    }

    // ------------------------------------------------------------ registration

    function test_registerModel_storesTermsAndDeploysInitializedToken() public {
        IModelRegistry.ModelSpec memory s = _spec(3);
        vm.warp(1_700_000_000);
        address predicted = registry.predictTokenAddress(1);
        vm.expectEmit(address(registry));
        emit IModelRegistry.ModelRegistered(1, designer, predicted, s.specHash, 3, s.name, s.symbol);
        (uint64 id, ModelToken token) = _register(s);

        assertEq(id, 1);
        assertEq(address(token), predicted);
        assertEq(registry.modelCount(), 1);
        assertEq(registry.tokenOf(1), address(token));
        IModelRegistry.Model memory m = registry.model(1);
        assertEq(m.designer, designer);
        assertEq(m.token, address(token));
        assertEq(m.genesisTime, 1_700_000_000);
        assertEq(m.stageCount, 3);
        assertEq(m.microbatchesPerRound, s.microbatchesPerRound);
        assertEq(m.specHash, s.specHash);
        assertEq(m.emission.tokensPerRound, s.emission.tokensPerRound);
        assertEq(m.emission.decayBps, s.emission.decayBps);
        assertEq(m.emission.capTokens, s.emission.capTokens);
        assertEq(m.protocolFeeBps, s.protocolFeeBps);
        assertEq(m.operatorFeeBps, s.operatorFeeBps);
        assertEq(m.designerEmissionBps, s.designerEmissionBps);
        assertEq(m.validatorEmissionBps, s.validatorEmissionBps);
        assertEq(m.minRequestFeeWei, s.minRequestFeeWei);
        assertEq(m.timing.commitWindowSec, s.timing.commitWindowSec);
        assertEq(m.timing.challengeWindowSec, s.timing.challengeWindowSec);
        assertEq(m.timing.voteWindowSec, s.timing.voteWindowSec);
        assertEq(m.minWorkerStakeWei, s.minWorkerStakeWei);
        assertEq(m.minValidatorStakeWei, s.minValidatorStakeWei);
        for (uint16 i; i < 3; ++i) {
            assertEq(registry.initialWeightsRoot(1, i), s.initialWeightsRoots[i]);
            assertEq(registry.unitsPerMicrobatch(1, i), s.unitsPerMicrobatch[i]);
        }
        assertEq(registry.metadataURI(1), "ipfs://meta");

        // the token is a full copy of the implementation's runtime code (no proxy), initialized with the ledger
        // as minter
        assertEq(address(token).code, address(tokenImpl).code);
        assertEq(token.name(), s.name);
        assertEq(token.symbol(), s.symbol);
        assertEq(token.decimals(), 18);
        assertEq(token.minter(), minter);
        assertEq(token.cap(), s.emission.capTokens);
        assertEq(token.totalSupply(), 0);
    }

    function test_registerModel_idsIncreaseAndTokensDiffer() public {
        (uint64 a, ModelToken ta) = _register(_spec(1));
        (uint64 b, ModelToken tb) = _register(_spec(32));
        assertEq(a, 1);
        assertEq(b, 2);
        assertTrue(address(ta) != address(tb));
        assertEq(address(tb), _create2Address(address(registry), 2, address(tokenImpl)));
        assertEq(registry.model(2).stageCount, 32);
    }

    function test_registerModel_tokenCannotBeReinitialized() public {
        (, ModelToken token) = _register(_spec(1));
        vm.expectRevert(IModelTokenErrors.ModelTokenAlreadyInitialized.selector);
        token.initialize("X", "X", address(this), 1e18);
    }

    // ------------------------------------------------------------ validation: one error per field

    function test_registerModel_emptyName_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.name = "";
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryEmptyName.selector));
    }

    function test_registerModel_emptySymbol_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.symbol = "";
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryEmptySymbol.selector));
    }

    function test_registerModel_zeroSpecHash_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.specHash = bytes32(0);
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroSpecHash.selector));
    }

    function test_registerModel_zeroStages_reverts() public {
        _expectRegisterRevert(
            _spec(0), abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryInvalidStageCount.selector, 0)
        );
    }

    function test_registerModel_tooManyStages_reverts() public {
        _expectRegisterRevert(
            _spec(33), abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryInvalidStageCount.selector, 33)
        );
    }

    function test_registerModel_unitsLengthMismatch_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(3);
        s.unitsPerMicrobatch = new uint64[](2);
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryStageLengthMismatch.selector, 3, 2)
        );
    }

    function test_registerModel_zeroUnits_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(3);
        s.unitsPerMicrobatch[2] = 0;
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroUnits.selector, 2));
    }

    function test_registerModel_zeroWeightsRoot_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(3);
        s.initialWeightsRoots[1] = bytes32(0);
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroWeightsRoot.selector, 1)
        );
    }

    function test_registerModel_zeroMicrobatches_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.microbatchesPerRound = 0;
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroMicrobatches.selector));
    }

    function test_registerModel_protocolFeeAbove500_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.protocolFeeBps = 501;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryProtocolFeeTooHigh.selector, 501)
        );
    }

    function test_registerModel_feeSplitAbove100Percent_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.protocolFeeBps = 500;
        s.operatorFeeBps = 9501;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryFeeSplitTooHigh.selector, 500, 9501)
        );
    }

    function test_registerModel_feeSplitExactly100Percent_accepted() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.protocolFeeBps = 500;
        s.operatorFeeBps = 9500;
        (uint64 id,) = _register(s);
        assertEq(registry.model(id).operatorFeeBps, 9500);
    }

    function test_registerModel_designerEmissionAbove2000_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.designerEmissionBps = 2001;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryDesignerEmissionTooHigh.selector, 2001)
        );
    }

    function test_registerModel_validatorEmissionAbove2000_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.validatorEmissionBps = 2001;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryValidatorEmissionTooHigh.selector, 2001)
        );
        s.validatorEmissionBps = 2000;
        (uint64 id,) = _register(s);
        assertEq(registry.model(id).validatorEmissionBps, 2000);
    }

    function test_registerModel_decayAbove10000_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission.decayBps = 10_001;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryDecayTooHigh.selector, 10_001)
        );
    }

    function test_registerModel_zeroTokensPerRound_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission.tokensPerRound = 0;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroTokensPerRound.selector)
        );
    }

    function test_registerModel_capBelowTokensPerRound_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission.capTokens = s.emission.tokensPerRound - 1;
        _expectRegisterRevert(
            s,
            abi.encodeWithSelector(
                IModelRegistryErrors.ModelRegistryInvalidCap.selector, s.emission.capTokens, s.emission.tokensPerRound
            )
        );
    }

    function test_registerModel_capAboveUint96_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission.capTokens = uint128(type(uint96).max) + 1;
        _expectRegisterRevert(
            s,
            abi.encodeWithSelector(
                IModelRegistryErrors.ModelRegistryInvalidCap.selector, s.emission.capTokens, s.emission.tokensPerRound
            )
        );
    }

    function test_registerModel_capAtUint96Max_accepted() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission.capTokens = type(uint96).max;
        (, ModelToken token) = _register(s);
        assertEq(token.cap(), type(uint96).max);
    }

    function test_registerModel_zeroCommitWindow_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing.commitWindowSec = 0;
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroCommitWindow.selector));
    }

    function test_registerModel_zeroChallengeWindow_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing.challengeWindowSec = 0;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroChallengeWindow.selector)
        );
    }

    function test_registerModel_zeroVoteWindow_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing.voteWindowSec = 0;
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroVoteWindow.selector));
    }

    // ------------------------------------------------------------ settlement timing (issue 11 finding 3a)

    function test_registerModel_settlementExactlyRing_accepted() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing = IModelRegistry.Timing({commitWindowSec: 100, challengeWindowSec: 100, voteWindowSec: 100});
        assertEq(registry.settlementSec(s.timing), 800);
        _register(s); // 100 + 100 + 6 * 100 == 8 * 100
        assertEq(registry.modelCount(), 1);
    }

    function test_registerModel_settlementOutlastsRing_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing = IModelRegistry.Timing({commitWindowSec: 100, challengeWindowSec: 100, voteWindowSec: 101});
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistrySettlementOutlastsRing.selector, 806, 800)
        );
        s.timing = IModelRegistry.Timing({commitWindowSec: 100, challengeWindowSec: 695, voteWindowSec: 1});
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistrySettlementOutlastsRing.selector, 801, 800)
        );
    }

    function test_registerModel_settlementOutlastsUnbonding_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing = IModelRegistry.Timing({commitWindowSec: 2 days, challengeWindowSec: 1 days, voteWindowSec: 1 days});
        _expectRegisterRevert(
            s,
            abi.encodeWithSelector(
                IModelRegistryErrors.ModelRegistrySettlementOutlastsUnbonding.selector, 9 days, 7 days
            )
        );
        s.timing.voteWindowSec = uint32(4 days / 6); // 2 + 1 + 4 days: exactly the unbonding delay
        _register(s);
    }

    function test_constants_disputeWindows() public view {
        assertEq(registry.DISPUTE_WINDOWS(), 6);
        assertEq(registry.COMMITMENT_RING_ROUNDS(), 8);
        assertEq(registry.MAX_SETTLEMENT_SEC(), 7 days);
    }

    function testFuzz_registerModel_timing_acceptedIffSettlesInRingAndUnbonding(uint32 commit, uint32 challenge, uint32 vote)
        public
    {
        commit = uint32(bound(commit, 1, 2 days));
        challenge = uint32(bound(challenge, 1, 8 days));
        vote = uint32(bound(vote, 1, 2 days));
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.timing = IModelRegistry.Timing(commit, challenge, vote);
        uint256 settle = uint256(commit) + challenge + 6 * uint256(vote);
        bool ok = settle <= 8 * uint256(commit) && settle <= 7 days;
        vm.prank(designer);
        try registry.registerModel(s) {
            assertTrue(ok, "accepted a round that cannot settle in time");
        } catch {
            assertFalse(ok, "rejected a round that settles in time");
        }
    }

    // ------------------------------------------------------------ reachable cap (issue 11 finding 3b)

    /// @dev The review's example: 1,000 tokens per round halving can emit ~2,000 tokens ever, far below the
    /// 2^76 token wei (~75.5k tokens) a 2^96 - 1 cap needs before the token distributes revenue.
    function test_registerModel_capUnreachableBySchedule_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.emission = IModelRegistry.Emission({tokensPerRound: 1000e18, decayBps: 5000, capTokens: type(uint96).max});
        uint256 reachable = registry.reachableEmissionLowerBound(1000e18, 5000);
        assertApproxEqRel(reachable, 2000e18, 2e13); // 2000 tokens less the bound's 1e-5 and 500,000 wei slack
        _expectRegisterRevert(
            s,
            abi.encodeWithSelector(
                IModelRegistryErrors.ModelRegistryCapUnreachable.selector,
                type(uint96).max,
                uint256(type(uint96).max) >> 20,
                reachable
            )
        );
    }

    function test_registerModel_capWhoseDistributionSupplyIsReachable_accepted() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        // 1000 tokens per round, 50% decay: ~2000 tokens reachable, so any cap up to ~2000 * 2^20 tokens
        s.emission = IModelRegistry.Emission({tokensPerRound: 1000e18, decayBps: 5000, capTokens: 1_000_000e18});
        _register(s);
        s.emission.capTokens = 1000e18; // round 0 alone reaches it
        _register(s);
        s.emission = IModelRegistry.Emission({tokensPerRound: 1, decayBps: 0, capTokens: type(uint96).max});
        _register(s); // no decay: the schedule reaches any cap
        assertEq(registry.modelCount(), 3);
    }

    function test_reachableEmissionLowerBound_limits() public view {
        assertEq(registry.reachableEmissionLowerBound(5, 0), type(uint256).max);
        assertEq(registry.reachableEmissionLowerBound(1000e18, 10_000), 1000e18, "round 0 only");
        assertEq(registry.reachableEmissionLowerBound(7, 1), 7, "never below round 0's emission");
        uint128 t = type(uint128).max;
        uint256 series = uint256(t) * 10_000;
        assertEq(registry.reachableEmissionLowerBound(t, 1), series - series / 100_000 - 500_000);
    }

    /// @dev The bound never exceeds what the ledger's own `EmissionMath.emissionAt` sums to over all rounds
    /// (so no schedule that cannot reach the distribution supply passes), and it is within 1e-4 (+ the
    /// absolute slack) of it (so hardly any schedule that can is rejected). Decays of 10% and more keep the exact
    /// sum (up to ~850 rounds) cheap enough to fuzz.
    function testFuzz_reachableEmissionLowerBound_neverAboveScheduleTotal(uint128 tokensPerRound, uint16 decayBps)
        public
        view
    {
        tokensPerRound = uint128(bound(tokensPerRound, 1, type(uint128).max));
        decayBps = uint16(bound(decayBps, 1000, 10_000));
        uint256 total;
        for (uint64 r;; ++r) {
            uint256 e = EmissionMath.emissionAt(tokensPerRound, decayBps, r);
            if (e == 0) break;
            total += e;
        }
        uint256 bound_ = registry.reachableEmissionLowerBound(tokensPerRound, decayBps);
        assertLe(bound_, total, "bound above the schedule's total emission");
        assertGe(bound_ + total / 10_000 + 500_000, total, "bound needlessly loose");
    }

    function test_registerModel_zeroMinRequestFee_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.minRequestFeeWei = 0;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroMinRequestFee.selector)
        );
    }

    function test_registerModel_zeroWorkerStake_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.minWorkerStakeWei = 0;
        _expectRegisterRevert(s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroWorkerStake.selector));
    }

    function test_registerModel_zeroValidatorStake_reverts() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.minValidatorStakeWei = 0;
        _expectRegisterRevert(
            s, abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryZeroValidatorStake.selector)
        );
    }

    // ------------------------------------------------------------ getters of unknown models and stages

    function test_getters_unknownModel_revert() public {
        bytes memory err = abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryUnknownModel.selector, 1);
        vm.expectRevert(err);
        registry.model(1);
        vm.expectRevert(err);
        registry.tokenOf(1);
        vm.expectRevert(err);
        registry.metadataURI(1);
        vm.expectRevert(err);
        registry.unitsPerMicrobatch(1, 0);
        vm.expectRevert(err);
        registry.initialWeightsRoot(1, 0);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryUnknownModel.selector, 0));
        registry.model(0);
    }

    function test_getters_stageOutOfRange_revert() public {
        _register(_spec(2));
        bytes memory err = abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryBadStage.selector, 1, 2);
        vm.expectRevert(err);
        registry.unitsPerMicrobatch(1, 2);
        vm.expectRevert(err);
        registry.initialWeightsRoot(1, 2);
    }

    // ------------------------------------------------------------ metadata

    function test_setMetadataURI_byDesigner_updatesAndEmits() public {
        (uint64 id,) = _register(_spec(1));
        vm.expectEmit(address(registry));
        emit IModelRegistry.MetadataURISet(id, "ipfs://v2");
        vm.prank(designer);
        registry.setMetadataURI(id, "ipfs://v2");
        assertEq(registry.metadataURI(id), "ipfs://v2");
    }

    function test_setMetadataURI_byOther_reverts() public {
        (uint64 id,) = _register(_spec(1));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryNotDesigner.selector, id, address(this)));
        registry.setMetadataURI(id, "ipfs://evil");
        assertEq(registry.metadataURI(id), "ipfs://meta");
    }

    function test_setMetadataURI_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistryErrors.ModelRegistryUnknownModel.selector, 7));
        registry.setMetadataURI(7, "x");
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_registerModel_feeBounds(uint16 protocolBps, uint16 operatorBps, uint16 designerBps) public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.protocolFeeBps = protocolBps;
        s.operatorFeeBps = operatorBps;
        s.designerEmissionBps = designerBps;
        bool valid = protocolBps <= 500 && uint256(protocolBps) + operatorBps <= 10_000 && designerBps <= 2000;
        vm.prank(designer);
        if (!valid) vm.expectRevert();
        registry.registerModel(s);
        assertEq(registry.modelCount(), valid ? 1 : 0);
    }

    // ------------------------------------------------------------ helpers

    function _expectRegisterRevert(IModelRegistry.ModelSpec memory s, bytes memory err) private {
        vm.prank(designer);
        vm.expectRevert(err);
        registry.registerModel(s);
        assertEq(registry.modelCount(), 0);
    }

    /// @dev CREATE2 address of the registry's token deployment, from first principles: the init code copies
    /// `impl`'s runtime code (`extcodecopy(impl, 0, 0, extcodesize(impl)); return(0, size)`).
    function _create2Address(address deployer_, uint256 salt, address impl) private pure returns (address) {
        bytes memory initCode = abi.encodePacked(hex"73", impl, hex"803b805f5f843c5ff3");
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), deployer_, bytes32(salt), keccak256(initCode))))));
    }
}
