// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IModelRegistryErrors} from "../interfaces/IModelRegistryErrors.sol";

contract ComputeLedgerCommitTest is LedgerTestBase {
    function setUp() public override {
        super.setUp();
        _warpToCommit(modelId, 0);
    }

    // ---------------------------------------------------------------- protocol vectors

    /// @dev docs/PROTOCOL.md test vector: digest for chainId 31337, ledger 0x...c0de.
    function test_digest_matchesProtocolVector() public pure {
        Commitment memory c = Commitment({
            modelId: 1,
            round: 2,
            stage: 1,
            worker: address(0xaa),
            itemsRoot: 0x71c7981e38b10bc8974a6ac7f29aaa888a113fb0287d689ff8b0a46559a00bcb,
            itemCount: 3,
            weightsRootBefore: keccak256("before"),
            weightsRootAfter: keccak256("after")
        });
        assertEq(_digest(c, 31337, address(0xc0de)), 0x003574c17a02aeef19898631860718fb6514a88523ff88a1a501f98c2138e1c3);
    }

    /// @dev docs/PROTOCOL.md test vector: items tree of slots 0, 1, 2 (microbatch = slot, neighbours
    /// 0x..b0 / 0x..c0), OZ StandardMerkleTree layout over the ten leaf values.
    function test_itemLeaf_matchesProtocolVector() public pure {
        bytes32[] memory h = new bytes32[](3);
        for (uint32 i; i < 3; ++i) {
            string memory s = vm.toString(i);
            h[i] = keccak256(
                bytes.concat(
                    keccak256(
                        abi.encode(
                            i,
                            i,
                            keccak256(bytes(string.concat("in", s))),
                            keccak256(bytes(string.concat("out", s))),
                            keccak256(bytes(string.concat("up", s))),
                            keccak256(bytes(string.concat("ig", s))),
                            keccak256(bytes(string.concat("g", s))),
                            keccak256(bytes(string.concat("w", s))),
                            address(0xb0),
                            address(0xc0)
                        )
                    )
                )
            );
        }
        assertEq(h[1], 0x403ee950eacfc2e320ac35f0569106272294347ad220f2b3318cd5b096f9f63f);
        // the struct the ledger hashes encodes the same ten words in the same order
        ItemLeaf memory leaf = ItemLeaf({
            index: 1,
            microbatch: 1,
            inputActHash: keccak256("in1"),
            outputActHash: keccak256("out1"),
            upstreamGradHash: keccak256("up1"),
            inputGradHash: keccak256("ig1"),
            gradRoot: keccak256("g1"),
            weightsRoot: keccak256("w1"),
            upstream: address(0xb0),
            downstream: address(0xc0)
        });
        assertEq(_leafHash(leaf), h[1]);
        // StandardMerkleTree of 3 sorted leaves s0 < s1 < s2: root = H(H(s0, s1), s2).
        (bytes32 a, bytes32 b, bytes32 c) = _sort3(h[0], h[1], h[2]);
        assertEq(_hashPair(_hashPair(a, b), c), 0xeabe286009d649cdb7ce196b76d9db9531468f9bbb8379008ef7de9e75c3905a);
    }

    function _sort3(bytes32 a, bytes32 b, bytes32 c) private pure returns (bytes32, bytes32, bytes32) {
        if (a > b) (a, b) = (b, a);
        if (b > c) (b, c) = (c, b);
        if (a > b) (a, b) = (b, a);
        return (a, b, c);
    }

    function test_domainSeparator_matchesSpec() public view {
        assertEq(ledger.domainSeparator(), _domainSeparator(block.chainid, address(ledger)));
        assertEq(ledger.COMMITMENT_TYPEHASH(), COMMITMENT_TYPEHASH_SPEC);
    }

    // ---------------------------------------------------------------- happy path

    /// @dev The neighbours are in the leaves, so the signed items root binds them: a relayer cannot
    /// re-point a commitment at other workers by swapping in a tree that names them.
    function test_submit_leafNeighboursAreSignedThroughItemsRoot() public {
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves,) = _linkedItems(modelId, 1, 0, false, 0, none);
        Commitment memory c = _commitment(modelId, 0, 1, 0, _rootOf(leaves), 4);
        bytes memory signature = _sign(signingKeys[0], c);
        for (uint256 i; i < leaves.length; ++i) leaves[i].upstream = workers[3];
        c.itemsRoot = _rootOf(leaves);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, signature);
    }

    /// @dev The ledger does not check the leaves' neighbours at submission (a validator does, off-chain):
    /// a commitment is the same eight fields whichever neighbours its leaves name.
    function test_submit_acceptsAnyLeafNeighbours() public {
        ItemLeaf memory none;
        (ItemLeaf[] memory leaves,) = _linkedItems(modelId, 0, 0, false, 0, none);
        leaves[0].upstream = workers[2]; // stage 0 has nobody upstream: an off-chain verification failure
        Commitment memory c = _commitment(modelId, 0, 0, 0, _rootOf(leaves), 4);
        _submit(c, _sign(signingKeys[0], c));
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
    }

    function test_submit_recordsUnitsAndEmits() public {
        Commitment memory c = _commitment(modelId, 0, 1, 0, _itemsRoot(1), 3);
        vm.expectEmit(address(ledger));
        emit CommitmentAccepted(modelId, 0, workers[0], 1, c.itemsRoot, 60);
        _submit(c, _sign(signingKeys[0], c));
        CommitmentRecord memory rec = ledger.commitmentOf(modelId, 0, 1, workers[0]);
        assertTrue(rec.found);
        assertEq(rec.units, 60); // 3 items * 20 units (stage 1)
        assertEq(
            rec.digestPrefix,
            bytes18(keccak256(abi.encode(c.itemsRoot, c.weightsRootBefore, c.weightsRootAfter)))
        );
        assertEq(ledger.roundState(modelId, 0).totalUnits, 60);
    }

    function test_submit_byRelayer_batchAcrossModelsAndWorkers() public {
        uint64 other = _register(3, 8);
        Commitment[] memory cs = new Commitment[](4);
        bytes[] memory sigs = new bytes[](4);
        cs[0] = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        cs[1] = _commitment(modelId, 0, 1, 1, _itemsRoot(1), 4);
        cs[2] = _commitment(other, 0, 2, 2, _itemsRoot(2), 1);
        cs[3] = _commitment(modelId, 0, 0, 3, _itemsRoot(0), 8);
        for (uint256 i; i < 4; ++i) {
            uint256 w = i == 2 ? 2 : (i == 3 ? 3 : i);
            sigs[i] = _sign(signingKeys[w], cs[i]);
        }
        vm.prank(makeAddr("relayer"));
        ledger.submitCommitments(cs, sigs);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 2 * 10 + 4 * 20 + 8 * 10);
        assertEq(ledger.roundState(other, 0).totalUnits, 30);
    }

    function test_submit_sameWorkerSeveralStages_allCounted() public {
        _commit(modelId, 0, 0, 0);
        _commit(modelId, 0, 1, 0);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 4 * 10 + 4 * 20);
    }

    // ---------------------------------------------------------------- replay and forgery

    function test_submit_replayedCommitment_skippedAndCountedOnce() public {
        Commitment memory c = _commit(modelId, 0, 0, 0);
        bytes memory sig = _sign(signingKeys[0], c);
        uint256 units = ledger.roundState(modelId, 0).totalUnits;
        vm.recordLogs();
        _submit(c, sig);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(ledger.roundState(modelId, 0).totalUnits, units);
    }

    /// @dev Someone copies one commitment out of a pending relayed batch and lands it first: the
    /// batch still lands, the copied entry counted once.
    function test_submit_frontRunCopyOfOneEntry_batchStillLands() public {
        Commitment[] memory cs = new Commitment[](2);
        bytes[] memory sigs = new bytes[](2);
        cs[0] = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 4);
        cs[1] = _commitment(modelId, 0, 0, 1, _itemsRoot(0), 4);
        sigs[0] = _sign(signingKeys[0], cs[0]);
        sigs[1] = _sign(signingKeys[1], cs[1]);
        vm.prank(makeAddr("front-runner"));
        _submit(cs[1], sigs[1]);
        ledger.submitCommitments(cs, sigs);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 2 * 4 * 10);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
    }

    function test_submit_secondDifferentCommitmentSameSlot_reverts() public {
        _commit(modelId, 0, 0, 0);
        Commitment memory c = _commitment(modelId, 0, 0, 0, keccak256("other root"), 8);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerAlreadyCommitted.selector, modelId, 0, 0, workers[0]));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_duplicateInsideBatch_countedOnce() public {
        Commitment[] memory cs = new Commitment[](2);
        bytes[] memory sigs = new bytes[](2);
        cs[0] = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        cs[1] = cs[0];
        sigs[0] = _sign(signingKeys[0], cs[0]);
        sigs[1] = sigs[0];
        ledger.submitCommitments(cs, sigs);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 2 * 10);
    }

    function test_submit_crossModelSignature_reverts() public {
        uint64 other = _register(2, 8);
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        bytes memory sig = _sign(signingKeys[0], c);
        c.modelId = other;
        c.weightsRootBefore = registry.initialWeightsRoot(other, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, sig);
    }

    function test_submit_crossRoundSignature_reverts() public {
        Commitment memory c = _commitment(modelId, 1, 0, 0, _itemsRoot(0), 2);
        bytes memory sig = _sign(signingKeys[0], c);
        _warpToCommit(modelId, 2);
        c.round = 2;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, sig);
    }

    function test_submit_crossChainSignature_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signingKeys[0], _digest(c, block.chainid + 1, address(ledger)));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, s, v));
    }

    function test_submit_otherContractDomain_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signingKeys[0], _digest(c, block.chainid, address(0xc0de)));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, s, v));
    }

    function test_submit_afterChainFork_oldDomainSignature_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        bytes memory sig = _sign(signingKeys[0], c);
        vm.chainId(block.chainid + 7);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, sig);
    }

    function test_submit_signedByAnotherWorkersKey_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, _sign(signingKeys[1], c));
    }

    /// @dev EIP-2098: the 64-byte form of a valid signature is accepted, for either parity of y.
    function test_submit_compactSignature_accepted() public {
        for (uint16 stage; stage < 2; ++stage) {
            Commitment memory c = _commitment(modelId, 0, stage, 0, _itemsRoot(stage), 3);
            _submit(c, _signCompact(signingKeys[0], c));
            assertTrue(ledger.commitmentOf(modelId, 0, stage, workers[0]).found);
        }
    }

    /// @dev The malleable twins are rejected in both forms: `s` in the upper half order (with the flipped
    /// parity it recovers the same key), and a 65-byte signature whose v is neither 27 nor 28.
    function test_submit_malleableOrBadV_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signingKeys[0], _digest(c, block.chainid, address(ledger)));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        uint256 highS = n - uint256(s);
        uint8 flippedV = v == 27 ? 28 : 27;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, bytes32(highS), flippedV));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, s, uint8(29)));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, s, v, uint8(0))); // 66 bytes
        // 64-byte: a high s cannot be expressed (its top bit is the parity), and a cleared parity bit of a
        // yParity-1 signature recovers another key
        bytes memory compact = abi.encodePacked(r, (uint256(flippedV - 27) << 255) | uint256(s));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, compact);
        _submit(c, abi.encodePacked(r, (uint256(v - 27) << 255) | uint256(s)));
    }

    function test_submit_malformedSignature_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, hex"1234");
    }

    function test_submit_tamperedField_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        bytes memory sig = _sign(signingKeys[0], c);
        c.itemCount = 8; // claim more work than signed
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, sig);
    }

    function test_submit_rotatedKey_oldSignatureRejected_newAccepted() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        bytes memory oldSig = _sign(signingKeys[0], c);
        uint256 newKey = 0xBEEF;
        vm.prank(workers[0]);
        ledger.rotateSigningKey(vm.addr(newKey));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, oldSig);
        _submit(c, _sign(newKey, c));
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
    }

    function test_submit_payoutKeyCannotSign() public {
        // the worker identity's own key is not the signing key either
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        (, uint256 identityKey) = makeAddrAndKey("worker0");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(identityKey, _digest(c, block.chainid, address(ledger)));
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 0));
        _submit(c, abi.encodePacked(r, s, v));
    }

    function test_submit_invalidSignatureReportsIndex() public {
        Commitment[] memory cs = new Commitment[](2);
        bytes[] memory sigs = new bytes[](2);
        cs[0] = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        cs[1] = _commitment(modelId, 0, 0, 1, _itemsRoot(0), 2);
        sigs[0] = _sign(signingKeys[0], cs[0]);
        sigs[1] = _sign(signingKeys[0], cs[1]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerInvalidSignature.selector, 1));
        ledger.submitCommitments(cs, sigs);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 0); // all-or-nothing
    }

    // ---------------------------------------------------------------- validation

    function test_submit_lengthMismatch_reverts() public {
        Commitment[] memory cs = new Commitment[](1);
        bytes[] memory sigs = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerLengthMismatch.selector, 1, 2));
        ledger.submitCommitments(cs, sigs);
    }

    function test_submit_unknownModel_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        c.modelId = 99;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerUnknownModel.selector, 99));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_stageOutOfRange_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        c.stage = 2;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerBadStage.selector, 2, 2));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_zeroItems_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerBadItemCount.selector, 0, MICROBATCHES));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_tooManyItems_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), MICROBATCHES + 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerBadItemCount.selector, MICROBATCHES + 1, MICROBATCHES));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_futureRound_reverts() public {
        Commitment memory c = _commitment(modelId, 1, 0, 0, _itemsRoot(0), 2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideCommitWindow.selector, modelId, 1));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_pastRound_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        _warpToChallenge(modelId, 0); // first second of round 1
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideCommitWindow.selector, modelId, 0));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_lastSecondOfWindow_accepted() public {
        vm.warp(_genesis(modelId) + COMMIT_SEC - 1);
        _commit(modelId, 0, 0, 0);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
    }

    function test_submit_wrongInitialWeightsRoot_reverts() public {
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        c.weightsRootBefore = keccak256("not the initial root");
        vm.expectRevert(
            abi.encodeWithSelector(
                ComputeLedgerWrongWeightsRoot.selector, registry.initialWeightsRoot(modelId, 0), c.weightsRootBefore
            )
        );
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_laterRound_weightsRootNotCheckedOnChain() public {
        _warpToCommit(modelId, 1);
        Commitment memory c = _commitment(modelId, 1, 0, 0, _itemsRoot(0), 2);
        c.weightsRootBefore = keccak256("anything");
        _submit(c, _sign(signingKeys[0], c));
        assertTrue(ledger.commitmentOf(modelId, 1, 0, workers[0]).found);
    }

    function test_submit_unstakedWorker_reverts() public {
        address stranger = makeAddr("stranger");
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        c.worker = stranger;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotServing.selector, modelId, stranger));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_belowMinimumStake_reverts() public {
        address small = makeAddr("small");
        vm.deal(small, 1 ether);
        vm.prank(small);
        ledger.stake{value: MIN_WORKER_STAKE - 1}(small, vm.addr(signingKeys[0]));
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        c.worker = small;
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotServing.selector, modelId, small));
        _submit(c, _sign(signingKeys[0], c));
    }

    function test_submit_unbondingWorker_reverts() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        Commitment memory c = _commitment(modelId, 0, 0, 0, _itemsRoot(0), 2);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotServing.selector, modelId, workers[0]));
        _submit(c, _sign(signingKeys[0], c));
    }

    // ---------------------------------------------------------------- ring slots

    function test_submit_ringSlotReuse_afterReward() public {
        _commit(modelId, 0, 0, 0);
        uint256 reuse = ledger.RING_SIZE();
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        ledger.mintReward(modelId, 0, workers[0]);
        _warpToCommit(modelId, uint64(reuse));
        _commit(modelId, uint64(reuse), 0, 0);
        assertTrue(ledger.commitmentOf(modelId, uint64(reuse), 0, workers[0]).found);
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[0]).found);
    }

    function test_submit_ringSlotUnsettled_reverts() public {
        _commit(modelId, 0, 0, 0);
        uint64 reuse = uint64(ledger.RING_SIZE());
        _warpToCommit(modelId, reuse);
        Commitment memory c = _commitment(modelId, reuse, 0, 0, _itemsRoot(0), 4);
        vm.expectRevert(
            abi.encodeWithSelector(ComputeLedgerPreviousCommitmentUnsettled.selector, modelId, 0, workers[0], 0)
        );
        _submit(c, _sign(signingKeys[0], c));
    }

    /// @dev The ledger's own check (`ComputeLedgerModelWindowsTooLong`) stays as a second line; the registry
    /// now refuses such a model before it exists (it also counts the dispute and appeal vote windows).
    function test_register_windowsLongerThanUnbondingDelay_rejectedByRegistry() public {
        IModelRegistry.ModelSpec memory s = _slowSpec();
        uint256 settleSec = uint256(8 days) + COMMIT_SEC + 6 * uint256(COMMIT_SEC);
        vm.expectRevert(
            abi.encodeWithSelector(
                IModelRegistryErrors.ModelRegistrySettlementOutlastsUnbonding.selector, settleSec, 7 days
            )
        );
        vm.prank(designer);
        registry.registerModel(s);
    }

    /// @dev The registry's settlement limits are the ledger's commitment ring and unbonding delay.
    function test_registrySettlementLimits_matchLedger() public view {
        assertEq(registry.COMMITMENT_RING_ROUNDS(), ledger.RING_SIZE());
        assertEq(registry.MAX_SETTLEMENT_SEC(), ledger.UNBONDING_DELAY_SEC());
        assertEq(registry.DISPUTE_WINDOWS(), ledger.DISPUTE_WINDOWS());
    }

    function _slowSpec() private pure returns (IModelRegistry.ModelSpec memory s) {
        s = _spec(2, 8);
        s.timing.commitWindowSec = uint32(8 days);
        s.timing.challengeWindowSec = COMMIT_SEC;
        s.timing.voteWindowSec = COMMIT_SEC;
    }
}
