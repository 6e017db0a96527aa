// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {ServingEscrowStub} from "./ledger/ServingEscrowStub.sol";

/// @notice The ledger's side of verified inference (docs/PROTOCOL.md "Verified inference"): serving
/// disputes judged by the committee of the served stage, the slash that refunds the requester first, the
/// objective equivocation slash, and that only the registry's bound escrow can start either.
contract ComputeLedgerServingTest is LedgerTestBase {
    ServingEscrowStub internal escrow;
    address internal challenger = makeAddr("challenger");
    uint256 internal bondWei;
    uint64 internal constant REQUEST = 7;

    function setUp() public override {
        super.setUp();
        escrow = new ServingEscrowStub(ledger);
        registry.bindEscrow(address(escrow));
        bondWei = ledger.challengeBondWei(modelId);
        vm.deal(address(escrow), 0);
        vm.deal(challenger, 10 ether);
    }

    function test_openServingDispute_notFromTheEscrow_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotEscrow.selector, address(this)));
        ledger.openServingDispute{value: bondWei}(modelId, REQUEST, 0, workers[0], challenger, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotEscrow.selector, address(this)));
        ledger.slashServingOperator(modelId, REQUEST, 0, workers[0], challenger, 1 ether);
    }

    function test_openServingDispute_wrongBond_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerWrongBond.selector, bondWei, bondWei - 1));
        escrow.open{value: bondWei - 1}(modelId, REQUEST, 0, workers[0], challenger, 1 ether);
    }

    function test_openServingDispute_recordsAServingDisputeAndLocksTheStake() public {
        uint256 id = _open(0, workers[0], 1 ether);
        Dispute memory d = ledger.dispute(id);
        assertEq(uint8(d.kind), uint8(DisputeKind.Serving));
        assertEq(d.round, REQUEST, "the request id");
        assertEq(d.accused, workers[0]);
        assertEq(d.challenger, challenger);
        assertEq(ledger.staker(workers[0]).openDisputes, 1);
        assertEq(ledger.roundState(modelId, REQUEST).openDisputes, 0, "no training round is touched");
        vm.prank(workers[0]);
        ledger.requestUnbond();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.expectRevert(ComputeLedgerStakeAtRisk.selector);
        vm.prank(workers[0]);
        ledger.withdrawStake();
    }

    function test_fraudVerdict_slashesRefundsTheFeeFirstAndReportsToTheEscrow() public {
        uint256 id = _open(VALIDATOR_STAGE, workers[1], 0.3 ether);
        uint256 stakeBefore = ledger.staker(workers[1]).stakeWei; // 2 ether
        _draw(id);
        _voteAll(id, true);
        vm.warp(block.timestamp + VOTE_SEC);
        vm.expectEmit(address(ledger));
        // 50% of 2 ether = 1 ether: 0.3 refunded, of the other 0.7: half to the challenger, a quarter to voters
        emit ServingOperatorSlashed(modelId, REQUEST, workers[1], VALIDATOR_STAGE, 1 ether, 0.3 ether, 0.35 ether, 0.175 ether);
        ledger.resolveDispute(id);
        assertEq(ledger.staker(workers[1]).stakeWei, stakeBefore - 1 ether);
        assertTrue(ledger.staker(workers[1]).jailed, "a cheating operator stops serving");
        assertFalse(ledger.isServingOperator(modelId, workers[1]));
        assertEq(ledger.staker(workers[1]).openDisputes, 0);
        assertEq(escrow.verdictCount(), 1);
        (uint256 requestId, uint16 stage, bool fraud, bool closes, uint256 refundWei) = escrow.verdicts(0);
        assertEq(requestId, REQUEST);
        assertEq(stage, VALIDATOR_STAGE);
        assertTrue(fraud);
        assertTrue(closes);
        assertEq(refundWei, 0.3 ether);
        assertEq(address(escrow).balance, 0.3 ether);
        assertEq(ledger.paymentsOf(challenger), bondWei + 0.35 ether, "bond back plus the winner's share");
    }

    function test_fraudVerdict_feeAboveHalfTheStake_slashesEnoughToRefundIt() public {
        uint256 id = _open(VALIDATOR_STAGE, workers[2], 1.5 ether);
        _decide(id, true);
        (,,,, uint256 refundWei) = escrow.verdicts(0);
        assertEq(refundWei, 1.5 ether, "the requester is refunded in full while the stake covers it");
        assertEq(ledger.staker(workers[2]).stakeWei, 0.5 ether);
    }

    function test_fraudVerdict_feeAboveTheStake_refundsTheWholeStake() public {
        uint256 id = _open(VALIDATOR_STAGE, workers[3], 5 ether);
        _decide(id, true);
        (,,,, uint256 refundWei) = escrow.verdicts(0);
        assertEq(refundWei, 2 ether);
        assertEq(ledger.staker(workers[3]).stakeWei, 0);
    }

    function test_honestVerdict_forfeitsTheBondToTheOperator_andReportsNoFraud() public {
        uint256 id = _open(VALIDATOR_STAGE, workers[0], 1 ether);
        uint256 stakeBefore = ledger.staker(workers[0]).stakeWei;
        _decide(id, false);
        assertEq(ledger.staker(workers[0]).stakeWei, stakeBefore);
        assertFalse(ledger.staker(workers[0]).jailed);
        assertEq(ledger.paymentsOf(workers[0]), bondWei * ledger.WINNER_SHARE_BPS() / 10_000);
        (,, bool fraud, bool closes, uint256 refundWei) = escrow.verdicts(0);
        assertFalse(fraud);
        assertTrue(closes);
        assertEq(refundWei, 0);
    }

    function test_absentCommittee_isPenalized_likeAnItemDispute() public {
        uint256 id = _open(VALIDATOR_STAGE, workers[0], 1 ether);
        _draw(id);
        vm.warp(block.timestamp + 2 * VOTE_SEC + 1);
        ledger.resolveDispute(id);
        assertEq(uint8(ledger.dispute(id).status), uint8(DisputeStatus.Dismissed));
        (,, bool fraud,,) = escrow.verdicts(0);
        assertFalse(fraud);
        uint256 penalized;
        for (uint256 i; i < validators.length; ++i) {
            if (ledger.staker(validators[i]).stakeWei < 1 ether) ++penalized;
        }
        assertGt(penalized, 0, "a serving output can always be re-executed: not voting costs stake");
    }

    function test_committeeIsDrawnFromTheServedStage() public {
        _moveValidators(1);
        uint256 idStage0 = _open(0, workers[0], 1 ether);
        vm.roll(block.number + 1);
        ledger.drawCommittee(idStage0);
        assertEq(ledger.panel(idStage0, 0).length, 0, "no validator of stage 0 is left to sit");
        uint256 idStage1 = _open(1, workers[0], 1 ether);
        _draw(idStage1);
        assertGt(ledger.panel(idStage1, 0).length, 0);
    }

    function test_equivocationSlash_isImmediate_andRefundsFirst() public {
        uint256 challengerBefore = ledger.paymentsOf(challenger);
        escrow.slash(modelId, REQUEST, 1, workers[0], challenger, 0.2 ether);
        assertEq(ledger.staker(workers[0]).stakeWei, 1 ether);
        assertTrue(ledger.staker(workers[0]).jailed);
        (uint256 requestId, uint16 stage, bool fraud, bool closes, uint256 refundWei) = escrow.verdicts(0);
        assertEq(requestId, REQUEST);
        assertEq(stage, 1);
        assertTrue(fraud);
        assertFalse(closes, "no dispute was open");
        assertEq(refundWei, 0.2 ether);
        assertEq(ledger.paymentsOf(challenger) - challengerBefore, 0.4 ether, "winner's share of the other 0.8");
    }

    function testFuzz_servingSlash_conservesTheStake(uint96 capWei, bool objective) public {
        capWei = uint96(bound(capWei, 0, 5 ether));
        uint256 stakeBefore = ledger.staker(workers[1]).stakeWei;
        uint256 burnBefore = address(0xdEaD).balance;
        uint256 paidBefore = ledger.paymentsOf(challenger);
        if (objective) {
            escrow.slash(modelId, REQUEST, 0, workers[1], challenger, capWei);
        } else {
            uint256 id = _open(VALIDATOR_STAGE, workers[1], capWei);
            _decide(id, true);
            paidBefore += bondWei; // the bond comes back
        }
        uint256 slashed = stakeBefore - ledger.staker(workers[1]).stakeWei;
        (,,,, uint256 refundWei) = escrow.verdicts(0);
        assertEq(refundWei, capWei < stakeBefore ? capWei : stakeBefore, "refund = min(fee, stake)");
        assertGe(slashed, stakeBefore / 2);
        assertGe(slashed, refundWei);
        uint256 voters;
        for (uint256 i; i < validators.length; ++i) {
            voters += ledger.paymentsOf(validators[i]);
        }
        uint256 reward = ledger.paymentsOf(challenger) - paidBefore;
        assertEq(refundWei + reward + voters + (address(0xdEaD).balance - burnBefore), slashed, "every slashed wei lands");
    }

    function _open(uint16 stage, address operator, uint256 capWei) internal returns (uint256) {
        vm.prank(challenger);
        return escrow.open{value: bondWei}(modelId, REQUEST, stage, operator, challenger, capWei);
    }
}
