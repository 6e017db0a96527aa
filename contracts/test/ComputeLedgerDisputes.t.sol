// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

contract ComputeLedgerDisputesTest is LedgerTestBase {
    address internal constant DEAD = address(0xdEaD);
    uint32 internal constant BAD_INDEX = 2;

    Commitment internal upC; // worker 0, stage 0, leaf BAD_INDEX forged (output does not chain)
    Commitment internal downC; // worker 1, stage 1, honest
    ItemLeaf[] internal upLeaves;
    bytes32[] internal upHashes;
    ItemLeaf[] internal downLeaves;
    bytes32[] internal downHashes;
    address internal challenger;
    uint256 internal bond;

    function setUp() public override {
        super.setUp();
        challenger = validators[0];
        bond = ledger.challengeBondWei(modelId);
        _warpToCommit(modelId, 0);
        ItemLeaf memory forged = _leaf(0, BAD_INDEX, keccak256("forged"));
        (ItemLeaf[] memory ul, bytes32[] memory uh) = _items(0, true, BAD_INDEX, forged);
        ItemLeaf memory none;
        (ItemLeaf[] memory dl, bytes32[] memory dh) = _items(1, false, 0, none);
        for (uint256 i; i < 4; ++i) {
            upLeaves.push(ul[i]);
            upHashes.push(uh[i]);
            downLeaves.push(dl[i]);
            downHashes.push(dh[i]);
        }
        (bytes32 upRoot,) = _tree(uh, 0);
        (bytes32 downRoot,) = _tree(dh, 0);
        upC = _commitment(modelId, 0, 0, 0, upRoot, 4);
        downC = _commitment(modelId, 0, 1, 1, downRoot, 4);
        _submit(upC, _sign(signingKeys[0], upC));
        _submit(downC, _sign(signingKeys[1], downC));
        _commit(modelId, 0, 0, 2); // an honest bystander on stage 0
        _warpToChallenge(modelId, 0);
    }

    // ---------------------------------------------------------------- helpers

    function _upItem(uint32 index) internal view returns (CommittedItem memory) {
        return _committedItem(upC, upLeaves, upHashes, index);
    }

    function _downItem(uint32 index) internal view returns (CommittedItem memory) {
        return _committedItem(downC, downLeaves, downHashes, index);
    }

    function _challengeBad() internal returns (uint256 id) {
        vm.prank(challenger);
        id = ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function _vote(uint256 id, uint256 fraudVotes, uint256 honestVotes) internal {
        Dispute memory d = ledger.dispute(id);
        uint256 k;
        for (uint256 i; i < fraudVotes; ++i) {
            vm.prank(d.committee[k++]);
            ledger.vote(id, true);
        }
        for (uint256 i; i < honestVotes; ++i) {
            vm.prank(d.committee[k++]);
            ledger.vote(id, false);
        }
    }

    function _payments(address a) internal view returns (uint256) {
        return ledger.paymentsOf(a);
    }

    // ---------------------------------------------------------------- item challenge outcomes

    function test_challengeItem_opensDisputeWithEligibleCommittee() public {
        uint256 id = _challengeBad();
        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.status), uint8(DisputeStatus.Open));
        assertEq(uint8(d.kind), uint8(DisputeKind.Item));
        assertEq(d.accused, workers[0]);
        assertEq(d.challenger, challenger);
        assertEq(d.bondWei, bond);
        assertEq(d.committeeSize, 3);
        assertEq(d.voteDeadline, block.timestamp + VOTE_SEC);
        for (uint256 i; i < 3; ++i) {
            address m = d.committee[i];
            assertTrue(m != challenger && m != workers[0] && m != address(0));
            assertTrue(ledger.staker(m).validator);
            for (uint256 j; j < i; ++j) assertTrue(d.committee[j] != m);
        }
        assertEq(ledger.roundState(modelId, 0).openDisputes, 1);
        assertEq(ledger.staker(workers[0]).openDisputes, 1);
        assertEq(address(ledger).balance, 4 * 2 ether + 5 * 1 ether + bond);
    }

    function test_resolve_fraudMajority_slashesWorkerVoidsRoundAndPaysChallenger() public {
        uint256 totalBefore = ledger.roundState(modelId, 0).totalUnits;
        uint256 id = _challengeBad();
        _vote(id, 2, 1);
        uint256 deadBefore = DEAD.balance;
        vm.expectEmit(address(ledger));
        emit WorkerSlashed(modelId, 0, workers[0], 1 ether, 0.5 ether, 0.5 ether, 40);
        ledger.resolveDispute(id);

        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertTrue(ledger.staker(workers[0]).jailed);
        assertFalse(ledger.isServingOperator(modelId, workers[0]));
        address[] memory pipeline = new address[](2);
        (pipeline[0], pipeline[1]) = (workers[1], workers[0]);
        (bool found, address notServing) = ledger.findNonServingOperator(modelId, workers[1], pipeline);
        assertTrue(found);
        assertEq(notServing, workers[0]); // jailed
        assertEq(_payments(challenger), bond + 0.5 ether);
        assertEq(DEAD.balance - deadBefore, 0.5 ether);
        assertTrue(ledger.commitmentOf(modelId, 0, 0, workers[0]).slashed);
        assertEq(ledger.roundState(modelId, 0).totalUnits, totalBefore - 40);
        assertEq(ledger.roundState(modelId, 0).openDisputes, 0);

        // the slashed worker's reward for the round is zero
        _warpPastChallenge(modelId, 0);
        ledger.finalizeRound(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNothingToMint.selector, modelId, 0, workers[0]));
        ledger.mintReward(modelId, 0, workers[0]);
        // the challenger pulls its payment
        uint256 before = challenger.balance;
        vm.prank(challenger);
        ledger.withdrawPayments();
        assertEq(challenger.balance - before, bond + 0.5 ether);
    }

    function test_resolve_fraud_voidsWorkersOtherStagesOfTheRound() public {
        _warpToCommit(modelId, 1);
        _commit(modelId, 1, 0, 3);
        _commit(modelId, 1, 1, 3);
        _warpToChallenge(modelId, 1);
        ItemLeaf memory none;
        (ItemLeaf[] memory l, bytes32[] memory h) = _items(0, false, 0, none);
        Commitment memory c = _commitment(modelId, 1, 0, 3, _itemsRoot(0), 4);
        vm.prank(challenger);
        uint256 id = ledger.challengeItem{value: bond}(_committedItem(c, l, h, 1));
        _vote(id, 3, 0);
        ledger.resolveDispute(id);
        assertTrue(ledger.commitmentOf(modelId, 1, 1, workers[3]).slashed);
        assertEq(ledger.roundState(modelId, 1).totalUnits, 0);
    }

    function test_resolve_honestMajority_forfeitsBondToWorker() public {
        uint256 id = _challengeBad();
        uint256 deadBefore = DEAD.balance;
        _vote(id, 1, 2);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Honest));
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        assertFalse(ledger.staker(workers[0]).jailed);
        assertEq(_payments(workers[0]), bond / 2);
        assertEq(_payments(challenger), 0);
        assertEq(DEAD.balance - deadBefore, bond - bond / 2);
        assertFalse(ledger.commitmentOf(modelId, 0, 0, workers[0]).slashed);
    }

    function test_resolve_noVotesAfterDeadline_dismissesAndRefunds() public {
        uint256 id = _challengeBad();
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        assertEq(_payments(challenger), bond);
        assertEq(ledger.staker(workers[0]).stakeWei, 2 ether);
        assertEq(ledger.staker(workers[0]).openDisputes, 0);
    }

    function test_resolve_tie_dismisses() public {
        uint256 id = _challengeBad();
        _vote(id, 1, 1);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        assertEq(_payments(challenger), bond);
    }

    // ---------------------------------------------------------------- chain break

    function test_challengeChainBreak_fraud_slashesUpstream() public {
        vm.prank(challenger);
        uint256 id = ledger.challengeChainBreak(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.kind), uint8(DisputeKind.ChainBreak));
        assertEq(d.accused, workers[0]);
        assertEq(d.counterparty, workers[1]);
        assertEq(d.bondWei, 0);
        assertEq(ledger.staker(workers[1]).openDisputes, 1);
        _vote(id, 2, 0);
        vm.warp(block.timestamp + VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertTrue(ledger.staker(workers[0]).jailed);
        assertFalse(ledger.staker(workers[1]).jailed);
        assertEq(_payments(challenger), 0.5 ether);
        assertEq(ledger.staker(workers[1]).openDisputes, 0);
    }

    function test_challengeChainBreak_honest_slashesDownstream() public {
        vm.prank(challenger);
        uint256 id = ledger.challengeChainBreak(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
        _vote(id, 0, 3);
        ledger.resolveDispute(id);
        assertFalse(ledger.staker(workers[0]).jailed);
        assertTrue(ledger.staker(workers[1]).jailed);
        assertTrue(ledger.commitmentOf(modelId, 0, 1, workers[1]).slashed);
    }

    function test_challengeChainBreak_intactChain_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak(_upItem(1), _downItem(1));
    }

    function test_challengeChainBreak_differentIndex_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak(_upItem(BAD_INDEX), _downItem(1));
    }

    function test_challengeChainBreak_nonAdjacentStages_reverts() public {
        CommittedItem memory down = _downItem(BAD_INDEX);
        down.stage = 0;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotAChainBreak.selector);
        ledger.challengeChainBreak(_upItem(BAD_INDEX), down);
    }

    function test_challengeChainBreak_forgedDownstreamLeaf_reverts() public {
        // a challenger cannot manufacture a break by editing an honest leaf
        CommittedItem memory down = _downItem(1);
        down.leaf.inputGradHash = keccak256("fake");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeChainBreak(_upItem(1), down);
    }

    function test_challengeChainBreak_byParty_reverts() public {
        vm.prank(workers[1]);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeChainBreak(_upItem(BAD_INDEX), _downItem(BAD_INDEX));
    }

    // ---------------------------------------------------------------- challenge validation

    function test_challengeItem_duringCommitWindow_reverts() public {
        _warpToCommit(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_afterChallengeWindow_reverts() public {
        _warpPastChallenge(modelId, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerOutsideChallengeWindow.selector, modelId, 0));
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_notValidator_reverts() public {
        address nobody = makeAddr("nobody");
        vm.deal(nobody, 1 ether);
        vm.prank(nobody);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_unbondingValidator_reverts() public {
        vm.prank(challenger);
        ledger.requestUnbond();
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_selfChallenge_reverts() public {
        vm.startPrank(workers[0]);
        ledger.setValidator(true);
        vm.expectRevert(ComputeLedgerNotEligibleValidator.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
        vm.stopPrank();
    }

    function test_challengeItem_wrongBond_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bond, bond - 1));
        ledger.challengeItem{value: bond - 1}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_bondIsMinValidatorStake() public view {
        assertEq(bond, MIN_VALIDATOR_STAKE);
    }

    function test_challengeItem_otherRoot_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.itemsRoot = keccak256("framed root");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_missingCommitment_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.worker = workers[3];
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerUnknownCommitment.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_forgedLeaf_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.leaf.gradRoot = keccak256("not committed");
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerInvalidProof.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_indexOutOfRange_reverts() public {
        CommittedItem memory item = _upItem(BAD_INDEX);
        item.leaf.index = MICROBATCHES;
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerLeafIndexOutOfRange.selector);
        ledger.challengeItem{value: bond}(item);
    }

    function test_challengeItem_alreadySlashedCommitment_reverts() public {
        uint256 id = _challengeBad();
        _vote(id, 3, 0);
        ledger.resolveDispute(id);
        vm.prank(validators[1]);
        vm.expectRevert(ComputeLedgerCommitmentSlashed.selector);
        ledger.challengeItem{value: bond}(_upItem(1));
    }

    function test_challengeItem_noEligibleCommittee_reverts() public {
        // every other validator unbonds: only the challenger is left
        for (uint256 i = 1; i < N_VALIDATORS; ++i) {
            vm.prank(validators[i]);
            ledger.requestUnbond();
        }
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNoCommittee.selector);
        ledger.challengeItem{value: bond}(_upItem(BAD_INDEX));
    }

    function test_challengeItem_smallValidatorSet_committeeSmaller() public {
        for (uint256 i = 2; i < N_VALIDATORS; ++i) {
            vm.prank(validators[i]);
            ledger.setValidator(false);
        }
        uint256 id = _challengeBad();
        Dispute memory d = ledger.dispute(id);
        assertEq(d.committeeSize, 1);
        assertEq(d.committee[0], validators[1]);
        _vote(id, 1, 0);
        ledger.resolveDispute(id); // all (one) voted: resolvable before the deadline
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Fraud));
    }

    // ---------------------------------------------------------------- vote and resolve validation

    function test_vote_notCommitteeMember_reverts() public {
        uint256 id = _challengeBad();
        vm.prank(challenger);
        vm.expectRevert(ComputeLedgerNotCommitteeMember.selector);
        ledger.vote(id, true);
    }

    function test_vote_twice_reverts() public {
        uint256 id = _challengeBad();
        address m = ledger.dispute(id).committee[0];
        vm.startPrank(m);
        ledger.vote(id, true);
        vm.expectRevert(ComputeLedgerAlreadyVoted.selector);
        ledger.vote(id, false);
        vm.stopPrank();
    }

    function test_vote_afterDeadline_reverts() public {
        uint256 id = _challengeBad();
        address m = ledger.dispute(id).committee[0];
        vm.warp(block.timestamp + VOTE_SEC + 1);
        vm.prank(m);
        vm.expectRevert(ComputeLedgerVoteWindowClosed.selector);
        ledger.vote(id, true);
    }

    function test_vote_unknownDispute_reverts() public {
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.vote(42, true);
    }

    function test_vote_emitsAndCounts() public {
        uint256 id = _challengeBad();
        address m = ledger.dispute(id).committee[1];
        vm.expectEmit(address(ledger));
        emit Voted(id, m, false);
        vm.prank(m);
        ledger.vote(id, false);
        Dispute memory d = ledger.dispute(id);
        assertEq(d.honestVotes, 1);
        assertEq(d.votedMask, 2);
    }

    function test_resolve_beforeAllVotesAndDeadline_reverts() public {
        uint256 id = _challengeBad();
        _vote(id, 2, 0);
        vm.expectRevert(ComputeLedgerVotingNotOver.selector);
        ledger.resolveDispute(id);
    }

    function test_resolve_twice_reverts() public {
        uint256 id = _challengeBad();
        _vote(id, 3, 0);
        ledger.resolveDispute(id);
        vm.expectRevert(ComputeLedgerDisputeNotOpen.selector);
        ledger.resolveDispute(id);
    }

    // ---------------------------------------------------------------- disputes block finalization and exit

    function test_finalize_withOpenDispute_reverts() public {
        _challengeBad();
        _warpPastChallenge(modelId, 0);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerDisputesOpen.selector, modelId, 0, 1));
        ledger.finalizeRound(modelId, 0);
    }

    function test_withdrawStake_whileDisputeOpen_reverts() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        uint256 id = _challengeBad();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        ledger.withdrawStake();
        ledger.resolveDispute(id); // nobody voted: dismissed
        vm.prank(workers[0]);
        ledger.withdrawStake();
        assertEq(ledger.staker(workers[0]).stakeWei, 0);
    }

    function test_stake_whileJailed_reverts() public {
        uint256 id = _challengeBad();
        _vote(id, 3, 0);
        ledger.resolveDispute(id);
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerJailed.selector);
        ledger.stake{value: 1 ether}(payouts[0], vm.addr(signingKeys[0]));
    }

    function test_unbondingWorker_stillSlashable() public {
        vm.prank(workers[0]);
        ledger.requestUnbond();
        uint256 id = _challengeBad();
        _vote(id, 3, 0);
        ledger.resolveDispute(id);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        uint256 before = workers[0].balance;
        vm.prank(workers[0]);
        ledger.withdrawStake();
        assertEq(workers[0].balance - before, 1 ether);
    }
}
