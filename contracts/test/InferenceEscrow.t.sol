// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IComputeLedger} from "../interfaces/IComputeLedger.sol";
import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {ReentrantRequester} from "./economy/EscrowActors.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";
import {PipelineConsents} from "./economy/PipelineConsents.sol";
import {EtherRejecter} from "./economy/ReentrantClaimer.sol";

contract InferenceEscrowTest is EconomyBase, PipelineConsents {
    MockServingLedger internal servingLedger;
    InferenceEscrow internal escrow;
    ModelToken internal token;
    uint64 internal modelId;
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address internal op1 = _operator("op1");
    address internal op2 = _operator("op2");
    address internal op3 = _operator("op3");
    bytes32 internal key12;
    address internal holder = makeAddr("holder");
    bytes32 internal constant INPUT = keccak256("prompt");
    bytes32 internal constant OUTPUT = keccak256("completion");

    function setUp() public {
        _deployRegistry();
        (modelId, token) = _register(_spec(2)); // protocol 3%, operators 50%, min fee 1e12
        servingLedger = new MockServingLedger();
        escrow = new InferenceEscrow(registry, servingLedger, treasury);
        servingLedger.setServing(modelId, op1, true);
        servingLedger.setServing(modelId, op2, true);
        servingLedger.setServing(modelId, op3, true);
        _mint(token, holder, 100e18);
        vm.deal(requester, 100 ether);
        vm.warp(1_000_000);
        key12 = _registerPipeline(escrow, modelId, _ops(op1, op2));
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_zeroAddresses_revert() public {
        vm.expectRevert(IInferenceEscrow.InferenceEscrowZeroAddress.selector);
        new InferenceEscrow(IModelRegistry(address(0)), servingLedger, treasury);
        vm.expectRevert(IInferenceEscrow.InferenceEscrowZeroAddress.selector);
        new InferenceEscrow(registry, IComputeLedger(address(0)), treasury);
        vm.expectRevert(IInferenceEscrow.InferenceEscrowZeroAddress.selector);
        new InferenceEscrow(registry, servingLedger, address(0));
    }

    // ------------------------------------------------------------ request

    function test_request_escrowsFeeStoresHashAndEmits() public {
        uint64 deadline = uint64(block.timestamp + 60);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.InferenceRequested(1, key12, requester, modelId, INPUT, 1 ether, deadline);
        vm.prank(requester);
        uint256 id = escrow.request{value: 1 ether}(modelId, key12, INPUT, deadline);
        assertEq(id, 1);
        assertEq(escrow.requestCount(), 1);
        assertEq(address(escrow).balance, 1 ether);
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Live));
        IInferenceEscrow.InferenceRequest memory req = _req(1 ether, deadline);
        assertEq(escrow.requestHash(id), escrow.hashRequest(req) >> 8, "stored shifted: the top byte is the status");
        assertEq(escrow.hashRequest(req), keccak256(abi.encode(modelId, key12, requester, 1 ether, deadline, INPUT)));
        vm.prank(requester);
        assertEq(escrow.request{value: 1 ether}(modelId, key12, INPUT, deadline), 2);
    }

    function test_request_unregisteredPipeline_reverts() public {
        bytes32 unknown = escrow.pipelineKey(modelId, _ops(op2, op1));
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownPipeline.selector, modelId, unknown)
        );
        vm.prank(requester);
        escrow.request{value: 1 ether}(modelId, unknown, INPUT, uint64(block.timestamp + 60));
    }

    function test_request_pipelineOfAnotherModel_reverts() public {
        (uint64 model2,) = _register(_spec(2));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownPipeline.selector, model2, key12));
        vm.prank(requester);
        escrow.request{value: 1 ether}(model2, key12, INPUT, uint64(block.timestamp + 60));
    }

    function test_request_feeBelowMinimum_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFeeTooLow.selector, 1e12 - 1, 1e12));
        vm.prank(requester);
        escrow.request{value: 1e12 - 1}(modelId, key12, INPUT, uint64(block.timestamp + 1));
    }

    function test_request_deadlineNotInFuture_reverts() public {
        uint64 nowTs = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidDeadline.selector, nowTs));
        vm.prank(requester);
        escrow.request{value: 1e12}(modelId, key12, INPUT, nowTs);
    }

    function test_request_unknownModel_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownModel.selector, 0));
        escrow.request{value: 1e12}(0, key12, INPUT, uint64(block.timestamp + 1));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownModel.selector, 2));
        escrow.request{value: 1e12}(2, key12, INPUT, uint64(block.timestamp + 1));
    }

    function test_cacheModelTerms_enablesSplitFee() public {
        (uint64 model2,) = _register(_spec(2));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownModel.selector, model2));
        escrow.splitFee(model2, 1 ether);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ModelTermsCached(model2, registry.tokenOf(model2), 2, 300, 5000, 1e12);
        escrow.cacheModelTerms(model2);
        (uint256 p, uint256 perStage, uint256 h) = escrow.splitFee(model2, 1 ether);
        assertEq(p, 0.03 ether);
        assertEq(perStage, 0.25 ether);
        assertEq(h, 0.47 ether);
    }

    // ------------------------------------------------------------ fulfill

    function test_fulfill_splitsFeeAndEmits() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        address[] memory ops = _ops(op1, op2);
        bytes32 servingRoot = _servingRootOf(id, _servingCommitments(id, 2));
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.InferenceFulfilled(
            id, key12, op1, OUTPUT, 0.03 ether, 0.25 ether, 0.47 ether, servingRoot, uint64(block.timestamp + 300)
        );
        _fulfillAs(escrow, op1, id, req, OUTPUT, ops);
        assertEq(escrow.balanceOf(treasury), 0.03 ether);
        assertEq(_owed(key12, op1), 0, "operators' shares are held through the challenge window");
        assertEq(address(token).balance, 0.47 ether);
        assertLe(token.claimable(holder), 0.47 ether);
        assertGe(token.claimable(holder) + 100e18 / token.MAGNITUDE() + 1, 0.47 ether);
        assertEq(address(escrow).balance, 0.53 ether);
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Fulfilled));
        _releaseAfterWindow(escrow, id, req, OUTPUT, ops);
        assertEq(_owed(key12, op1), 0.25 ether);
        assertEq(_owed(key12, op2), 0.25 ether);
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Released));
    }

    function test_fulfill_sameOperatorForAllStages_paidPerStage() public {
        bytes32 key = _registerPipeline(escrow, modelId, _ops(op1, op1));
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestVia(key, 1 ether, 60);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op1));
        _releaseAfterWindow(escrow, id, req, OUTPUT, _ops(op1, op1));
        assertEq(_owed(key, op1), 0.5 ether);
    }

    /// @dev Issue 11 finding 2: a staked operator front-running with itself on every stage gets nothing.
    function test_fulfill_frontRunWithOwnPipeline_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        bytes32 own = _registerPipeline(escrow, modelId, _ops(op3, op3));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowPipelineMismatch.selector, id, own));
        _fulfillAs(escrow, op3, id, req, OUTPUT, _ops(op3, op3));
    }

    /// @dev A staked non-member copying the pending fulfilment (same operators, same output) is refused.
    function test_fulfill_copiedByNonMember_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotPipelineMember.selector, key12, op3));
        _fulfillAs(escrow, op3, id, req, OUTPUT, _ops(op1, op2));
    }

    /// @dev A member copying another member's pending fulfilment pays exactly the same shares to the same members.
    function test_fulfill_copiedByOtherMember_paysTheSameShares() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        _fulfillAs(escrow, op2, id, req, OUTPUT, _ops(op1, op2));
        _releaseAfterWindow(escrow, id, req, OUTPUT, _ops(op1, op2));
        assertEq(_owed(key12, op1), 0.25 ether);
        assertEq(_owed(key12, op2), 0.25 ether);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowAlreadyFulfilled.selector, id));
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
    }

    function testFuzz_fulfill_onlyTheNamedPipelinesMembers(address caller, uint8 a, uint8 b) public {
        address[3] memory pool = [op1, op2, op3];
        address[] memory ops = _ops(pool[a % 3], pool[b % 3]);
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        bool legal = (caller == op1 || caller == op2) && ops[0] == op1 && ops[1] == op2;
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        bytes memory sigs = _servingSignatures(escrow, id, ops, c);
        vm.prank(caller);
        try escrow.fulfill(id, req, OUTPUT, c, sigs, ops) {
            assertTrue(legal, "fulfilled by a non-member or through another pipeline");
            _releaseAfterWindow(escrow, id, req, OUTPUT, ops);
            assertEq(_owed(key12, op1) + _owed(key12, op2), 0.5 ether);
        } catch {
            assertFalse(legal, "a member's fulfilment through the named pipeline failed");
        }
        assertEq(_owed(escrow.pipelineKey(modelId, ops), op3), 0, "op3 earned from a request naming another pipeline");
    }

    function test_fulfill_nonServingStageOperator_reverts() public {
        address stranger = _operator("stranger");
        bytes32 key = _registerPipeline(escrow, modelId, _ops(op1, stranger));
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestVia(key, 1 ether, 60);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotServingOperator.selector, modelId, stranger)
        );
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, stranger));
    }

    function test_fulfill_operatorUnstakedMeanwhile_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        servingLedger.setServing(modelId, op2, false);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotServingOperator.selector, modelId, op2));
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
    }

    function test_fulfill_wrongStageCount_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        address[] memory one = new address[](1);
        one[0] = op1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceEscrow.InferenceEscrowPipelineMismatch.selector, id, escrow.pipelineKey(modelId, one)
            )
        );
        _fulfillAs(escrow, op1, id, req, OUTPUT, one);
    }

    function test_fulfill_atDeadline_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.warp(req.deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowDeadlinePassed.selector, id, req.deadline)
        );
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
    }

    function test_fulfill_justBeforeDeadline_succeeds() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.warp(req.deadline - 1);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Fulfilled));
    }

    function test_fulfill_twice_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowAlreadyFulfilled.selector, id));
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        _releaseAfterWindow(escrow, id, req, OUTPUT, _ops(op1, op2));
        assertEq(_owed(key12, op1), 0.25 ether);
    }

    function test_fulfill_tamperedFields_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        req.feeWei = 2 ether; // claim a bigger fee than escrowed
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowRequestMismatch.selector, id));
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
    }

    function test_requestState_unknownIds_none() public {
        _request(1 ether, 60);
        assertEq(uint8(escrow.requestState(0)), uint8(IInferenceEscrow.RequestState.None));
        assertEq(escrow.requestHash(2), bytes32(0));
        assertEq(uint8(escrow.requestState(2)), uint8(IInferenceEscrow.RequestState.None));
        assertEq(uint8(escrow.requestState(1)), uint8(IInferenceEscrow.RequestState.Live));
    }

    function test_fulfill_unknownRequest_reverts() public {
        IInferenceEscrow.InferenceRequest memory req = _req(1 ether, uint64(block.timestamp + 60));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowUnknownRequest.selector, 9));
        _fulfillAs(escrow, op1, 9, req, OUTPUT, _ops(op1, op2));
    }

    function test_fulfill_afterRefund_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.warp(req.deadline);
        escrow.refund(id, req);
        vm.warp(req.deadline - 1); // even if the clock could go back, the request is settled
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowAlreadyRefunded.selector, id));
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
    }

    function test_fulfill_allFeeToOperators_depositsNothing() public {
        IModelRegistry.ModelSpec memory s = _spec(1);
        s.protocolFeeBps = 500;
        s.operatorFeeBps = 9500;
        (uint64 id2, ModelToken t2) = _register(s);
        servingLedger.setServing(id2, op1, true);
        address[] memory ops = new address[](1);
        ops[0] = op1;
        bytes32 key = _registerPipeline(escrow, id2, ops);
        vm.prank(requester);
        uint64 deadline = uint64(block.timestamp + 5);
        uint256 id = escrow.request{value: 1 ether}(id2, key, INPUT, deadline);
        IInferenceEscrow.InferenceRequest memory req = IInferenceEscrow.InferenceRequest(id2, key, requester, 1 ether, deadline, INPUT);
        _fulfillAs(escrow, op1, id, req, OUTPUT, ops);
        _releaseAfterWindow(escrow, id, req, OUTPUT, ops);
        assertEq(_owed(key, op1), 0.95 ether);
        assertEq(escrow.balanceOf(treasury), 0.05 ether);
        assertEq(address(t2).balance, 0);
    }

    function test_fulfill_tokenWithoutHolders_holdsRevenueInToken() public {
        (uint64 id2, ModelToken t2) = _register(_spec(2));
        servingLedger.setServing(id2, op1, true);
        bytes32 key = _registerPipeline(escrow, id2, _ops(op1, op1));
        uint64 deadline = uint64(block.timestamp + 5);
        vm.prank(requester);
        uint256 id = escrow.request{value: 1 ether}(id2, key, INPUT, deadline);
        _fulfillAs(escrow, op1, id, IInferenceEscrow.InferenceRequest(id2, key, requester, 1 ether, deadline, INPUT), OUTPUT, _ops(op1, op1));
        assertEq(t2.undistributedRevenue(), 0.47 ether);
    }

    // ------------------------------------------------------------ refund

    function test_refund_beforeDeadline_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.warp(req.deadline - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowDeadlineNotReached.selector, id, req.deadline)
        );
        vm.prank(requester);
        escrow.refund(id, req);
    }

    function test_refund_requesterCannotPullLiveFee() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNothingToWithdraw.selector, requester));
        escrow.withdraw(requester, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotPipelineMember.selector, key12, requester));
        escrow.withdraw(requester, _keys1(key12));
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowDeadlineNotReached.selector, id, req.deadline)
        );
        escrow.refund(id, req);
        vm.stopPrank();
        assertEq(address(escrow).balance, 1 ether);
    }

    function test_refund_afterDeadline_paysRequesterAndEmits() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        uint256 before = requester.balance;
        vm.warp(req.deadline);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.InferenceRefunded(id, modelId, requester, 1 ether);
        vm.prank(makeAddr("keeper"));
        escrow.refund(id, req);
        assertEq(requester.balance, before + 1 ether);
        assertEq(address(escrow).balance, 0);
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Refunded));
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowAlreadyRefunded.selector, id));
        escrow.refund(id, req);
    }

    function test_refund_afterFulfil_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        vm.warp(req.deadline);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowAlreadyFulfilled.selector, id));
        escrow.refund(id, req);
    }

    function test_refund_tamperedRequester_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        vm.warp(req.deadline);
        req.requester = address(this);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowRequestMismatch.selector, id));
        escrow.refund(id, req);
    }

    function test_refund_rejectingRequester_reverts() public {
        EtherRejecter rejecter = new EtherRejecter();
        uint64 deadline = uint64(block.timestamp + 1);
        vm.deal(address(rejecter), 1 ether);
        vm.prank(address(rejecter));
        uint256 id = escrow.request{value: 1 ether}(modelId, key12, INPUT, deadline);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowTransferFailed.selector, address(rejecter)));
        escrow.refund(id, IInferenceEscrow.InferenceRequest(modelId, key12, address(rejecter), 1 ether, deadline, INPUT));
        assertEq(uint8(escrow.requestState(id)), uint8(IInferenceEscrow.RequestState.Live));
    }

    function test_refund_reentrantRequester_isBlocked() public {
        ReentrantRequester attacker = new ReentrantRequester(escrow);
        vm.deal(address(attacker), 0);
        uint64 deadline = uint64(block.timestamp + 1);
        uint256 id = attacker.request{value: 1 ether}(modelId, key12, deadline);
        vm.warp(deadline);
        escrow.refund(
            id, IInferenceEscrow.InferenceRequest(modelId, key12, address(attacker), 1 ether, deadline, keccak256("in"))
        );
        assertTrue(attacker.reentryBlocked());
        assertEq(address(attacker).balance, 1 ether);
        assertEq(address(escrow).balance, 0);
    }

    // ------------------------------------------------------------ withdraw

    function test_withdraw_paysBalanceOnceAndEmits() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        _releaseAfterWindow(escrow, id, req, OUTPUT, _ops(op1, op2));
        address payout = makeAddr("payout");
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.Withdrawn(op2, payout, 0.25 ether);
        vm.prank(op2);
        assertEq(escrow.withdraw(payout, _keys1(key12)), 0.25 ether);
        assertEq(payout.balance, 0.25 ether);
        assertEq(_owed(key12, op2), 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNothingToWithdraw.selector, op2));
        vm.prank(op2);
        escrow.withdraw(payout, _keys1(key12));
        vm.prank(treasury);
        escrow.withdraw(treasury, new bytes32[](0));
        assertEq(treasury.balance, 0.03 ether);
        assertEq(escrow.balanceOf(treasury), 0);
    }

    function test_withdraw_toZero_reverts() public {
        vm.expectRevert(IInferenceEscrow.InferenceEscrowZeroAddress.selector);
        escrow.withdraw(address(0), new bytes32[](0));
    }

    function test_withdraw_rejectingRecipient_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request(1 ether, 60);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops(op1, op2));
        _releaseAfterWindow(escrow, id, req, OUTPUT, _ops(op1, op2));
        EtherRejecter rejecter = new EtherRejecter();
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowTransferFailed.selector, address(rejecter)));
        vm.prank(op1);
        escrow.withdraw(address(rejecter), _keys1(key12));
        assertEq(_owed(key12, op1), 0.25 ether);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_split_sumsToFee(uint96 feeWei, uint16 protocolBps, uint16 operatorBps, uint8 stages) public {
        protocolBps = uint16(bound(protocolBps, 0, 500));
        operatorBps = uint16(bound(operatorBps, 0, 10_000 - protocolBps));
        stages = uint8(bound(stages, 1, 32));
        IModelRegistry.ModelSpec memory s = _spec(stages);
        s.protocolFeeBps = protocolBps;
        s.operatorFeeBps = operatorBps;
        s.minRequestFeeWei = 1;
        (uint64 id2, ModelToken t2) = _register(s);
        _mint(t2, holder, 1e18);
        feeWei = uint96(bound(feeWei, 1, 50 ether));
        address[3] memory pool = [op1, op2, op3];
        address[] memory ops = new address[](stages);
        for (uint256 i; i < stages; ++i) {
            ops[i] = pool[i % 3]; // repeated operators across stages
            servingLedger.setServing(id2, ops[i], true);
        }
        bytes32 key = _serveOnce(id2, ops, feeWei);

        uint256 operatorsTotal;
        for (uint256 i; i < 3 && i < stages; ++i) {
            operatorsTotal += _owed(key, pool[i]);
        }
        uint256 protocolWei = escrow.balanceOf(treasury);
        assertEq(protocolWei + operatorsTotal + address(t2).balance, feeWei, "split does not sum to fee");
        assertEq(protocolWei, uint256(feeWei) * protocolBps / 10_000);
        assertLe(operatorsTotal, uint256(feeWei) * operatorBps / 10_000);
        assertGe(operatorsTotal + stages, uint256(feeWei) * operatorBps / 10_000);
        assertEq(address(escrow).balance, protocolWei + operatorsTotal);
    }

    // ------------------------------------------------------------ helpers

    function _req(uint256 feeWei, uint64 deadline) internal view returns (IInferenceEscrow.InferenceRequest memory) {
        return IInferenceEscrow.InferenceRequest(modelId, key12, requester, feeWei, deadline, INPUT);
    }

    function _request(uint256 feeWei, uint64 ttl)
        internal
        returns (uint256 id, IInferenceEscrow.InferenceRequest memory req)
    {
        return _requestVia(key12, feeWei, ttl);
    }

    function _requestVia(bytes32 key, uint256 feeWei, uint64 ttl)
        internal
        returns (uint256 id, IInferenceEscrow.InferenceRequest memory req)
    {
        req = IInferenceEscrow.InferenceRequest(modelId, key, requester, feeWei, uint64(block.timestamp) + ttl, INPUT);
        vm.prank(requester);
        id = escrow.request{value: feeWei}(modelId, key, INPUT, req.deadline);
    }

    /// @dev Registers `ops` for `id2`, requests through them and fulfils as `ops[0]`.
    function _serveOnce(uint64 id2, address[] memory ops, uint256 feeWei) internal returns (bytes32 key) {
        key = _registerPipeline(escrow, id2, ops);
        uint64 deadline = uint64(block.timestamp + 10);
        vm.prank(requester);
        uint256 id = escrow.request{value: feeWei}(id2, key, INPUT, deadline);
        IInferenceEscrow.InferenceRequest memory req = IInferenceEscrow.InferenceRequest(id2, key, requester, feeWei, deadline, INPUT);
        _fulfillAs(escrow, ops[0], id, req, OUTPUT, ops);
        _releaseAfterWindow(escrow, id, req, OUTPUT, ops);
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
