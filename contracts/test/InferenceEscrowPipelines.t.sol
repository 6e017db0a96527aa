// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";

/// @notice Pipeline accounting of operator and protocol shares: one slot per (model, stage operators),
/// member checkpoints, settlement, and the cleared request slot of a fulfilled request.
contract InferenceEscrowPipelinesTest is EconomyBase {
    MockServingLedger internal servingLedger;
    InferenceEscrow internal escrow;
    ModelToken internal token;
    uint64 internal modelId;
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address internal op1 = makeAddr("op1");
    address internal op2 = makeAddr("op2");
    address internal op3 = makeAddr("op3");
    bytes32 internal constant INPUT = keccak256("prompt");

    function setUp() public {
        _deployRegistry();
        (modelId, token) = _register(_spec(2)); // protocol 3%, operators 50% (25% per stage)
        servingLedger = new MockServingLedger();
        escrow = new InferenceEscrow(registry, servingLedger, treasury);
        servingLedger.setServing(modelId, op1, true);
        servingLedger.setServing(modelId, op2, true);
        servingLedger.setServing(modelId, op3, true);
        servingLedger.setServing(modelId, treasury, true);
        _mint(token, makeAddr("holder"), 100e18);
        vm.deal(requester, 100 ether);
        vm.warp(1_000_000);
    }

    function test_tokenOf_isTheRegistryClone() public view {
        assertEq(escrow.tokenOf(modelId), address(token));
        assertEq(escrow.tokenOf(modelId), registry.tokenOf(modelId));
    }

    function test_fulfill_opensPipelineOnce_andRecordsMembers() public {
        address[] memory ops = _ops(op1, op2);
        bytes32 key = escrow.pipelineKey(modelId, ops);
        assertEq(key, keccak256(abi.encode(modelId, ops)));
        IInferenceEscrow.InferenceRequest memory req =
            IInferenceEscrow.InferenceRequest(modelId, requester, 1 ether, uint64(block.timestamp + 60), INPUT);
        vm.prank(requester);
        uint256 id = escrow.request{value: 1 ether}(modelId, INPUT, req.deadline);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.PipelineOpened(key, modelId, ops);
        vm.prank(op1);
        escrow.fulfill(id, req, keccak256("out"), ops);
        vm.recordLogs();
        _fulfill(1 ether, ops);
        assertEq(vm.getRecordedLogs().length, 3, "InferenceRequested, InferenceFulfilled, RevenueDeposited: no second opening");
        assertEq(escrow.pipelinesOf(op1).length, 1);
        assertEq(escrow.pipelinesOf(op2)[0], key);
        assertEq(escrow.pipelinesOf(treasury)[0], key);
        (bool opened, uint256 perStageWei, uint256 protocolWei) = escrow.pipelineEarnings(key);
        assertTrue(opened);
        assertEq(perStageWei, 0.5 ether);
        assertEq(protocolWei, 0.06 ether);
        assertEq(escrow.balanceOf(op1), 0.5 ether);
        assertEq(escrow.balanceOf(treasury), 0.06 ether);
    }

    function test_fulfill_clearsRequestSlot_readsFulfilled() public {
        (uint256 id,) = _fulfill(1 ether, _ops(op1, op2));
        assertEq(escrow.requestHash(id), bytes32(0));
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Fulfilled));
        assertEq(uint8(escrow.requestState(id + 1)), uint8(IInferenceEscrow.RequestState.None));
    }

    function test_balances_acrossPipelines_sumPerStageServed() public {
        _fulfill(1 ether, _ops(op1, op2)); // op1 0.25, op2 0.25
        _fulfill(2 ether, _ops(op2, op1)); // op2 0.5, op1 0.5 (another order is another pipeline)
        _fulfill(1 ether, _ops(op3, op3)); // op3 0.5 (two stages)
        assertEq(escrow.pipelinesOf(op1).length, 2);
        assertEq(escrow.pipelinesOf(treasury).length, 3);
        assertEq(escrow.balanceOf(op1), 0.75 ether);
        assertEq(escrow.balanceOf(op2), 0.75 ether);
        assertEq(escrow.balanceOf(op3), 0.5 ether);
        assertEq(escrow.balanceOf(treasury), 0.12 ether);
        assertEq(address(escrow).balance, 0.75 ether + 0.75 ether + 0.5 ether + 0.12 ether);
    }

    function test_withdraw_thenMoreFees_paysOnlyTheNewShare() public {
        address[] memory ops = _ops(op1, op2);
        _fulfill(1 ether, ops);
        vm.prank(op1);
        assertEq(escrow.withdraw(op1), 0.25 ether);
        assertEq(escrow.balanceOf(op1), 0);
        _fulfill(3 ether, ops);
        assertEq(escrow.balanceOf(op1), 0.75 ether);
        assertEq(escrow.balanceOf(op2), 1 ether, "an untouched member keeps its full share");
        vm.prank(op1);
        assertEq(escrow.withdraw(op1), 0.75 ether);
        assertEq(op1.balance, 1 ether);
    }

    function test_treasuryAlsoOperator_getsStageAndProtocolShares() public {
        _fulfill(1 ether, _ops(treasury, op1));
        assertEq(escrow.pipelinesOf(treasury).length, 1, "one membership for both roles");
        assertEq(escrow.balanceOf(treasury), 0.25 ether + 0.03 ether);
        vm.prank(treasury);
        assertEq(escrow.withdraw(treasury), 0.28 ether);
        assertEq(address(escrow).balance, 0.25 ether);
    }

    function test_settle_byAnyone_movesSharesToTheAccountOnly() public {
        _fulfill(1 ether, _ops(op1, op2));
        _fulfill(1 ether, _ops(op2, op1));
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.BalanceSettled(op1, 0.25 ether);
        vm.prank(makeAddr("anyone"));
        assertEq(escrow.settle(op1, 0, 1), 0.25 ether);
        assertEq(escrow.balanceOf(op1), 0.5 ether, "settled plus unsettled");
        assertEq(escrow.settle(op1, 0, 1), 0, "a settled pipeline owes nothing more");
        assertEq(escrow.settle(op1, 1, 99), 0.25 ether, "toIndex is clamped");
        vm.prank(op1);
        assertEq(escrow.withdraw(op1), 0.5 ether);
        assertEq(address(escrow).balance, 0.5 ether + 0.06 ether);
    }

    function test_fulfill_sameOperatorsOtherModel_isAnotherPipeline() public {
        (uint64 model2, ModelToken token2) = _register(_spec(2));
        _mint(token2, makeAddr("holder"), 1e18);
        servingLedger.setServing(model2, op1, true);
        servingLedger.setServing(model2, op2, true);
        address[] memory ops = _ops(op1, op2);
        _fulfill(1 ether, ops);
        vm.prank(requester);
        uint256 id = escrow.request{value: 1 ether}(model2, INPUT, uint64(block.timestamp + 60));
        vm.prank(op1);
        escrow.fulfill(id, IInferenceEscrow.InferenceRequest(model2, requester, 1 ether, uint64(block.timestamp + 60), INPUT), 0, ops);
        assertTrue(escrow.pipelineKey(modelId, ops) != escrow.pipelineKey(model2, ops));
        assertEq(escrow.pipelinesOf(op1).length, 2);
        assertEq(escrow.balanceOf(op1), 0.5 ether);
        assertEq(address(token2).balance, 0.47 ether);
    }

    function _fulfill(uint256 feeWei, address[] memory ops) internal returns (uint256 id, IInferenceEscrow.InferenceRequest memory req) {
        req = IInferenceEscrow.InferenceRequest(modelId, requester, feeWei, uint64(block.timestamp + 60), INPUT);
        vm.prank(requester);
        id = escrow.request{value: feeWei}(modelId, INPUT, req.deadline);
        vm.prank(ops[0]);
        escrow.fulfill(id, req, keccak256("out"), ops);
    }

    function _ops(address a, address b) internal pure returns (address[] memory ops) {
        ops = new address[](2);
        ops[0] = a;
        ops[1] = b;
    }
}
