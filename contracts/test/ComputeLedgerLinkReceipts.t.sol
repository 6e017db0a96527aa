// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {console} from "forge-std/console.sol";
import {ReplicaRoundTestBase} from "./ledger/ReplicaRoundTestBase.sol";

/// @dev Link receipts (docs/PROTOCOL.md "Link receipts"): a neighbour that signs which microbatches it
/// exchanged with a worker and then commits leaves naming someone else is slashed, the worker its lie
/// voided is restored, and the copy the lie was told for is voided. The round of `ReplicaRoundTestBase`:
/// HEAD (stage 0) routes microbatches 0, 1, 4, 6 to R1 and 2, 3, 5, 7 to R2 (stage 1).
contract ComputeLedgerLinkReceiptsTest is ReplicaRoundTestBase {
    bytes32 internal constant LINK_RECEIPT_TYPEHASH_SPEC = keccak256(
        "LinkReceipt(uint64 modelId,uint64 round,uint16 stage,address upstream,address downstream,bytes microbatches)"
    );

    // ---------------------------------------------------------------- receipts

    /// @dev The bitmap of `mbs`: microbatch m is bit m % 8 of byte m / 8.
    function _bitmap(uint32[] memory mbs) internal pure returns (bytes memory bits) {
        bits = new bytes(MICROBATCHES / 8);
        for (uint256 i; i < mbs.length; ++i) {
            bits[mbs[i] / 8] = bytes1(uint8(bits[mbs[i] / 8]) | uint8(1 << (mbs[i] % 8)));
        }
    }

    /// @dev The round-0 receipt between HEAD and `replica` listing `mbs`.
    function _receipt(uint256 replica, uint32[] memory mbs) internal view returns (LinkReceipt memory) {
        return LinkReceipt({
            modelId: modelId,
            round: 0,
            stage: 0,
            upstream: workers[HEAD],
            downstream: workers[replica],
            microbatches: _bitmap(mbs)
        });
    }

    function _signReceipt(uint256 key, LinkReceipt memory r) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                LINK_RECEIPT_TYPEHASH_SPEC,
                r.modelId,
                r.round,
                r.stage,
                r.upstream,
                r.downstream,
                keccak256(r.microbatches)
            )
        );
        bytes32 digest =
            keccak256(abi.encodePacked(hex"1901", _domainSeparator(block.chainid, address(ledger)), structHash));
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(rr, s, v);
    }

    function _none() internal pure returns (CommittedItem[] memory) {
        return new CommittedItem[](0);
    }

    function _one(CommittedItem memory item) internal pure returns (CommittedItem[] memory items) {
        items = new CommittedItem[](1);
        items[0] = item;
    }

    // ---------------------------------------------------------------- the colluding upstream

    /// @dev HEAD names COPIER instead of R2 on microbatch `mb` (R2 trained it); COPIER commits a copy of
    /// R2's leaf of it, naming HEAD. Returns HEAD's lying leaf, R2's leaf and COPIER's leaf.
    function _upstreamLie(uint8 routes, uint32 mb)
        internal
        returns (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy)
    {
        return _upstreamLieIn(0, routes, mb);
    }

    /// @dev `_upstreamLie` in round `round` (the caller warps to its commit window).
    function _upstreamLieIn(uint64 round, uint8 routes, uint32 mb)
        internal
        returns (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy)
    {
        ItemLeaf[] memory head = _headLeaves(routes, NONE);
        head[mb].downstream = workers[COPIER];
        headC = _commitLeavesIn(round, 0, HEAD, head);
        uint32[] memory r2Mbs = _microbatchesOf(routes, false);
        ItemLeaf[] memory r2Leaves = _replicaLeaves(r2Mbs);
        r2C = _commitLeavesIn(round, 1, R2, r2Leaves);
        r1C = _commitLeavesIn(round, 1, R1, _replicaLeaves(_microbatchesOf(routes, true)));
        uint256 slot = _slotOf(r2Mbs, mb);
        ItemLeaf[] memory copied = new ItemLeaf[](1);
        copied[0] = _replicaLeaves(r2Mbs)[slot]; // a fresh leaf: memory structs alias
        copied[0].index = 0;
        Commitment memory copyC = _commitLeavesIn(round, 1, COPIER, copied);
        lie = _item(headC, head, mb);
        victim = _item(r2C, r2Leaves, slot);
        copy = _item(copyC, copied, 0);
    }

    function _commitLeavesIn(uint64 round, uint16 stage, uint256 w, ItemLeaf[] memory leaves)
        internal
        returns (Commitment memory c)
    {
        c = _commitment(modelId, round, stage, w, _rootOf(leaves), uint32(leaves.length));
        _submit(c, _sign(signingKeys[w], c));
    }

    function _slotOf(uint32[] memory mbs, uint32 m) internal pure returns (uint256) {
        for (uint256 i; i < mbs.length; ++i) {
            if (mbs[i] == m) return i;
        }
        revert NotHeld(m);
    }

    /// @dev Without receipts this attack paid: the lie voids R2 through `proveUnlinked`. R2 holds HEAD's
    /// receipt for its microbatches and proves the equivocation: HEAD is slashed, R2 counts again, the
    /// copy is voided, and at finalization R2 is paid its full share while COPIER and HEAD get nothing.
    function test_colludingUpstream_victimRestored_liarSlashed_copyVoided() public {
        (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        bytes memory signature = _signReceipt(signingKeys[HEAD], receipt);
        uint256 fullUnits = ledger.roundState(modelId, 0).totalUnits;
        _warpToChallenge(modelId, 0);

        ledger.proveUnlinked(victim, lie, copy);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided, "the lie alone voids the victim");

        uint256 stakeBefore = ledger.staker(workers[HEAD]).stakeWei;
        vm.expectEmit(address(ledger));
        emit LinkEquivocationProven(modelId, 0, workers[HEAD], 0, MB, workers[R2], workers[R2]);
        vm.expectEmit(address(ledger));
        emit CommitmentRestored(modelId, 0, workers[R2], 1, workers[HEAD], uint64(4 * STAGE1_UNITS));
        vm.expectEmit(address(ledger));
        emit CommitmentVoided(modelId, 0, workers[COPIER], 1, workers[HEAD], uint64(STAGE1_UNITS));
        vm.prank(workers[R2]);
        ledger.proveLinkEquivocation(lie, receipt, signature, _one(copy));

        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided, "restored");
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided, "the copy earns nothing");
        assertTrue(ledger.staker(workers[HEAD]).jailed);
        assertEq(ledger.staker(workers[HEAD]).stakeWei, stakeBefore / 2, "slashed like fraud");
        assertEq(
            ledger.roundState(modelId, 0).totalUnits,
            fullUnits - MICROBATCHES * STAGE0_UNITS - STAGE1_UNITS,
            "HEAD's and the copy's units left the round, R2's are back"
        );
        assertEq(ledger.paymentsOf(workers[R2]), stakeBefore / 2 * ledger.WINNER_SHARE_BPS() / 10_000);

        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        uint256 total = ledger.roundState(modelId, 0).totalUnits;
        uint256 victimTokens = _mint(R2);
        assertEq(victimTokens, uint256(TOKENS_PER_ROUND) * 4 * STAGE1_UNITS / total);
        // figures for bench:attacks (scripts/bench-attacks.ts)
        console.log("attack collude.liarSlashedWei", stakeBefore / 2);
        console.log("attack collude.victimTokens", victimTokens);
        console.log("attack collude.copierTokens", uint256(0));
        console.log("attack collude.proverRewardWei", ledger.paymentsOf(workers[R2]));
        vm.expectRevert();
        ledger.mintReward(modelId, 0, workers[COPIER]);
        vm.expectRevert();
        ledger.mintReward(modelId, 0, workers[HEAD]);
    }

    /// @dev Whatever the routing and whichever of R2's microbatches HEAD lies about, R2's receipt
    /// restores it and the round ends with R2's units in and the liar's and the copy's out.
    function testFuzz_colludingUpstream_anyRoutingAnyMicrobatch_victimKeepsItsUnits(uint8 routes, uint8 mbSeed) public {
        routes = uint8(bound(routes, 1, 254));
        uint32[] memory r2Mbs = _microbatchesOf(routes, false);
        uint32 mb = r2Mbs[mbSeed % r2Mbs.length];
        (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy) = _upstreamLie(routes, mb);
        LinkReceipt memory receipt = _receipt(R2, r2Mbs);
        bytes memory signature = _signReceipt(signingKeys[HEAD], receipt);
        uint256 r2Units = r2Mbs.length * STAGE1_UNITS;
        uint256 fullUnits = ledger.roundState(modelId, 0).totalUnits;
        _warpToChallenge(modelId, 0);
        ledger.proveUnlinked(victim, lie, copy);
        vm.prank(validators[0]);
        ledger.proveLinkEquivocation(lie, receipt, signature, _one(copy));
        assertEq(ledger.commitmentOf(modelId, 0, 1, workers[R2]).units, r2Units);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
        assertEq(ledger.roundState(modelId, 0).totalUnits, fullUnits - MICROBATCHES * STAGE0_UNITS - STAGE1_UNITS);
    }

    /// @dev The copy named by the lie was also used to void R2 as a "duplicate" of it: the receipt
    /// restores R2 just the same (the void names HEAD, the copy's and R2's upstream).
    function test_colludingUpstream_voidedAsDuplicate_restored() public {
        (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        _warpToChallenge(modelId, 0);
        ledger.proveDuplicate(victim, copy, lie, _none());
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
        vm.prank(workers[R2]);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(signingKeys[HEAD], receipt), _one(copy));
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[COPIER]).voided);
    }

    // ---------------------------------------------------------------- the colluding downstream

    /// @dev R2 signed that it took MB from HEAD, but its leaf of MB names OTHER_HEAD, whose leaf names
    /// R2 back: HEAD is voided by `proveUnlinked` until HEAD proves R2's equivocation with R2's receipt.
    function test_colludingDownstream_upstreamRestored_liarSlashed() public {
        headC = _commitLeaves(0, HEAD, _headLeaves(ROUTES, NONE));
        uint32[] memory r2Mbs = _microbatchesOf(ROUTES, false);
        ItemLeaf[] memory r2Leaves = _replicaLeaves(r2Mbs);
        r2Leaves[2].upstream = workers[OTHER_HEAD]; // slot 2 holds MB
        r2C = _commitLeaves(1, R2, r2Leaves);
        ItemLeaf[] memory other = new ItemLeaf[](1);
        other[0] = _honestLeaf(0, MB);
        other[0].index = 0;
        other[0].downstream = workers[R2];
        Commitment memory otherC = _commitLeaves(0, OTHER_HEAD, other);
        LinkReceipt memory receipt = _receipt(R2, r2Mbs);
        bytes memory signature = _signReceipt(signingKeys[R2], receipt);
        _warpToChallenge(modelId, 0);

        CommittedItem memory lie = _item(r2C, r2Leaves, 2);
        CommittedItem memory copy = _item(otherC, other, 0);
        ledger.proveUnlinked(_headItem(MB, false), lie, copy);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[HEAD]).voided);

        vm.prank(workers[HEAD]);
        ledger.proveLinkEquivocation(lie, receipt, signature, _one(copy));
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[HEAD]).voided, "restored");
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[OTHER_HEAD]).voided);
        assertTrue(ledger.staker(workers[R2]).jailed);
        assertFalse(ledger.staker(workers[HEAD]).jailed);
    }

    // ---------------------------------------------------------------- what is not an equivocation

    /// @dev Honest leaves agree with the receipts: no leaf of either side can be accused, whichever
    /// microbatch (listed or not) and whichever end.
    function test_honestLeaves_neverAnEquivocation() public {
        _commitRound(false);
        uint32[] memory r2Mbs = _microbatchesOf(ROUTES, false);
        LinkReceipt memory receipt = _receipt(R2, r2Mbs);
        bytes memory headSig = _signReceipt(signingKeys[HEAD], receipt);
        bytes memory r2Sig = _signReceipt(signingKeys[R2], receipt);
        _warpToChallenge(modelId, 0);
        for (uint32 m; m < MICROBATCHES; ++m) {
            // listed microbatches name R2; the others (R1's) are not listed
            vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
            ledger.proveLinkEquivocation(_headItem(m, false), receipt, headSig, _none());
        }
        for (uint256 slot; slot < r2Mbs.length; ++slot) {
            vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
            ledger.proveLinkEquivocation(_r2Item(slot), receipt, r2Sig, _none());
        }
        // R1's leaves are not about this receipt at all
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(_r1Item(0), receipt, r2Sig, _none());
        assertFalse(ledger.staker(workers[HEAD]).jailed);
        assertFalse(ledger.staker(workers[R2]).jailed);
    }

    /// @dev A receipt of another round or model, or one that does not list the microbatch, accuses nobody.
    function test_receiptOfAnotherRoundOrModel_orUnlisted_reverts() public {
        (CommittedItem memory lie,,) = _upstreamLie(ROUTES, MB);
        _warpToChallenge(modelId, 0);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        receipt.round = 1;
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(signingKeys[HEAD], receipt), _none());
        receipt.round = 0;
        receipt.modelId = modelId + 1;
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(signingKeys[HEAD], receipt), _none());
        LinkReceipt memory unlisted = _receipt(R2, _mbs(2, 3));
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(lie, unlisted, _signReceipt(signingKeys[HEAD], unlisted), _none());
        LinkReceipt memory short = _receipt(R2, _microbatchesOf(ROUTES, false));
        short.microbatches = new bytes(0);
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(lie, short, _signReceipt(signingKeys[HEAD], short), _none());
    }

    function _mbs(uint32 a, uint32 b) internal pure returns (uint32[] memory mbs) {
        mbs = new uint32[](2);
        (mbs[0], mbs[1]) = (a, b);
    }

    /// @dev Only the accused's own key (current, or retired after the round began) makes a receipt
    /// evidence: a receipt signed by anyone else, or malformed, is refused.
    function test_receiptNotSignedByTheAccused_reverts() public {
        (CommittedItem memory lie,,) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        _warpToChallenge(modelId, 0);
        vm.expectRevert(ComputeLedgerInvalidReceiptSignature.selector);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(signingKeys[R2], receipt), _none());
        vm.expectRevert(ComputeLedgerInvalidReceiptSignature.selector);
        ledger.proveLinkEquivocation(lie, receipt, hex"1234", _none());
        assertFalse(ledger.staker(workers[HEAD]).jailed);
    }

    /// @dev Rotating the signing key after the round began does not hide the lie; a key retired
    /// before the round began is no evidence of it.
    function test_keyRotation_retiredKeyEvidenceOnlyForRoundsItServed() public {
        (CommittedItem memory lie,,) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        bytes memory oldSig = _signReceipt(signingKeys[HEAD], receipt);
        vm.prank(workers[HEAD]);
        ledger.rotateSigningKey(makeAddr("new HEAD key"));
        _warpToChallenge(modelId, 0);
        vm.prank(workers[R2]);
        ledger.proveLinkEquivocation(lie, receipt, oldSig, _none());
        assertTrue(ledger.staker(workers[HEAD]).jailed, "a key retired during the round is evidence");
    }

    /// @dev A key HEAD held and retired during round 0 is no evidence about round 1.
    function test_keyRetiredBeforeTheRound_notEvidence() public {
        uint256 earlyKey = uint256(keccak256("early HEAD key"));
        vm.startPrank(workers[HEAD]);
        ledger.rotateSigningKey(vm.addr(earlyKey));
        ledger.rotateSigningKey(vm.addr(signingKeys[HEAD]));
        vm.stopPrank();
        _warpToCommit(modelId, 1);
        (CommittedItem memory lie,,) = _upstreamLieIn(1, ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        receipt.round = 1;
        _warpToChallenge(modelId, 1);
        vm.expectRevert(ComputeLedgerInvalidReceiptSignature.selector);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(earlyKey, receipt), _none());
        // the key it holds now is
        vm.prank(workers[R2]);
        ledger.proveLinkEquivocation(lie, receipt, _signReceipt(signingKeys[HEAD], receipt), _none());
        assertTrue(ledger.staker(workers[HEAD]).jailed);
    }

    /// @dev The liar cannot prove its own lie to recover the winner's share, and after the challenge
    /// window nothing can be proven (the round's units are fixed).
    function test_selfProofAndLateProof_revert() public {
        (CommittedItem memory lie,,) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        bytes memory signature = _signReceipt(signingKeys[HEAD], receipt);
        _warpToChallenge(modelId, 0);
        vm.prank(workers[HEAD]);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.proveLinkEquivocation(lie, receipt, signature, _none());
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.proveLinkEquivocation(lie, receipt, signature, _none());
    }

    /// @dev The beneficiary must be the worker the lie names, with a leaf of that microbatch naming the
    /// liar back; R1, an innocent bystander, cannot be voided through HEAD's lie.
    function test_beneficiaryMustBeTheNamedPartnerNamingTheLiarBack() public {
        (CommittedItem memory lie,, CommittedItem memory copy) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        bytes memory signature = _signReceipt(signingKeys[HEAD], receipt);
        _warpToChallenge(modelId, 0);
        vm.expectRevert(ComputeLedgerNotABeneficiary.selector);
        ledger.proveLinkEquivocation(lie, receipt, signature, _one(_r1Item(0)));
        CommittedItem[] memory two = new CommittedItem[](2);
        (two[0], two[1]) = (copy, copy);
        vm.expectRevert(ComputeLedgerNotABeneficiary.selector);
        ledger.proveLinkEquivocation(lie, receipt, signature, two);
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R1]).voided);
    }

    /// @dev A liar already slashed in the round (here: by a first proof without the victim's void) is not
    /// slashed twice, but a later proof still restores the commitment its lie voided.
    function test_liarAlreadySlashed_stillRestoresTheVictim_notSlashedTwice() public {
        (CommittedItem memory lie, CommittedItem memory victim, CommittedItem memory copy) = _upstreamLie(ROUTES, MB);
        LinkReceipt memory receipt = _receipt(R2, _microbatchesOf(ROUTES, false));
        bytes memory signature = _signReceipt(signingKeys[HEAD], receipt);
        _warpToChallenge(modelId, 0);
        vm.prank(validators[0]);
        ledger.proveLinkEquivocation(lie, receipt, signature, _none());
        uint256 stakeAfterFirst = ledger.staker(workers[HEAD]).stakeWei;
        // the lie still voids R2 (HEAD's leaf stays evidence) ...
        ledger.proveUnlinked(victim, lie, copy);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
        // ... and the receipt restores it, with no second slash
        vm.prank(workers[R2]);
        ledger.proveLinkEquivocation(lie, receipt, signature, _one(copy));
        assertFalse(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
        assertEq(ledger.staker(workers[HEAD]).stakeWei, stakeAfterFirst);
    }

    /// @dev A commitment voided for its own fault (slots out of order) is not restored by a receipt.
    function test_voidedForItsOwnFault_notRestored() public {
        headC = _commitLeaves(0, HEAD, _headLeaves(ROUTES, NONE));
        uint32[] memory r2Mbs = _microbatchesOf(ROUTES, false);
        ItemLeaf[] memory r2Leaves = _replicaLeaves(r2Mbs);
        (r2Leaves[0].microbatch, r2Leaves[1].microbatch) = (r2Leaves[1].microbatch, r2Leaves[0].microbatch);
        r2C = _commitLeaves(1, R2, r2Leaves);
        ItemLeaf[] memory head = _headLeaves(ROUTES, NONE);
        LinkReceipt memory receipt = _receipt(R2, r2Mbs);
        _warpToChallenge(modelId, 0);
        ledger.proveMisordered(_item(r2C, r2Leaves, 0), _item(r2C, r2Leaves, 1));
        // HEAD's honest leaf is no equivocation; and no lie of HEAD's voided R2
        vm.expectRevert(ComputeLedgerNotAnEquivocation.selector);
        ledger.proveLinkEquivocation(_item(headC, head, MB), receipt, _signReceipt(signingKeys[HEAD], receipt), _none());
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[R2]).voided);
    }
}
