// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";
import {PipelineConsents} from "./economy/PipelineConsents.sol";

/// @title A contract operator that approves exactly one digest (ERC-1271)
contract ConsentingWallet is IERC1271 {
    bytes32 public approved;

    function approve(bytes32 digest) external {
        approved = digest;
    }

    function isValidSignature(bytes32 digest, bytes calldata) external view returns (bytes4) {
        return digest == approved ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

/// @notice Pipelines: registration only with every operator's consent, per-pipeline accounting of operator
/// shares with member checkpoints, the treasury's counter, and withdrawals no third party can make unbounded.
contract InferenceEscrowPipelinesTest is EconomyBase, PipelineConsents {
    MockServingLedger internal servingLedger;
    InferenceEscrow internal escrow;
    ModelToken internal token;
    uint64 internal modelId;
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address internal op1 = _operator("op1");
    address internal op2 = _operator("op2");
    address internal op3 = _operator("op3");
    bytes32 internal constant INPUT = keccak256("prompt");

    function setUp() public {
        _deployRegistry();
        (modelId, token) = _register(_spec(2)); // protocol 3%, operators 50% (25% per stage)
        servingLedger = new MockServingLedger();
        escrow = new InferenceEscrow(registry, servingLedger, treasury);
        servingLedger.setServing(modelId, op1, true);
        servingLedger.setServing(modelId, op2, true);
        servingLedger.setServing(modelId, op3, true);
        _mint(token, makeAddr("holder"), 100e18);
        vm.deal(requester, 100 ether);
        vm.warp(1_000_000);
    }

    function test_tokenOf_isTheRegistryToken() public view {
        assertEq(escrow.tokenOf(modelId), address(token));
        assertEq(escrow.tokenOf(modelId), registry.tokenOf(modelId));
    }

    // ------------------------------------------------------------ registration and consent

    function test_registerPipeline_withConsents_recordsMembersAndEmits() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = escrow.pipelineKey(modelId, ops);
        assertEq(key, keccak256(abi.encode(modelId, ops)));
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = _consents(escrow, modelId, ops, deadline, op1);
        assertEq(consents[0].length, 0, "the sender consents by sending");
        assertEq(escrow.hashPipelineConsent(modelId, ops, deadline), _consentDigest(escrow, modelId, ops, deadline));
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.PipelineMemberAdded(key, op1);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.PipelineMemberAdded(key, op2);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.PipelineRegistered(key, modelId, ops);
        vm.prank(op1);
        assertEq(escrow.registerPipeline(modelId, ops, deadline, consents), key);
        (bool registered, uint64 m, uint256 perStage) = escrow.pipeline(key);
        assertTrue(registered);
        assertEq(m, modelId);
        assertEq(perStage, 0);
        (uint16 stages,) = escrow.memberOf(key, op1);
        assertEq(stages, 1);
        (stages,) = escrow.memberOf(key, treasury);
        assertEq(stages, 0, "the treasury is nobody's member without consent");
    }

    /// @dev Issue 11 finding 1: a staked operator cannot put another operator (or anyone) into a pipeline.
    function test_registerPipeline_withoutOthersConsent_reverts() public {
        address[] memory ops = _ops(op3, op1);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory none = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, op1));
        vm.prank(op3);
        escrow.registerPipeline(modelId, ops, deadline, none);
        // op3 signing in op1's place is no consent either
        none[1] = _sign(operatorKeys[op3], _consentDigest(escrow, modelId, ops, deadline));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, op1));
        vm.prank(op3);
        escrow.registerPipeline(modelId, ops, deadline, none);
    }

    function testFuzz_registerPipeline_anyNonConsentingMember_reverts(uint256 victimSeed, uint8 position) public {
        address victim = vm.addr(bound(victimSeed, 1, 2 ** 160));
        vm.assume(victim != op3);
        address[] memory ops = position % 2 == 0 ? _ops(op3, victim) : _ops(victim, op3);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, victim));
        vm.prank(op3);
        escrow.registerPipeline(modelId, ops, deadline, consents);
    }

    function test_registerPipeline_consentForOtherTerms_reverts() public {
        address[] memory ops = _ops(op1, op2);
        uint64 deadline = uint64(block.timestamp + 60);
        // signed for the other order
        bytes[] memory consents = _consents(escrow, modelId, _ops(op2, op1), deadline, op1);
        consents[1] = _sign(operatorKeys[op2], _consentDigest(escrow, modelId, _ops(op2, op1), deadline));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, op2));
        vm.prank(op1);
        escrow.registerPipeline(modelId, ops, deadline, consents);
        // signed with another deadline
        consents = _consents(escrow, modelId, ops, deadline + 1, op1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, op2));
        vm.prank(op1);
        escrow.registerPipeline(modelId, ops, deadline, consents);
        // signed for another escrow
        InferenceEscrow other = new InferenceEscrow(registry, servingLedger, treasury);
        consents = _consents(other, modelId, ops, deadline, op1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, op2));
        vm.prank(op1);
        escrow.registerPipeline(modelId, ops, deadline, consents);
    }

    function test_registerPipeline_expiredConsent_reverts() public {
        address[] memory ops = _ops(op1, op2);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = _consents(escrow, modelId, ops, deadline, op1);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowConsentExpired.selector, deadline));
        vm.prank(op1);
        escrow.registerPipeline(modelId, ops, deadline, consents);
    }

    function test_registerPipeline_twice_reverts() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = _consents(escrow, modelId, ops, deadline, op2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowPipelineExists.selector, key));
        vm.prank(op2);
        escrow.registerPipeline(modelId, ops, deadline, consents);
    }

    function test_registerPipeline_wrongLengths_revert() public {
        address[] memory one = new address[](1);
        one[0] = op1;
        uint64 deadline = uint64(block.timestamp + 60);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowStageCountMismatch.selector, 2, 1));
        vm.prank(op1);
        escrow.registerPipeline(modelId, one, deadline, new bytes[](1));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowConsentCountMismatch.selector, 2, 1));
        vm.prank(op1);
        escrow.registerPipeline(modelId, _ops(op1, op1), deadline, new bytes[](1));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownModel.selector, 9));
        escrow.registerPipeline(9, _ops(op1, op1), deadline, new bytes[](2));
    }

    function test_registerPipeline_repeatedOperator_consentsOnceAndServesTwice() public {
        address[] memory ops = _ops(op2, op2);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = _consents(escrow, modelId, ops, deadline, op1);
        assertEq(consents[1].length, 0, "only the first appearance carries the signature");
        escrow.cacheModelTerms(modelId);
        vm.recordLogs();
        vm.prank(op1); // a relayer: op2's signature is the consent
        bytes32 key = escrow.registerPipeline(modelId, ops, deadline, consents);
        assertEq(vm.getRecordedLogs().length, 2, "one PipelineMemberAdded and one PipelineRegistered");
        (uint16 stages,) = escrow.memberOf(key, op2);
        assertEq(stages, 2);
    }

    function test_registerPipeline_contractOperator_consentsByERC1271() public {
        ConsentingWallet wallet = new ConsentingWallet();
        address[] memory ops = _ops(op1, address(wallet));
        uint64 deadline = uint64(block.timestamp + 60);
        bytes[] memory consents = new bytes[](2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidConsent.selector, address(wallet)));
        vm.prank(op1);
        escrow.registerPipeline(modelId, ops, deadline, consents);
        wallet.approve(escrow.hashPipelineConsent(modelId, ops, deadline));
        vm.prank(op1);
        bytes32 key = escrow.registerPipeline(modelId, ops, deadline, consents);
        (uint16 stages,) = escrow.memberOf(key, address(wallet));
        assertEq(stages, 1);
    }

    // ------------------------------------------------------------ accounting

    function test_fulfill_accruesToPipelineAndTreasuryCounter() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        _fulfill(key, 1 ether, ops);
        vm.recordLogs();
        _fulfill(key, 1 ether, ops);
        assertEq(
            vm.getRecordedLogs().length, 4, "InferenceRequested, InferenceFulfilled, RevenueDeposited, ServingFeesReleased"
        );
        (, , uint256 perStageWei) = escrow.pipeline(key);
        assertEq(perStageWei, 0.5 ether);
        assertEq(_owed(key, op1), 0.5 ether);
        assertEq(escrow.protocolFeesOwed(), 0.06 ether);
        assertEq(escrow.balanceOf(treasury), 0.06 ether);
        assertEq(escrow.balanceOf(op1), 0, "unsettled shares are read per pipeline");
    }

    function test_release_marksTheRequestReleased() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        uint256 id = _fulfill(key, 1 ether, ops);
        assertEq(uint256(escrow.requestHash(id)) >> 248, 3, "the fulfilment word carries the released status");
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Released));
        assertEq(uint8(escrow.requestState(id + 1)), uint8(IInferenceEscrow.RequestState.None));
    }

    function test_balances_acrossPipelines_sumPerStageServed() public {
        bytes32 k12 = _registerPipeline(escrow, modelId, _ops(op1, op2));
        bytes32 k21 = _registerPipeline(escrow, modelId, _ops(op2, op1));
        bytes32 k33 = _registerPipeline(escrow, modelId, _ops(op3, op3));
        _fulfill(k12, 1 ether, _ops(op1, op2)); // op1 0.25, op2 0.25
        _fulfill(k21, 2 ether, _ops(op2, op1)); // op2 0.5, op1 0.5 (another order is another pipeline)
        _fulfill(k33, 1 ether, _ops(op3, op3)); // op3 0.5 (two stages)
        assertEq(_owed(k12, op1) + _owed(k21, op1), 0.75 ether);
        assertEq(_owed(k12, op2) + _owed(k21, op2), 0.75 ether);
        assertEq(_owed(k33, op3), 0.5 ether);
        assertEq(escrow.balanceOf(treasury), 0.12 ether);
        assertEq(address(escrow).balance, 0.75 ether + 0.75 ether + 0.5 ether + 0.12 ether);
        vm.prank(op1);
        assertEq(escrow.withdraw(op1, _keys2(k12, k21)), 0.75 ether);
    }

    function test_withdraw_thenMoreFees_paysOnlyTheNewShare() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        _fulfill(key, 1 ether, ops);
        vm.prank(op1);
        assertEq(escrow.withdraw(op1, _keys1(key)), 0.25 ether);
        assertEq(_owed(key, op1), 0);
        _fulfill(key, 3 ether, ops);
        assertEq(_owed(key, op1), 0.75 ether);
        assertEq(_owed(key, op2), 1 ether, "an untouched member keeps its full share");
        vm.prank(op1);
        assertEq(escrow.withdraw(op1, _keys2(key, key)), 0.75 ether, "a repeated key pays once");
        assertEq(op1.balance, 1 ether);
    }

    function test_treasury_withdrawsWithoutKeys_andAgainAfterMoreFees() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        _fulfill(key, 1 ether, ops);
        vm.prank(treasury);
        assertEq(escrow.withdraw(treasury, new bytes32[](0)), 0.03 ether);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNothingToWithdraw.selector, treasury));
        vm.prank(treasury);
        escrow.withdraw(treasury, new bytes32[](0));
        _fulfill(key, 2 ether, ops);
        vm.prank(treasury);
        assertEq(escrow.withdraw(treasury, new bytes32[](0)), 0.06 ether);
        assertEq(address(escrow).balance, 1.5 ether, "the operators' shares stay");
    }

    function test_treasuryAlsoOperator_getsStageAndProtocolShares() public {
        address t = _operator("treasuryOp");
        InferenceEscrow e = new InferenceEscrow(registry, servingLedger, t);
        servingLedger.setServing(modelId, t, true);
        address[] memory ops = _ops(t, op1);
        bytes32 key = _registerPipeline(e, modelId, ops);
        uint64 deadline = uint64(block.timestamp + 60);
        vm.prank(requester);
        uint256 id = e.request{value: 1 ether}(modelId, key, INPUT, deadline);
        IInferenceEscrow.InferenceRequest memory req =
            IInferenceEscrow.InferenceRequest(modelId, key, requester, 1 ether, deadline, INPUT);
        _fulfillAs(e, op1, id, req, 0, ops);
        _releaseAfterWindow(e, id, req, 0, ops);
        vm.prank(t);
        assertEq(e.withdraw(t, _keys1(key)), 0.25 ether + 0.03 ether);
        assertEq(address(e).balance, 0.25 ether);
    }

    function test_settle_byAnyone_movesSharesToTheAccountOnly() public {
        bytes32 k12 = _registerPipeline(escrow, modelId, _ops(op1, op2));
        bytes32 k21 = _registerPipeline(escrow, modelId, _ops(op2, op1));
        _fulfill(k12, 1 ether, _ops(op1, op2));
        _fulfill(k21, 1 ether, _ops(op2, op1));
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.BalanceSettled(op1, 0.25 ether);
        vm.prank(makeAddr("anyone"));
        assertEq(escrow.settle(op1, _keys1(k12)), 0.25 ether);
        assertEq(escrow.balanceOf(op1), 0.25 ether);
        assertEq(escrow.settle(op1, _keys1(k12)), 0, "a settled pipeline owes nothing more");
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotPipelineMember.selector, k12, op3));
        escrow.settle(op3, _keys1(k12));
        vm.prank(op1);
        assertEq(escrow.withdraw(op1, _keys1(k21)), 0.5 ether, "settled balance plus the pipeline given");
        assertEq(address(escrow).balance, 0.5 ether + 0.06 ether);
    }

    function test_sameOperatorsOtherModel_isAnotherPipeline() public {
        (uint64 model2, ModelToken token2) = _register(_spec(2));
        _mint(token2, makeAddr("holder"), 1e18);
        servingLedger.setServing(model2, op1, true);
        servingLedger.setServing(model2, op2, true);
        address[] memory ops = _ops(op1, op2);
        bytes32 k1 = _registerPipeline(escrow, modelId, ops);
        bytes32 k2 = _registerPipeline(escrow, model2, ops);
        assertTrue(k1 != k2);
        _fulfill(k1, 1 ether, ops);
        uint64 deadline = uint64(block.timestamp + 60);
        vm.prank(requester);
        uint256 id = escrow.request{value: 1 ether}(model2, k2, INPUT, deadline);
        IInferenceEscrow.InferenceRequest memory req =
            IInferenceEscrow.InferenceRequest(model2, k2, requester, 1 ether, deadline, INPUT);
        _fulfillAs(escrow, op1, id, req, 0, ops);
        _releaseAfterWindow(escrow, id, req, 0, ops);
        assertEq(_owed(k1, op1) + _owed(k2, op1), 0.5 ether);
        assertEq(address(token2).balance, 0.47 ether);
    }

    // ------------------------------------------------------------ griefing (issue 11 finding 1)

    /// @dev However many pipelines others register and fill with fees, a victim's withdrawal walks only the
    /// keys it passes and the treasury's none: both cost the same as with one pipeline.
    function test_withdraw_gasIndependentOfOthersPipelines() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = _registerPipeline(escrow, modelId, ops);
        _fulfill(key, 1 ether, ops);
        uint256 snap = vm.snapshotState();
        uint256 victimGasAlone = _withdrawGas(op2, _keys1(key));
        uint256 treasuryGasAlone = _withdrawGas(treasury, new bytes32[](0));
        vm.revertToState(snap);

        // the attacker cannot enrol the victim (no consent), so it registers and pays through 200 pipelines
        // of its own: the treasury's share grows, the victim's membership does not
        for (uint256 i; i < 200; ++i) {
            address sybil = vm.addr(0xA000 + i);
            operatorKeys[sybil] = 0xA000 + i;
            servingLedger.setServing(modelId, sybil, true);
            address[] memory own = _ops(op3, sybil);
            vm.prank(sybil); // the sybil consents by sending; op3 signs
            bytes32 k = escrow.registerPipeline(
                modelId, own, uint64(block.timestamp + 1), _consents(escrow, modelId, own, uint64(block.timestamp + 1), sybil)
            );
            _fulfill(k, 1e12, own);
        }
        // (<=, not ==: slots the first measurement touched may stay warm in this one test transaction)
        assertLe(_withdrawGas(op2, _keys1(key)), victimGasAlone, "victim's withdrawal grew");
        assertLe(_withdrawGas(treasury, new bytes32[](0)), treasuryGasAlone, "treasury's withdrawal grew");
    }

    // ------------------------------------------------------------ helpers

    function _withdrawGas(address who, bytes32[] memory keys) internal returns (uint256) {
        vm.prank(who);
        escrow.withdraw(who, keys);
        return vm.lastCallGas().gasTotalUsed;
    }

    function _fulfill(bytes32 key, uint256 feeWei, address[] memory ops) internal returns (uint256 id) {
        uint64 deadline = uint64(block.timestamp + 60);
        vm.prank(requester);
        id = escrow.request{value: feeWei}(modelId, key, INPUT, deadline);
        IInferenceEscrow.InferenceRequest memory req =
            IInferenceEscrow.InferenceRequest(modelId, key, requester, feeWei, deadline, INPUT);
        _fulfillAs(escrow, ops[0], id, req, keccak256("out"), ops);
        _releaseAfterWindow(escrow, id, req, keccak256("out"), ops);
    }

    function _owed(bytes32 key, address account) internal view returns (uint256 owedWei) {
        (, owedWei) = escrow.memberOf(key, account);
    }

    function _ops(address a, address b) internal pure returns (address[] memory ops) {
        ops = new address[](2);
        ops[0] = a;
        ops[1] = b;
    }
}
