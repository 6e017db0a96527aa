// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReplicaRoundTestBase} from "./ledger/ReplicaRoundTestBase.sol";

/// @dev Stage replicas: pay, chain breaks, availability, attestations and link proofs over the round
/// of `ReplicaRoundTestBase` (HEAD routing 8 microbatches to replicas R1 and R2).
contract ComputeLedgerReplicasTest is ReplicaRoundTestBase {
    // ---------------------------------------------------------------- pay

    /// @dev Two stage-1 replicas fed by one stage-0 worker, each committing its own microbatches at
    /// slots 0..3: each is paid exactly its items' units, and the round's units add up.
    function test_replicas_disjointSubsets_eachPaidItsItemsUnits() public {
        _commitRound(false);
        assertEq(ledger.commitmentOf(modelId, 0, 0, workers[HEAD]).units, MICROBATCHES * STAGE0_UNITS);
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[R1]).units, 4 * STAGE1_UNITS);
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[R2]).units, 4 * STAGE1_UNITS);
        uint256 total = MICROBATCHES * (STAGE0_UNITS + STAGE1_UNITS);
        assertEq(ledger.roundState(modelId, 0).totalUnits, total, "a stage's replicas add up to one full stage");
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        assertEq(_mint(R1), uint256(TOKENS_PER_ROUND) * 4 * STAGE1_UNITS / total);
        assertEq(_mint(R2), uint256(TOKENS_PER_ROUND) * 4 * STAGE1_UNITS / total);
        assertEq(_mint(HEAD), uint256(TOKENS_PER_ROUND) * MICROBATCHES * STAGE0_UNITS / total);
        assertLe(ledger.roundState(modelId, 0).mintedTokens, TOKENS_PER_ROUND);
        assertApproxEqAbs(ledger.roundState(modelId, 0).mintedTokens, TOKENS_PER_ROUND, 3, "the round's emission, but rounding");
    }

    /// @dev Whatever the split of the round's microbatches between the two replicas, each is paid
    /// its own `itemCount * unitsPerMicrobatch`, the two add up to one stage, and a demanded slot of
    /// either is answered by the leaf at that slot, whichever microbatch it holds.
    function testFuzz_replicas_anySplit_eachPaidItsItemsUnits(uint8 routes, uint256 slotSeed) public {
        routes = uint8(bound(routes, 1, 254)); // both replicas hold at least one microbatch
        _commitRouted(routes, NONE);
        uint256 units1 = _microbatchesOf(routes, true).length * STAGE1_UNITS;
        uint256 units2 = _microbatchesOf(routes, false).length * STAGE1_UNITS;
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[R1]).units, units1);
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[R2]).units, units2);
        assertEq(units1 + units2, MICROBATCHES * STAGE1_UNITS);
        uint256 total = MICROBATCHES * (STAGE0_UNITS + STAGE1_UNITS);
        assertEq(ledger.roundState(modelId, 0).totalUnits, total);

        _warpToChallenge(modelId, 0);
        _moveValidators(1);
        _demandAndReveal(routes, slotSeed % 2 == 0, slotSeed / 2);

        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        uint256 paid1 = _mint(R1);
        uint256 paid2 = _mint(R2);
        assertEq(paid1, uint256(TOKENS_PER_ROUND) * units1 / total);
        assertEq(paid2, uint256(TOKENS_PER_ROUND) * units2 / total);
        assertLe(paid1 + paid2 + _mint(HEAD), TOKENS_PER_ROUND);
    }

    /// @dev HEAD, R1 and R2 commit the round routed by `routes` (HEAD's `forgedMb` output forged).
    function _commitRouted(uint8 routes, uint32 forgedMb) internal {
        headC = _commitLeaves(0, HEAD, _headLeaves(routes, forgedMb));
        r1C = _commitLeaves(1, R1, _replicaLeaves(_microbatchesOf(routes, true)));
        r2C = _commitLeaves(1, R2, _replicaLeaves(_microbatchesOf(routes, false)));
    }

    /// @dev A validator demands a slot of R1 (`first`) or R2; the replica answers with its leaf at that slot.
    function _demandAndReveal(uint8 routes, bool first, uint256 slotSeed) internal {
        uint32[] memory mbs = _microbatchesOf(routes, first);
        uint32 slot = uint32(slotSeed % mbs.length);
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeAvailability{value: bond}(modelId, 0, 1, workers[first ? R1 : R2], slot);
        CommittedItem memory item = _item(first ? r1C : r2C, _replicaLeaves(mbs), slot);
        assertEq(item.leaf.microbatch, mbs[slot]);
        ledger.revealItem(id, item);
        assertEq(ledger.availabilityChallenge(id).status, 2);
    }

    // ---------------------------------------------------------------- chain breaks

    /// @dev HEAD's microbatch-MB output is forged. R1 also claims microbatch MB (it trained it before
    /// HEAD re-routed it to R2), naming HEAD upstream: a same-microbatch pair, but HEAD's leaf names
    /// R2, so pairing it with R1 is refused. Pairing it with R2, which holds MB at slot 2, opens the
    /// dispute, keyed by the microbatch on both sides.
    function test_chainBreak_pairsOnlyLinkedLeavesOfTheMicrobatch_disputeKeyedByMicrobatch() public {
        uint32[] memory strayMbs = new uint32[](5);
        (strayMbs[0], strayMbs[1], strayMbs[2], strayMbs[3], strayMbs[4]) = (0, 1, 4, MB, 6);
        headC = _commitLeaves(0, HEAD, _headLeaves(ROUTES, MB));
        Commitment memory stray = _commitLeaves(1, R1, _replicaLeaves(strayMbs));
        r2C = _commitLeaves(1, R2, _r2Leaves());
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.challengeBondWei(modelId);
        CommittedItem memory up = _headItem(MB, true);
        CommittedItem memory r1Leaf = _item(stray, _replicaLeaves(strayMbs), 3);
        CommittedItem memory sameSlot = _headItem(2, true); // HEAD's slot 2 (microbatch 2) vs R2's slot 2 (microbatch 5)

        vm.startPrank(validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotLinked.selector, workers[HEAD], workers[R1]));
        ledger.challengeChainBreak{value: bond}(up, r1Leaf);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(sameSlot, _r2Item(2));
        uint256 id = ledger.challengeChainBreak{value: bond}(up, _r2Item(2));
        vm.stopPrank();

        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.kind), uint8(DisputeKind.ChainBreak));
        assertEq(d.index, MB, "the dispute names the microbatch, not R2's slot");
        assertEq(d.accused, workers[HEAD]);
        assertEq(d.counterparty, workers[R2]);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 0, workers[HEAD], MB), id);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[R2], MB), id);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[R2], 2), 0, "R2's slot 2 is not the key");
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[R1], MB), 0);
        // R2's leaf of MB is taken; its other leaves are not
        vm.startPrank(stageOneValidator);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerItemAlreadyDisputed.selector, id));
        ledger.challengeItem{value: bond}(_r2Item(2));
        ledger.challengeItem{value: bond}(_r2Item(0));
        vm.stopPrank();

        _decide(id, false); // HEAD's output is fine: the stage-1 side is at fault
        assertTrue(ledger.staker(workers[R2]).jailed);
        assertFalse(ledger.staker(workers[R1]).jailed, "the replica that did not receive MB is untouched");
        assertFalse(ledger.staker(workers[HEAD]).jailed);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 0, workers[HEAD], MB), 0);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, workers[R2], MB), 0);
    }

    /// @dev Whatever the routing and whichever microbatch breaks, only the replica holding that
    /// microbatch (at whatever slot) can be paired with HEAD's leaf, and the dispute names the microbatch.
    function testFuzz_chainBreak_anyRouting_onlyTheReplicaHoldingTheMicrobatch(uint8 routes, uint8 brokenSeed) public {
        routes = uint8(bound(routes, 1, 254));
        uint32 broken = uint32(brokenSeed % MICROBATCHES);
        _commitRouted(routes, broken);
        _warpToChallenge(modelId, 0);
        (CommittedItem memory up, CommittedItem memory holder, CommittedItem memory other) =
            _breakPairs(routes, broken, brokenSeed);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.startPrank(validators[0]);
        // every leaf of the other replica is of another microbatch: no pair
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak{value: bond}(up, other);
        uint256 id = ledger.challengeChainBreak{value: bond}(up, holder);
        vm.stopPrank();
        assertEq(ledger.dispute(id).index, broken);
        assertEq(ledger.dispute(id).counterparty, holder.worker);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 1, holder.worker, broken), id);
        assertEq(ledger.openDisputeOfItem(modelId, 0, 0, workers[HEAD], broken), id);
    }

    /// @dev HEAD's leaf of `broken`, the replica's leaf holding it, and a leaf of the other replica.
    function _breakPairs(uint8 routes, uint32 broken, uint256 seed)
        internal
        view
        returns (CommittedItem memory up, CommittedItem memory holder, CommittedItem memory other)
    {
        up = _item(headC, _headLeaves(routes, broken), broken);
        bool toFirst = _routedTo(routes, broken) == R1;
        uint32[] memory holderMbs = _microbatchesOf(routes, toFirst);
        uint32[] memory otherMbs = _microbatchesOf(routes, !toFirst);
        holder = _item(toFirst ? r1C : r2C, _replicaLeaves(holderMbs), _slotOf(holderMbs, broken));
        other = _item(toFirst ? r2C : r1C, _replicaLeaves(otherMbs), seed % otherMbs.length);
    }

    function _slotOf(uint32[] memory mbs, uint32 m) internal pure returns (uint256) {
        for (uint256 i; i < mbs.length; ++i) {
            if (mbs[i] == m) return i;
        }
        revert NotHeld(m);
    }

    // ---------------------------------------------------------------- availability

    /// @dev Availability names a slot: R2's slot 1 holds microbatch 3, and only that leaf answers a
    /// demand of slot 1; a slot at or past R2's itemCount cannot be demanded, even one below the round's count.
    function test_availability_demandsASlot_answeredByTheLeafAtThatSlot() public {
        _commitRound(false);
        _warpToChallenge(modelId, 0);
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.startPrank(stageOneValidator);
        vm.expectRevert(ComputeLedgerLeafIndexOutOfRange.selector);
        ledger.challengeAvailability{value: bond}(modelId, 0, 1, workers[R2], 4); // itemCount 4 < MICROBATCHES
        uint256 id = ledger.challengeAvailability{value: bond}(modelId, 0, 1, workers[R2], 1);
        vm.stopPrank();
        assertEq(ledger.openAvailabilityOfItem(modelId, 0, 1, workers[R2], 1), id);

        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerRevealMismatch.selector, id));
        ledger.revealItem(id, _r2Item(3)); // another slot
        CommittedItem memory relabelled = _r2Item(1);
        relabelled.leaf.microbatch = 1; // slot 1 holding microbatch 1: not in R2's tree
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.revealItem(id, relabelled);

        CommittedItem memory item = _r2Item(1);
        assertEq(item.leaf.index, 1);
        assertEq(item.leaf.microbatch, 3);
        vm.expectEmit(address(ledger));
        emit ItemRevealed(id, workers[R2], item.itemsRoot, item.leaf);
        ledger.revealItem(id, item);
        assertEq(ledger.availabilityChallenge(id).status, 2);
        assertEq(ledger.paymentsOf(workers[R2]), bond);
        assertEq(ledger.openAvailabilityOfItem(modelId, 0, 1, workers[R2], 1), 0);
    }

    // ---------------------------------------------------------------- attestations

    /// @dev The draw hits a slot of R2's tree; the leaf at that slot is attested and recorded by its
    /// microbatch (`isAttested`, `ItemAttested`), so a fraud dispute of that leaf (keyed by
    /// microbatch) finds the attestation and slashes the attester.
    function test_attestation_sampledSlotAttested_recordedByMicrobatch() public {
        _moveValidators(1);
        _commitRound(false);
        _warpToChallenge(modelId, 0);
        _sealSeed(modelId, 0);
        address v = validators[0];
        uint32 slot = ledger.sampledIndex(modelId, 0, v, workers[R2], 1, 0);
        CommittedItem[] memory items = new CommittedItem[](1);
        items[0] = _r2Item((slot + 1) % 4); // another slot: not sampled
        vm.prank(v);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotSampled.selector, 0));
        ledger.attestItems(items, new uint32[](1));

        items[0] = _r2Item(slot);
        uint32 mb = items[0].leaf.microbatch;
        assertTrue(mb != slot, "R2's slots and microbatches differ");
        vm.expectEmit(address(ledger));
        emit ItemAttested(modelId, 0, v, workers[R2], 1, mb, STAGE1_UNITS);
        vm.prank(v);
        ledger.attestItems(items, new uint32[](1));
        assertTrue(ledger.isAttested(modelId, 0, 1, workers[R2], v, mb));
        assertFalse(ledger.isAttested(modelId, 0, 1, workers[R2], v, slot), "not recorded by slot");
        assertEq(ledger.validatorRound(modelId, 0, v).units, STAGE1_UNITS);

        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[4]);
        uint256 id = ledger.challengeItem{value: bond}(items[0]);
        assertEq(ledger.dispute(id).index, mb);
        _decide(id, true);
        vm.prank(validators[3]);
        ledger.slashFalseAttestation(id, v);
        assertTrue(ledger.staker(v).jailed, "the attestation of the fraudulent leaf is found by its microbatch");
        assertFalse(ledger.isAttested(modelId, 0, 1, workers[R2], v, mb));
    }

    // ---------------------------------------------------------------- proveUnlinked

    /// @dev A verbatim copy of R2's commitment names HEAD upstream on every leaf, and HEAD's leaf of
    /// each of those microbatches names R2, who names HEAD back: any one leaf voids the copy.
    function test_proveUnlinked_verbatimCopyOfAReplica_voided() public {
        _commitRound(false);
        Commitment memory copy = r2C;
        copy.worker = workers[COPIER];
        _submit(copy, _sign(signingKeys[COPIER], copy));
        uint256 totalBefore = ledger.roundState(modelId, 0).totalUnits;
        _warpToChallenge(modelId, 0);
        CommittedItem memory copied = _item(copy, _r2Leaves(), 2);
        CommittedItem memory neighbour = _headItem(MB, false);
        CommittedItem memory partner = _r2Item(2);
        vm.expectEmit(address(ledger));
        emit CommitmentVoided(modelId, 0, workers[COPIER], 1, workers[HEAD], uint64(4 * STAGE1_UNITS));
        ledger.proveUnlinked(copied, neighbour, partner);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
        assertEq(ledger.roundState(modelId, 0).totalUnits, totalBefore - 4 * STAGE1_UNITS);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
    }

    /// @dev HEAD names R2 on half its leaves, R1 on the others: R1 is linked on each of its own
    /// microbatches, so no leaf voids it (under one neighbour per commitment, HEAD naming R2 would have).
    function test_proveUnlinked_honestReplicaNamedByItsUpstream_notVoided() public {
        _commitRound(false);
        _warpToChallenge(modelId, 0);
        uint32[] memory mine = _microbatchesOf(ROUTES, true);
        for (uint256 slot; slot < mine.length; ++slot) {
            CommittedItem memory item = _r1Item(slot);
            CommittedItem memory neighbour = _headItem(mine[slot], false);
            CommittedItem memory partner = _r2Item(slot);
            // HEAD's leaf names R1 itself: there is no other partner
            vm.expectRevert(ComputeLedgerNotUnlinked.selector);
            ledger.proveUnlinked(item, neighbour, partner);
            vm.expectRevert(ComputeLedgerNotUnlinked.selector);
            ledger.proveUnlinked(item, neighbour, item);
            // HEAD's leaf of R2's microbatch at this slot names R2, but it is another microbatch
            CommittedItem memory elsewhere = _headItem(partner.leaf.microbatch, false);
            vm.expectRevert(ComputeLedgerNotUnlinked.selector);
            ledger.proveUnlinked(item, elsewhere, partner);
        }
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        assertGt(_mint(R1), 0);
    }

    /// @dev HEAD lies about microbatch MB (R2 received it): naming R1, which holds no leaf of MB, or a
    /// made-up worker with no commitment. Nobody names HEAD back on MB but R2: R2 is not voided.
    function test_proveUnlinked_loneLiarVoidsNobody() public {
        ItemLeaf[] memory head = _headLeaves(ROUTES, NONE);
        head[MB].downstream = workers[R1];
        head[MB - 1].downstream = makeAddr("nobody"); // microbatch 4, which R1 received
        headC = _commitLeaves(0, HEAD, head);
        r1C = _commitLeaves(1, R1, _r1Leaves());
        r2C = _commitLeaves(1, R2, _r2Leaves());
        _warpToChallenge(modelId, 0);
        CommittedItem memory neighbour = _item(headC, head, MB);
        // R1's leaf at R2's slot of MB is of another microbatch
        vm.expectRevert(ComputeLedgerNotUnlinked.selector);
        ledger.proveUnlinked(_r2Item(2), neighbour, _r1Item(2));
        // a leaf of MB that R1 never committed
        CommittedItem memory forged = _r1Item(2);
        forged.leaf.microbatch = MB;
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.proveUnlinked(_r2Item(2), neighbour, forged);
        // microbatch 4 (R1's slot 2): HEAD names nobody real, who has no commitment
        CommittedItem memory nobody = _r1Item(2);
        nobody.worker = makeAddr("nobody");
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.proveUnlinked(_r1Item(2), _item(headC, head, MB - 1), nobody);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
    }

    /// @dev HEAD is slashed for its forged leaf of MB: its other leaves still prove what they name,
    /// so a verbatim copy of R2 is still voided through them (a slashed neighbour is evidence, not
    /// a shield for the copier).
    function test_proveUnlinked_neighbourSlashed_copyStillVoided() public {
        _commitRound(true);
        Commitment memory copy = r2C;
        copy.worker = workers[COPIER];
        _submit(copy, _sign(signingKeys[COPIER], copy));
        _warpToChallenge(modelId, 0);
        _slashHead();
        CommittedItem memory copied = _item(copy, _r2Leaves(), 0);
        CommittedItem memory neighbour = _headItem(2, true);
        CommittedItem memory partner = _r2Item(0);
        ledger.proveUnlinked(copied, neighbour, partner);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
    }

    /// @dev HEAD challenged on its forged leaf of MB, a fraud verdict inside the challenge window.
    function _slashHead() internal {
        uint256 bond = ledger.challengeBondWei(modelId);
        CommittedItem memory forged = _headItem(MB, true);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(forged);
        _decide(id, true);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[HEAD]).slashed);
    }

    // ---------------------------------------------------------------- proveDuplicate

    /// @dev HEAD, R1 and R2 commit the round; OTHER_HEAD commits stage 0 holding `otherMbs` (its own
    /// pipeline's data, sent to BYSTANDER; its leaf of MB, if any, names `mbDownstream`); COPIER
    /// commits one leaf: R2's leaf of MB (same input) naming OTHER_HEAD upstream.
    function _duplicateRound(uint32[] memory otherMbs, address mbDownstream)
        internal
        returns (CommittedItem memory copy, ItemLeaf[] memory otherLeaves, Commitment memory otherC)
    {
        _commitRound(false);
        otherLeaves = new ItemLeaf[](otherMbs.length);
        for (uint256 i; i < otherMbs.length; ++i) {
            ItemLeaf memory leaf = _leaf(0, otherMbs[i], keccak256("other pipeline"));
            leaf.index = uint32(i);
            leaf.inputActHash = keccak256(abi.encode("other pipeline input", otherMbs[i]));
            leaf.downstream = otherMbs[i] == MB ? mbDownstream : workers[BYSTANDER];
            otherLeaves[i] = leaf;
        }
        otherC = _commitLeaves(0, OTHER_HEAD, otherLeaves);
        ItemLeaf[] memory copied = new ItemLeaf[](1);
        copied[0] = _r2Leaves()[2];
        copied[0].index = 0;
        copied[0].upstream = workers[OTHER_HEAD];
        copy = _item(_commitLeaves(1, COPIER, copied), copied, 0);
        _warpToChallenge(modelId, 0);
    }

    function _mbs(uint32 a, uint32 b) internal pure returns (uint32[] memory mbs) {
        mbs = new uint32[](2);
        (mbs[0], mbs[1]) = (a, b);
    }

    function _mbs4(uint32 a, uint32 b, uint32 c, uint32 d) internal pure returns (uint32[] memory mbs) {
        mbs = new uint32[](4);
        (mbs[0], mbs[1], mbs[2], mbs[3]) = (a, b, c, d);
    }

    function _upstreamLeaves(Commitment memory otherC, ItemLeaf[] memory otherLeaves, uint256 a)
        internal
        pure
        returns (CommittedItem[] memory ups)
    {
        ups = new CommittedItem[](1);
        ups[0] = _item(otherC, otherLeaves, a);
    }

    function _upstreamPair(Commitment memory otherC, ItemLeaf[] memory otherLeaves, uint256 a, uint256 b)
        internal
        pure
        returns (CommittedItem[] memory ups)
    {
        ups = new CommittedItem[](2);
        ups[0] = _item(otherC, otherLeaves, a);
        ups[1] = _item(otherC, otherLeaves, b);
    }

    /// @dev Proves the copy a duplicate of R2's leaf of MB (whose upstream HEAD names R2) with `ups`
    /// and checks it is voided.
    function _proveDuplicateVoids(CommittedItem memory copy, CommittedItem[] memory ups) internal {
        CommittedItem memory original = _r2Item(2);
        CommittedItem memory originalUpstream = _headItem(MB, false);
        vm.expectEmit(address(ledger));
        emit CommitmentVoided(modelId, 0, workers[COPIER], 1, workers[OTHER_HEAD], uint64(STAGE1_UNITS));
        ledger.proveDuplicate(copy, original, originalUpstream, ups);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
    }

    function _expectNotADuplicate(CommittedItem memory copy, CommittedItem[] memory ups) internal {
        CommittedItem memory original = _r2Item(2);
        CommittedItem memory originalUpstream = _headItem(MB, false);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(copy, original, originalUpstream, ups);
    }

    /// @dev The copy's upstream holds no leaf of MB: its first slot (microbatch 6) is above MB.
    function test_proveDuplicate_absentUpstream_firstSlotAbove_voids() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs(6, 7), address(0));
        _proveDuplicateVoids(copy, _upstreamLeaves(otherC, leaves, 0));
    }

    /// @dev The copy's upstream holds no leaf of MB: its last slot (microbatch 3) is below MB.
    function test_proveDuplicate_absentUpstream_lastSlotBelow_voids() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs(1, 3), address(0));
        _proveDuplicateVoids(copy, _upstreamLeaves(otherC, leaves, 1));
    }

    /// @dev The copy's upstream holds no leaf of MB: slots 1 and 2 (microbatches 3 and 6) bracket it.
    function test_proveDuplicate_absentUpstream_adjacentSlotsBracket_voids() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs4(1, 3, 6, 7), address(0));
        _proveDuplicateVoids(copy, _upstreamPair(otherC, leaves, 1, 2));
    }

    /// @dev The copy's upstream holds MB but sent it to someone else.
    function test_proveDuplicate_upstreamLeafNamesAnotherDownstream_voids() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs4(1, 3, MB, 7), workers[BYSTANDER]);
        _proveDuplicateVoids(copy, _upstreamLeaves(otherC, leaves, 2));
    }

    /// @dev Absence is only shown by the slots around the microbatch: a bracket of non-adjacent slots,
    /// two slots on one side, slots out of order, a slot above that is not the first, a slot below that
    /// is not the last, three leaves, or another worker's leaves prove nothing.
    function test_proveDuplicate_absenceNotShown_reverts() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs4(1, 3, 6, 7), address(0));
        _expectNotADuplicate(copy, _upstreamPair(otherC, leaves, 0, 2)); // 1 and 6: not adjacent slots
        _expectNotADuplicate(copy, _upstreamPair(otherC, leaves, 0, 1)); // 1 and 3: both below
        _expectNotADuplicate(copy, _upstreamPair(otherC, leaves, 2, 3)); // 6 and 7: both above
        _expectNotADuplicate(copy, _upstreamPair(otherC, leaves, 2, 1)); // out of order
        _expectNotADuplicate(copy, _upstreamLeaves(otherC, leaves, 2)); // above, not the first slot
        _expectNotADuplicate(copy, _upstreamLeaves(otherC, leaves, 1)); // below, not the last slot
        CommittedItem[] memory three = new CommittedItem[](3);
        (three[0], three[1], three[2]) =
            (_item(otherC, leaves, 1), _item(otherC, leaves, 2), _item(otherC, leaves, 3));
        _expectNotADuplicate(copy, three);
        CommittedItem[] memory notTheUpstream = new CommittedItem[](2);
        (notTheUpstream[0], notTheUpstream[1]) = (_r1Item(2), _r1Item(3)); // microbatches 4 and 6, R1's
        _expectNotADuplicate(copy, notTheUpstream);
        // a forged bracket does not prove
        CommittedItem[] memory forged = _upstreamPair(otherC, leaves, 0, 1);
        forged[1].leaf.microbatch = 6;
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.proveDuplicate(copy, _r2Item(2), _headItem(MB, false), forged);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
    }

    /// @dev A copy whose upstream's leaf of MB names it is linked: not this original's duplicate,
    /// however the proof is given.
    function test_proveDuplicate_upstreamLeafNamesTheCopy_reverts() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs4(1, 3, MB, 7), workers[COPIER]);
        _expectNotADuplicate(copy, _upstreamLeaves(otherC, leaves, 2));
        _expectNotADuplicate(copy, new CommittedItem[](0)); // its upstream committed the round
        _expectNotADuplicate(copy, _upstreamPair(otherC, leaves, 1, 2)); // 3 and 5 do not bracket 5
    }

    /// @dev The copy, the original and the original's upstream must be leaves of one microbatch.
    function test_proveDuplicate_wrongMicrobatch_reverts() public {
        (CommittedItem memory copy, ItemLeaf[] memory leaves, Commitment memory otherC) =
            _duplicateRound(_mbs(6, 7), address(0));
        CommittedItem[] memory ups = _upstreamLeaves(otherC, leaves, 0);
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(copy, _r2Item(1), _headItem(3, false), ups); // R2's microbatch 3
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(copy, _r2Item(2), _headItem(3, false), ups); // HEAD's leaf of another microbatch
        // two honest replicas never share a microbatch
        vm.expectRevert(ComputeLedgerNotADuplicate.selector);
        ledger.proveDuplicate(_r1Item(2), _r2Item(2), _headItem(MB, false), new CommittedItem[](0));
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
        _proveDuplicateVoids(copy, ups); // the right microbatch does
    }

    /// @dev A copy that names the original's own upstream is voided whatever `copyUpstream` holds:
    /// that upstream's leaf of the microbatch names the original.
    function test_proveDuplicate_copyNamingTheOriginalsUpstream_voids() public {
        _commitRound(false);
        ItemLeaf[] memory copied = new ItemLeaf[](1);
        copied[0] = _r2Leaves()[2];
        copied[0].index = 0;
        CommittedItem memory copy = _item(_commitLeaves(1, COPIER, copied), copied, 0);
        _warpToChallenge(modelId, 0);
        CommittedItem[] memory ignored = new CommittedItem[](1);
        ignored[0] = _r1Item(0);
        ledger.proveDuplicate(copy, _r2Item(2), _headItem(MB, false), ignored);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
    }

    /// @dev The original's upstream (HEAD) and the original itself (R2) are both slashed: the copy,
    /// which names a made-up upstream, is still voided against their leaves.
    function test_proveDuplicate_originalAndItsUpstreamSlashed_copyStillVoided() public {
        _commitRound(true);
        ItemLeaf[] memory copied = new ItemLeaf[](1);
        copied[0] = _r2Leaves()[0];
        copied[0].upstream = makeAddr("made-up upstream");
        CommittedItem memory copy = _item(_commitLeaves(1, COPIER, copied), copied, 0);
        _stakeStageOneValidator(makeAddr("second stage-one validator"));
        _warpToChallenge(modelId, 0);
        // both disputes decided inside the challenge window
        uint256 bond = ledger.challengeBondWei(modelId);
        CommittedItem memory forged = _headItem(MB, true);
        CommittedItem memory r2Leaf = _r2Item(1);
        vm.prank(validators[0]);
        uint256 headDispute = ledger.challengeItem{value: bond}(forged);
        vm.prank(stageOneValidator);
        uint256 r2Dispute = ledger.challengeItem{value: bond}(r2Leaf);
        _draw(headDispute);
        _draw(r2Dispute);
        _voteAll(headDispute, true);
        _voteAll(r2Dispute, true);
        vm.warp(block.timestamp + VOTE_SEC);
        ledger.resolveDispute(headDispute);
        ledger.resolveDispute(r2Dispute);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[HEAD]).slashed);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R2]).slashed);

        CommittedItem memory original = _r2Item(0);
        CommittedItem memory up = _headItem(2, true);
        ledger.proveDuplicate(copy, original, up, new CommittedItem[](0));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
    }

    // ---------------------------------------------------------------- proveMisordered

    /// @dev R1 commits `mbs` at slots 0, 1, ...; returns its commitment.
    function _commitR1(uint32[] memory mbs) internal returns (Commitment memory) {
        return _commitLeaves(1, R1, _replicaLeaves(mbs));
    }

    /// @dev A tree claiming microbatch 1 at slots 1 and 2 is voided (it would be paid twice for one
    /// microbatch, and its absences could not be proven).
    function test_proveMisordered_microbatchClaimedTwice_voids() public {
        uint32[] memory mbs = _mbs4(0, 1, 1, 4);
        Commitment memory c = _commitR1(mbs);
        _warpToChallenge(modelId, 0);
        ItemLeaf[] memory leaves = _replicaLeaves(mbs);
        vm.expectEmit(address(ledger));
        emit CommitmentVoided(modelId, 0, workers[R1], 1, address(0), uint64(4 * STAGE1_UNITS));
        ledger.proveMisordered(_item(c, leaves, 1), _item(c, leaves, 2));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        assertEq(ledger.roundState(modelId, 0).totalUnits, 0);
        vm.expectRevert(ComputeLedgerCommitmentVoided.selector);
        ledger.proveMisordered(_item(c, leaves, 1), _item(c, leaves, 2));
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[R1]));
        ledger.mintReward(modelId, 0, workers[R1]);
    }

    /// @dev Slots in descending microbatch order, adjacent or not, void the tree.
    function test_proveMisordered_descendingSlots_voids() public {
        uint32[] memory mbs = _mbs4(4, 0, 1, 6);
        Commitment memory c = _commitR1(mbs);
        _warpToChallenge(modelId, 0);
        ItemLeaf[] memory leaves = _replicaLeaves(mbs);
        ledger.proveMisordered(_item(c, leaves, 0), _item(c, leaves, 2));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
    }

    /// @dev Ordered leaves, the same leaf twice, leaves given in slot-descending order, leaves of two
    /// commitments (two replicas, or two stages) and a made-up items root are refused, even against a
    /// tree that is misordered (R1 claims microbatch 3 at slots 1 and 2); its real proof then voids it.
    function test_proveMisordered_refusesOrderedLeavesAndOtherCommitments() public {
        headC = _commitLeaves(0, HEAD, _headLeaves(ROUTES, NONE));
        uint32[] memory mbs = _mbs4(0, 3, 3, 6);
        Commitment memory c = _commitR1(mbs);
        r2C = _commitLeaves(1, R2, _r2Leaves());
        _warpToChallenge(modelId, 0);
        ItemLeaf[] memory leaves = _replicaLeaves(mbs);
        _expectNotMisordered(_item(c, leaves, 0), _item(c, leaves, 1)); // microbatches 0 < 3
        _expectNotMisordered(_item(c, leaves, 2), _item(c, leaves, 3)); // 3 < 6
        _expectNotMisordered(_item(c, leaves, 1), _item(c, leaves, 1)); // one leaf
        _expectNotMisordered(_item(c, leaves, 2), _item(c, leaves, 1)); // a's slot must come first
        _expectNotMisordered(_r2Item(1), _item(c, leaves, 2)); // R2's slot 1 and R1's slot 2, both microbatch 3
        _expectNotMisordered(_item(c, leaves, 1), _headItem(2, false)); // R1's slot 1 (3) and HEAD's slot 2 (2)
        CommittedItem memory otherRoot = _item(c, leaves, 2);
        otherRoot.itemsRoot = _r2Item(0).itemsRoot;
        _expectNotMisordered(_item(c, leaves, 1), otherRoot);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        ledger.proveMisordered(_item(c, leaves, 1), _item(c, leaves, 2));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
    }

    /// @dev Two different leaves at one slot break the order too (a tree with more leaves than slots).
    function test_proveMisordered_twoLeavesAtOneSlot_voids() public {
        uint32[] memory mbs = _mbs4(0, 3, 5, 6);
        ItemLeaf[] memory leaves = _replicaLeaves(mbs);
        leaves[2].index = 1; // microbatches 3 and 5 both at slot 1
        Commitment memory c = _commitLeaves(1, R1, leaves);
        _warpToChallenge(modelId, 0);
        _expectNotMisordered(_item(c, leaves, 1), _item(c, leaves, 2)); // 3 < 5: given the other way round
        ledger.proveMisordered(_item(c, leaves, 2), _item(c, leaves, 1));
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
    }

    /// @dev Like every link proof, only until the round's challenge window closes (finalized units stay).
    function test_proveMisordered_afterChallengeWindow_reverts() public {
        uint32[] memory mbs = _mbs4(0, 2, 2, 3);
        Commitment memory c = _commitR1(mbs);
        ItemLeaf[] memory leaves = _replicaLeaves(mbs);
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.proveMisordered(_item(c, leaves, 1), _item(c, leaves, 2));
    }

    function _expectNotMisordered(CommittedItem memory a, CommittedItem memory b) internal {
        vm.expectRevert(ComputeLedgerNotMisordered.selector);
        ledger.proveMisordered(a, b);
    }

    /// @dev Two leaves of one tree at any slots and microbatches: the tree is voided exactly when
    /// the first slot's microbatch is not below the second's, and never by the reverse order.
    function testFuzz_proveMisordered_voidsExactlyWhenTwoLeavesBreakTheSlotOrder(
        uint32 slotA,
        uint32 slotB,
        uint32 mbA,
        uint32 mbB
    ) public {
        ItemLeaf[] memory leaves = new ItemLeaf[](2);
        leaves[0] = _honestLeaf(1, uint32(bound(mbA, 0, MICROBATCHES - 1)));
        leaves[0].index = uint32(bound(slotA, 0, MICROBATCHES - 1));
        leaves[1] = _honestLeaf(1, uint32(bound(mbB, 0, MICROBATCHES - 1)));
        leaves[1].index = uint32(bound(slotB, 0, MICROBATCHES - 1));
        Commitment memory c = _commitLeaves(1, R1, leaves);
        _warpToChallenge(modelId, 0);
        CommittedItem memory a = _item(c, leaves, 0);
        CommittedItem memory b = _item(c, leaves, 1);
        // Two different leaves (here: different slot or microbatch) out of order, or sharing a slot.
        bool different = a.leaf.index != b.leaf.index || a.leaf.microbatch != b.leaf.microbatch;
        bool misordered = different && a.leaf.index <= b.leaf.index && a.leaf.microbatch >= b.leaf.microbatch;
        bool reverseMisordered = different && b.leaf.index <= a.leaf.index && b.leaf.microbatch >= a.leaf.microbatch;
        if (!reverseMisordered) {
            vm.expectRevert(ComputeLedgerNotMisordered.selector);
            ledger.proveMisordered(b, a);
        }
        if (misordered) {
            ledger.proveMisordered(a, b);
            assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        } else {
            vm.expectRevert(ComputeLedgerNotMisordered.selector);
            ledger.proveMisordered(a, b);
            assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
        }
    }
}
