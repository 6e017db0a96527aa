// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerTestBase} from "./ledger/LedgerTestBase.sol";
import {EthRejectingStaker, ReentrantStaker} from "./ledger/LedgerActors.sol";
import {ComputeLedger} from "../ComputeLedger.sol";
import {ComputeLedgerValidatorModule} from "../ledger/LedgerValidators.sol";
import {ComputeLedgerDisputeModule} from "../ledger/LedgerDisputes.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

contract ComputeLedgerStakingTest is LedgerTestBase {
    address internal alice = makeAddr("alice");

    function setUp() public override {
        super.setUp();
        vm.deal(alice, 100 ether);
    }

    function test_stake_registersKeysAndEmits() public {
        vm.expectEmit(address(ledger));
        emit PayoutAddressSet(alice, address(1));
        vm.expectEmit(address(ledger));
        emit SigningKeyRotated(alice, address(0), address(2));
        vm.expectEmit(address(ledger));
        emit Staked(alice, 1 ether, 1 ether);
        vm.prank(alice);
        ledger.stake{value: 1 ether}(address(1), address(2));
        Staker memory s = ledger.staker(alice);
        assertEq(s.stakeWei, 1 ether);
        assertEq(s.payout, address(1));
        assertEq(s.signingKey, address(2));
        assertEq(address(ledger).balance, 4 * 2 ether + 5 * 1 ether + 1 ether);
    }

    function test_stake_topUpAccumulates() public {
        vm.startPrank(alice);
        ledger.stake{value: 1 ether}(address(1), address(2));
        ledger.stake{value: 0.5 ether}(address(1), address(2));
        vm.stopPrank();
        assertEq(ledger.staker(alice).stakeWei, 1.5 ether);
    }

    function test_stake_zeroAddress_reverts() public {
        vm.startPrank(alice);
        vm.expectRevert(ComputeLedgerZeroAddress.selector);
        ledger.stake{value: 1 ether}(address(0), address(2));
        vm.expectRevert(ComputeLedgerZeroAddress.selector);
        ledger.stake{value: 1 ether}(address(1), address(0));
        vm.stopPrank();
    }

    function test_stake_overflow_reverts() public {
        uint256 huge = uint256(type(uint88).max) + 1;
        vm.deal(alice, huge);
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerStakeOverflow.selector);
        ledger.stake{value: huge}(address(1), address(2));
    }

    function test_stake_whileUnbonding_reverts() public {
        vm.startPrank(workers[0]);
        ledger.requestUnbond();
        vm.expectRevert(ComputeLedgerUnbonding.selector);
        ledger.stake{value: 1 ether}(payouts[0], vm.addr(signingKeys[0]));
        vm.stopPrank();
    }

    function test_rotateSigningKey_emitsAndReplaces() public {
        address previous = vm.addr(signingKeys[0]);
        vm.expectEmit(address(ledger));
        emit SigningKeyRotated(workers[0], previous, address(7));
        vm.prank(workers[0]);
        ledger.rotateSigningKey(address(7));
        assertEq(ledger.staker(workers[0]).signingKey, address(7));
    }

    function test_rotateSigningKey_unregistered_reverts() public {
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerNotRegistered.selector);
        ledger.rotateSigningKey(address(7));
    }

    function test_rotateSigningKey_zero_reverts() public {
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerZeroAddress.selector);
        ledger.rotateSigningKey(address(0));
    }

    function test_setPayoutAddress_emitsAndReplaces() public {
        vm.expectEmit(address(ledger));
        emit PayoutAddressSet(workers[0], address(9));
        vm.prank(workers[0]);
        ledger.setPayoutAddress(address(9));
        assertEq(ledger.staker(workers[0]).payout, address(9));
    }

    function test_setPayoutAddress_unregisteredOrZero_reverts() public {
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerNotRegistered.selector);
        ledger.setPayoutAddress(address(9));
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerZeroAddress.selector);
        ledger.setPayoutAddress(address(0));
    }

    function test_setValidator_leavingZeroesWeightAndRejoiningReusesEntry() public {
        assertEq(ledger.validatorCount(modelId, VALIDATOR_STAGE), N_VALIDATORS);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), N_VALIDATORS * 1 ether);
        vm.expectEmit(address(ledger));
        emit ValidatorSet(validators[0], modelId, VALIDATOR_STAGE, false);
        vm.prank(validators[0]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, false);
        assertEq(ledger.validatorCount(modelId, VALIDATOR_STAGE), N_VALIDATORS);
        assertEq(ledger.validatorAt(modelId, VALIDATOR_STAGE, 0), validators[0]);
        assertEq(ledger.validatorWeight(validators[0]), 0);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), (N_VALIDATORS - 1) * 1 ether);
        assertFalse(ledger.staker(validators[0]).validator);
        vm.prank(validators[0]);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        assertEq(ledger.validatorCount(modelId, VALIDATOR_STAGE), N_VALIDATORS);
        assertEq(ledger.validatorWeight(validators[0]), 1 ether);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), N_VALIDATORS * 1 ether);
    }

    function test_sortitionWeight_followsStakeUnbondAndJail() public {
        vm.prank(validators[2]);
        ledger.stake{value: 2 ether}(validators[2], validators[2]);
        assertEq(ledger.validatorWeight(validators[2]), 3 ether);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), (N_VALIDATORS + 2) * 1 ether);
        vm.prank(validators[2]);
        ledger.requestUnbond();
        assertEq(ledger.validatorWeight(validators[2]), 0);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), (N_VALIDATORS - 1) * 1 ether);
    }

    function test_setValidator_zeroStakeEntry_hasNoWeight() public {
        vm.startPrank(alice);
        ledger.stake(alice, alice);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
        vm.stopPrank();
        assertEq(ledger.validatorWeight(alice), 0);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), N_VALIDATORS * 1 ether);
    }

    function test_setValidator_unchanged_reverts() public {
        vm.prank(validators[0]);
        vm.expectRevert(ComputeLedgerValidatorUnchanged.selector);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
    }

    function test_setValidator_unregistered_reverts() public {
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerNotRegistered.selector);
        ledger.setValidator(modelId, VALIDATOR_STAGE, true);
    }

    function test_requestUnbond_stopsServingAndEmits() public {
        assertTrue(ledger.isServingOperator(modelId, workers[0]));
        vm.expectEmit(address(ledger));
        emit UnbondRequested(workers[0], block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.prank(workers[0]);
        ledger.requestUnbond();
        assertFalse(ledger.isServingOperator(modelId, workers[0]));
        assertTrue(ledger.staker(workers[0]).unbonding);
    }

    function test_requestUnbond_twice_reverts() public {
        vm.startPrank(workers[0]);
        ledger.requestUnbond();
        vm.expectRevert(ComputeLedgerUnbonding.selector);
        ledger.requestUnbond();
        vm.stopPrank();
    }

    function test_requestUnbond_noStake_reverts() public {
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerNothingToWithdraw.selector);
        ledger.requestUnbond();
    }

    function test_withdrawStake_afterDelay_paysAndLeavesValidatorSet() public {
        vm.startPrank(validators[1]);
        ledger.requestUnbond();
        uint256 delay = ledger.UNBONDING_DELAY_SEC();
        vm.warp(block.timestamp + delay - 1);
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerUnbondingNotElapsed.selector, block.timestamp + 1));
        ledger.withdrawStake();
        vm.warp(block.timestamp + 1);
        uint256 before = validators[1].balance;
        vm.expectEmit(address(ledger));
        emit StakeWithdrawn(validators[1], validators[1], 1 ether);
        ledger.withdrawStake();
        vm.stopPrank();
        assertEq(validators[1].balance - before, 1 ether);
        assertEq(ledger.staker(validators[1]).stakeWei, 0);
        assertFalse(ledger.staker(validators[1]).validator);
        assertEq(ledger.validatorWeight(validators[1]), 0);
        assertEq(ledger.totalValidatorWeight(modelId, VALIDATOR_STAGE), (N_VALIDATORS - 1) * 1 ether);
    }

    function test_withdrawStake_notUnbonding_reverts() public {
        vm.prank(workers[0]);
        vm.expectRevert(ComputeLedgerNotUnbonding.selector);
        ledger.withdrawStake();
    }

    function test_withdrawStake_canRestakeAfterwards() public {
        vm.startPrank(workers[0]);
        ledger.requestUnbond();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        ledger.withdrawStake();
        ledger.stake{value: 1 ether}(payouts[0], vm.addr(signingKeys[0]));
        vm.stopPrank();
        assertTrue(ledger.isServingOperator(modelId, workers[0]));
    }

    function test_withdrawStake_rejectingRecipient_reverts() public {
        EthRejectingStaker s = new EthRejectingStaker{value: 1 ether}(ledger);
        s.stakeAndUnbond();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        vm.expectRevert(ComputeLedgerTransferFailed.selector);
        s.withdraw();
        assertEq(ledger.staker(address(s)).stakeWei, 1 ether); // nothing lost
    }

    function test_withdrawStake_reentrancy_blocked() public {
        ReentrantStaker s = new ReentrantStaker{value: 1 ether}(ledger);
        s.stakeAndUnbond();
        vm.warp(block.timestamp + ledger.UNBONDING_DELAY_SEC());
        uint256 balance = address(ledger).balance;
        vm.expectRevert(ComputeLedgerTransferFailed.selector);
        s.withdraw();
        assertEq(address(ledger).balance, balance);
    }

    function test_withdrawPayments_nothing_reverts() public {
        vm.prank(alice);
        vm.expectRevert(ComputeLedgerNothingToWithdraw.selector);
        ledger.withdrawPayments();
    }

    function test_isServingOperator_rules() public {
        assertTrue(ledger.isServingOperator(modelId, workers[0]));
        assertFalse(ledger.isServingOperator(modelId, alice)); // never staked
        assertTrue(ledger.isServingOperator(modelId, validators[0]) == (1 ether >= MIN_WORKER_STAKE));
        vm.prank(alice);
        ledger.stake{value: MIN_WORKER_STAKE - 1}(alice, alice);
        assertFalse(ledger.isServingOperator(modelId, alice));
        vm.prank(alice);
        ledger.stake{value: 1}(alice, alice);
        assertTrue(ledger.isServingOperator(modelId, alice));
    }

    function test_findNonServingOperator_reportsFirstNonServingCallerFirst() public {
        address[] memory ops = _pair(workers[0], workers[1]);
        _assertFound(workers[0], ops, false, address(0));
        _assertFound(workers[2], new address[](0), false, address(0));
        _assertFound(alice, ops, true, alice); // a never-staked caller, even with a serving pipeline
        _assertFound(workers[0], _pair(alice, workers[1]), true, alice);
        _assertFound(workers[0], _pair(workers[1], address(0)), true, address(0)); // zero is never serving
        vm.prank(alice);
        ledger.stake{value: MIN_WORKER_STAKE - 1}(alice, alice);
        _assertFound(workers[0], _pair(workers[1], alice), true, alice); // below the model's minimum
        vm.prank(workers[1]);
        ledger.requestUnbond();
        _assertFound(workers[0], ops, true, workers[1]);
        _assertFound(workers[1], ops, true, workers[1]);
    }

    /// @dev The 1-slot minimum-stake read once the model is cached (a commitment caches it) agrees with
    /// the registry read before.
    function test_findNonServingOperator_cachedModel_sameAnswers() public {
        vm.prank(alice);
        ledger.stake{value: MIN_WORKER_STAKE - 1}(alice, alice);
        _warpToCommit(modelId, 0);
        _commit(modelId, 0, 0, 0);
        _assertFound(workers[0], _pair(workers[0], workers[1]), false, address(0));
        _assertFound(workers[0], _pair(workers[1], alice), true, alice);
        vm.prank(alice);
        ledger.stake{value: 1}(alice, alice);
        _assertFound(workers[0], _pair(workers[1], alice), false, address(0));
        assertTrue(ledger.isServingOperator(modelId, alice));
    }

    function test_findNonServingOperator_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerUnknownModel.selector, 77));
        ledger.findNonServingOperator(77, workers[0], new address[](0));
    }

    function _pair(address a, address b) private pure returns (address[] memory ops) {
        ops = new address[](2);
        ops[0] = a;
        ops[1] = b;
    }

    function _assertFound(address caller, address[] memory ops, bool expectFound, address expectOperator) private view {
        (bool found, address operator) = ledger.findNonServingOperator(modelId, caller, ops);
        assertEq(found, expectFound, "found");
        assertEq(operator, expectOperator, "operator");
    }

    function test_isServingOperator_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ComputeLedgerUnknownModel.selector, 77));
        ledger.isServingOperator(77, workers[0]);
    }

    function test_currentRound_followsRegistryTiming() public {
        vm.warp(_genesis(modelId) + 5 * COMMIT_SEC + 3);
        assertEq(ledger.currentRound(modelId), 5);
    }

    function test_constructor_zeroRegistry_reverts() public {
        ComputeLedgerDeployer deployer = new ComputeLedgerDeployer();
        vm.expectRevert(ComputeLedgerZeroAddress.selector);
        deployer.deploy();
    }

    function test_constructor_modulesOfAnotherRegistry_revert() public {
        IModelRegistry other = IModelRegistry(makeAddr("other registry"));
        ComputeLedgerValidatorModule validatorModule = new ComputeLedgerValidatorModule(other);
        ComputeLedgerDisputeModule disputeModule = new ComputeLedgerDisputeModule(IModelRegistry(address(registry)));
        vm.expectRevert(ComputeLedgerModuleMismatch.selector);
        new ComputeLedger(IModelRegistry(address(registry)), validatorModule, disputeModule);
    }
}

contract ComputeLedgerDeployer {
    function deploy() external returns (ComputeLedgerValidatorModule) {
        return new ComputeLedgerValidatorModule(IModelRegistry(address(0)));
    }
}
