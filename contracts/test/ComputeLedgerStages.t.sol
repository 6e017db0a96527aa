// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";

/// @dev Validators are per (model, stage): they audit, attest, challenge and sit on committees of the
/// one stage whose weights they hold (issue 20, "weights never leave their stage").
contract ComputeLedgerStagesTest is LedgerTestBase {
    address internal stageOneValidator = makeAddr("stage-one validator");

    function setUp() public override {
        super.setUp();
        vm.deal(stageOneValidator, 10 ether);
        vm.startPrank(stageOneValidator);
        ledger.stake{value: 1 ether}(stageOneValidator, stageOneValidator);
        ledger.setValidator(modelId, 1, true);
        vm.stopPrank();
    }

    /// @dev Worker 0 commits stage 0 with a forged leaf at index 2, worker 1 commits stage 1 honestly
    /// (one pipeline: their leaves name each other);
    /// returns the forged stage-0 item and stage 1's item `downIndex`, inside the challenge window.
    function _commitBoth(uint32 downIndex) internal returns (CommittedItem memory forgedUp, CommittedItem memory honestDown) {
        _warpToCommit(modelId, 0);
        forgedUp = _commitForgedUp();
        honestDown = _commitHonestDown(downIndex);
        _warpToChallenge(modelId, 0);
    }

    function _commitForgedUp() internal returns (CommittedItem memory) {
        ItemLeaf memory forged = _linked(_leaf(0, 2, keccak256("forged")), modelId, 0, 0);
        (ItemLeaf[] memory ul, bytes32[] memory uh) = _linkedItems(modelId, 0, 0, true, 2, forged);
        (bytes32 upRoot,) = _tree(uh, 0);
        Commitment memory up = _commitment(modelId, 0, 0, 0, upRoot, 4);
        _submit(up, _sign(signingKeys[0], up));
        return _committedItem(up, ul, uh, 2);
    }

    function _commitHonestDown(uint32 index) internal returns (CommittedItem memory) {
        ItemLeaf memory none;
        (ItemLeaf[] memory dl, bytes32[] memory dh) = _linkedItems(modelId, 1, 1, false, 0, none);
        (bytes32 downRoot,) = _tree(dh, 0);
        Commitment memory down = _commitment(modelId, 0, 1, 1, downRoot, 4);
        _submit(down, _sign(signingKeys[1], down));
        return _committedItem(down, dl, dh, index);
    }

    function test_setValidator_recordsStageAndWeightPerStage() public view {
        (uint64 m, uint16 stage, bool active) = ledger.validatorStage(stageOneValidator);
        assertEq(m, modelId);
        assertEq(stage, 1);
        assertTrue(active);
        assertEq(ledger.totalValidatorWeight(modelId, 1), 1 ether);
        assertEq(ledger.validatorCount(modelId, 1), 1);
        assertEq(ledger.validatorAt(modelId, 1, 0), stageOneValidator);
        assertEq(ledger.totalValidatorWeight(modelId, 0), N_VALIDATORS * 1 ether);
    }

    function test_setValidator_secondStageWhileValidating_reverts() public {
        vm.prank(stageOneValidator);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerValidatorOfAnotherStage.selector, modelId, uint16(1)));
        ledger.setValidator(modelId, 0, true);
    }

    function test_setValidator_stageOutOfRange_reverts() public {
        vm.prank(validators[0]);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerBadStage.selector, uint16(2), uint16(2)));
        ledger.setValidator(modelId, 2, false);
    }

    function test_setValidator_optOutOfAnotherStage_reverts() public {
        vm.prank(stageOneValidator);
        vm.expectRevert(ComputeLedgerValidatorUnchanged.selector);
        ledger.setValidator(modelId, 0, false);
    }

    function test_setValidator_moveStage_zeroesOldEntryAndEmits() public {
        vm.startPrank(stageOneValidator);
        ledger.setValidator(modelId, 1, false);
        vm.expectEmit(address(ledger));
        emit ValidatorSet(stageOneValidator, modelId, 0, true);
        ledger.setValidator(modelId, 0, true);
        vm.stopPrank();
        assertEq(ledger.totalValidatorWeight(modelId, 1), 0);
        assertEq(ledger.totalValidatorWeight(modelId, 0), (N_VALIDATORS + 1) * 1 ether);
        (, uint16 stage, bool active) = ledger.validatorStage(stageOneValidator);
        assertEq(stage, 0);
        assertTrue(active);
    }

    function test_challengeItem_byValidatorOfAnotherStage_reverts() public {
        (CommittedItem memory forgedUp,) = _commitBoth(0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(stageOneValidator);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotStageValidator.selector, modelId, uint16(0)));
        ledger.challengeItem{value: bond}(forgedUp);
    }

    function test_challengeAvailability_byValidatorOfAnotherStage_reverts() public {
        _commitBoth(0);
        uint256 bond = ledger.availabilityBondWei(modelId);
        vm.prank(stageOneValidator);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotStageValidator.selector, modelId, uint16(0)));
        ledger.challengeAvailability{value: bond}(modelId, 0, 0, workers[0], 1);
    }

    function test_attestItems_byValidatorOfAnotherStage_reverts() public {
        (, CommittedItem memory honestDown) = _commitBoth(0);
        _sealSeed(modelId, 0);
        CommittedItem[] memory items = new CommittedItem[](1);
        items[0] = honestDown;
        uint32[] memory draws = new uint32[](1);
        vm.prank(validators[0]); // a stage-0 validator attesting a stage-1 item
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerNotStageValidator.selector, modelId, uint16(1)));
        ledger.attestItems(items, draws);
    }

    /// @dev Whatever the block, every seat of a stage-0 dispute goes to a stage-0 validator, never to
    /// the (much richer) stage-1 validator, which never needs stage 0's weights.
    function testFuzz_committee_drawnOnlyFromTheDisputedStage(uint256 blocks) public {
        vm.prank(stageOneValidator);
        ledger.stake{value: 5 ether}(stageOneValidator, stageOneValidator);
        (CommittedItem memory forgedUp,) = _commitBoth(0);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(validators[0]);
        uint256 id = ledger.challengeItem{value: bond}(forgedUp);
        vm.roll(block.number + 1 + blocks % 200);
        ledger.drawCommittee(id);
        PanelSeat[] memory seats = ledger.panel(id, 0);
        assertGt(seats.length, 0);
        for (uint256 i; i < seats.length; ++i) {
            assertTrue(seats[i].member != stageOneValidator, "a stage-1 validator sat on a stage-0 committee");
            (, uint16 stage,) = ledger.validatorStage(seats[i].member);
            assertEq(stage, 0);
        }
    }

    function test_committee_noValidatorOnStage_drawsNobody() public {
        (, CommittedItem memory honestDown) = _commitBoth(0);
        // the only stage-1 validator challenges: nobody else holds stage 1, so no committee can be drawn
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(stageOneValidator);
        uint256 id = ledger.challengeItem{value: bond}(honestDown);
        vm.roll(block.number + 1);
        ledger.drawCommittee(id);
        assertEq(ledger.panel(id, 0).length, 0);
    }

    function test_chainBreak_validatorOfEitherSideMayChallenge() public {
        (CommittedItem memory forgedUp, CommittedItem memory down) = _commitBoth(2);
        uint256 bond = ledger.challengeBondWei(modelId);
        vm.prank(stageOneValidator); // holds stage 1, the downstream side
        uint256 id = ledger.challengeChainBreak{value: bond}(forgedUp, down);
        assertEq(ledger.dispute(id).stage, 0);
    }
}
