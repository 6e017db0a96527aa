// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";
import {PipelineConsents} from "./economy/PipelineConsents.sol";

/// @notice Verified inference on the escrow's side (docs/PROTOCOL.md "Verified inference"): signed serving
/// commitments at fulfilment, operator shares held through the challenge window, challenges forwarded to
/// the ledger, equivocation proofs, and what a verdict does to the requester and the stage shares. The
/// ledger is a double deciding verdicts on demand (ComputeLedgerServing.t.sol runs the real committee).
contract InferenceEscrowServingTest is EconomyBase, PipelineConsents {
    MockServingLedger internal servingLedger;
    InferenceEscrow internal escrow;
    ModelToken internal token;
    uint64 internal modelId;
    address internal treasury = makeAddr("treasury");
    address internal requester = makeAddr("requester");
    address internal challenger = makeAddr("challenger");
    address internal op1 = _operator("op1");
    address internal op2 = _operator("op2");
    bytes32 internal key;
    bytes32 internal constant OUTPUT = keccak256("completion");
    uint256 internal constant FEE = 1 ether; // protocol 3%, operators 50% (0.25 a stage), holders 47%
    uint256 internal constant WINDOW = 300;

    function setUp() public {
        _deployRegistry();
        (modelId, token) = _register(_spec(2));
        servingLedger = new MockServingLedger();
        vm.deal(address(servingLedger), 100 ether);
        escrow = new InferenceEscrow(registry, servingLedger, treasury);
        servingLedger.setServing(modelId, op1, true);
        servingLedger.setServing(modelId, op2, true);
        _mint(token, makeAddr("holder"), 100e18);
        vm.deal(requester, 100 ether);
        vm.deal(challenger, 100 ether);
        vm.warp(1_000_000);
        key = _registerPipeline(escrow, modelId, _ops());
    }

    // ------------------------------------------------------------ fulfil: signed commitments

    function test_fulfill_storesTheServingRootAndHoldsOperatorShares() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        (IInferenceEscrow.RequestState state, uint64 fulfilledAt, uint16 open, uint32 guilty, uint256 owed) = escrow.fulfilment(id);
        assertEq(uint8(state), uint8(IInferenceEscrow.RequestState.Fulfilled));
        assertEq(fulfilledAt, block.timestamp);
        assertEq(open, 0);
        assertEq(guilty, 0);
        assertEq(owed, 0, "no case before a challenge");
        assertEq(address(escrow).balance, 0.03 ether + 0.5 ether, "protocol share and both stage shares held");
        assertEq(escrow.challengeWindowSec(modelId), WINDOW);
        req; // the request stays as given
    }

    function test_fulfill_stageSignedByAnotherKey_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        bytes memory sigs = _servingSignatures(escrow, id, _ops(), c);
        for (uint256 i; i < 64; ++i) {
            sigs[64 + i] = sigs[i]; // op1's signature where op2's belongs
        }
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidServingSignature.selector, 1, op2));
        vm.prank(op1);
        escrow.fulfill(id, req, OUTPUT, c, sigs, _ops());
    }

    function test_fulfill_commitmentOfAnotherRequest_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        // signatures made for request id + 1 (a replay of another request's commitments)
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        bytes memory sigs = _servingSignatures(escrow, id + 1, _ops(), c);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidServingSignature.selector, 0, op1));
        vm.prank(op1);
        escrow.fulfill(id, req, OUTPUT, c, sigs, _ops());
    }

    function test_fulfill_tamperedCommitment_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        bytes memory sigs = _servingSignatures(escrow, id, _ops(), c);
        c[1].weightsRoot = keccak256("older checkpoint"); // the fulfiller swaps what stage 1 signed
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowInvalidServingSignature.selector, 1, op2));
        vm.prank(op1);
        escrow.fulfill(id, req, OUTPUT, c, sigs, _ops());
    }

    function test_fulfill_missingCommitment_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 1);
        bytes memory sigs = new bytes(128);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowCommitmentCountMismatch.selector, 2, 1, 2)
        );
        vm.prank(op1);
        escrow.fulfill(id, req, OUTPUT, c, sigs, _ops());
    }

    // ------------------------------------------------------------ release

    function test_release_beforeWindowEnds_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        vm.warp(block.timestamp + WINDOW - 1);
        uint64 until = uint64(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowChallengeWindowOpen.selector, id, until));
        escrow.release(id, req, OUTPUT, _root(id), _ops());
    }

    function test_release_afterWindow_paysThePipelineOnce() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingFeesReleased(id, key, 0.25 ether, 0);
        vm.prank(makeAddr("anyone"));
        escrow.release(id, req, OUTPUT, _root(id), _ops());
        assertEq(_owed(op1), 0.25 ether);
        assertEq(_owed(op2), 0.25 ether);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        escrow.release(id, req, OUTPUT, _root(id), _ops());
    }

    function test_release_wrongServingRootOrOutput_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        escrow.release(id, req, OUTPUT, keccak256("another root"), _ops());
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        escrow.release(id, req, keccak256("another text"), _root(id), _ops());
    }

    function test_release_liveRequest_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        escrow.release(id, req, OUTPUT, _root(id), _ops());
    }

    // ------------------------------------------------------------ challenges

    function test_challenge_forwardsBondAndCapsRefundAtTheFee() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingChallenged(id, 1, op2, 1, challenger);
        uint256 disputeId = _challenge(id, req, 1);
        assertEq(disputeId, 1);
        (uint64 m, uint64 requestId, uint16 stage, address operator, address who, uint256 cap, uint256 bond) =
            servingLedger.opened(0);
        assertEq(m, modelId);
        assertEq(requestId, id);
        assertEq(stage, 1);
        assertEq(operator, op2);
        assertEq(who, challenger);
        assertEq(cap, FEE);
        assertEq(bond, 0.01 ether);
        (,, uint16 open,, uint256 owed) = escrow.fulfilment(id);
        assertEq(open, 1);
        assertEq(owed, FEE);
    }

    function test_challenge_afterWindow_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        uint64 until = uint64(block.timestamp + WINDOW);
        vm.warp(until);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowChallengeWindowClosed.selector, id, until));
        _challenge(id, req, 0);
    }

    function test_challenge_commitmentsNotTheFulfilled_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        c[0].outputsRoot = keccak256("outputs nobody committed"); // framing stage 0 with another commitment
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        vm.prank(challenger);
        escrow.challengeServing{value: 0.01 ether}(id, req, OUTPUT, c, _ops(), 0);
    }

    function test_challenge_stageOutOfRange_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowBadStage.selector, 2, 2));
        _challenge(id, req, 2);
    }

    function test_openDispute_blocksRelease_untilTheVerdict() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 1);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowServingDisputeOpen.selector, id));
        escrow.release(id, req, OUTPUT, _root(id), _ops());
        servingLedger.decide(address(escrow), 1, false);
        escrow.release(id, req, OUTPUT, _root(id), _ops());
        assertEq(_owed(op2), 0.25 ether, "an honest verdict pays the stage as usual");
        assertEq(escrow.balanceOf(requester), 0);
    }

    function test_fraudVerdict_refundsTheRequesterInFull_andForfeitsOnlyTheGuiltyStage() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 1);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingVerdict(id, 1, true, FEE);
        servingLedger.decide(address(escrow), 1, true);
        assertEq(escrow.balanceOf(requester), FEE, "the whole fee back, from the slash");
        (,, uint16 open, uint32 guilty, uint256 owed) = escrow.fulfilment(id);
        assertEq(open, 0);
        assertEq(guilty, 2, "stage 1 at fault");
        assertEq(owed, 0);
        uint256 protocolBefore = escrow.protocolFeesOwed();
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingFeesReleased(id, key, 0.25 ether, 0.25 ether);
        escrow.release(id, req, OUTPUT, _root(id), _ops());
        assertEq(escrow.balanceOf(op1), 0.25 ether, "the honest stage is paid directly");
        assertEq(escrow.balanceOf(op2), 0, "the guilty stage earns nothing");
        assertEq(escrow.protocolFeesOwed(), protocolBefore + 0.25 ether, "its share goes to the treasury");
        vm.prank(requester);
        assertEq(escrow.withdraw(requester, new bytes32[](0)), FEE);
    }

    function test_twoFraudVerdicts_refundOnce_excessToTreasury() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 0);
        _challenge(id, req, 1);
        servingLedger.decide(address(escrow), 1, true);
        uint256 protocolBefore = escrow.protocolFeesOwed();
        servingLedger.decide(address(escrow), 2, true); // the mock sends the cap again: nothing is owed any more
        assertEq(escrow.balanceOf(requester), FEE);
        assertEq(escrow.protocolFeesOwed(), protocolBefore + FEE);
        (,,, uint32 guilty,) = escrow.fulfilment(id);
        assertEq(guilty, 3);
        vm.warp(block.timestamp + WINDOW);
        escrow.release(id, req, OUTPUT, _root(id), _ops());
        assertEq(escrow.balanceOf(op1) + escrow.balanceOf(op2), 0);
    }

    function test_refund_cappedByTheSlash() public {
        servingLedger.setSlashableWei(0.4 ether); // a thinly staked operator
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 0);
        servingLedger.decide(address(escrow), 1, true);
        assertEq(escrow.balanceOf(requester), 0.4 ether);
        (,,,, uint256 owed) = escrow.fulfilment(id);
        assertEq(owed, 0.6 ether, "still owed, for a verdict against another stage");
    }

    function test_provenStage_cannotBeChallengedAgain() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 1);
        servingLedger.decide(address(escrow), 1, true);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowServingAlreadyProven.selector, id, 1));
        _challenge(id, req, 1);
    }

    function test_onServingVerdict_notFromTheLedger_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowNotLedger.selector, address(this)));
        escrow.onServingVerdict(1, 0, true, true);
    }

    function test_attestServing_emitsForFulfilledRequestsOnly() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _request();
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowFulfilmentMismatch.selector, id));
        escrow.attestServing(id, 0);
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops());
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingAudited(id, 1, challenger);
        vm.prank(challenger);
        escrow.attestServing(id, 1);
    }

    // ------------------------------------------------------------ equivocation

    function test_equivocation_signedFrameDiffersFromCommittedOutput_slashesAndRefunds() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        IInferenceEscrow.ServingEquivocation memory e = _equivocation(id, 1, 1, keccak256("sent another activation"), op2);
        vm.expectEmit(address(escrow));
        emit IInferenceEscrow.ServingEquivocationProven(id, 1, op2, 1, challenger);
        _prove(id, req, e);
        assertEq(servingLedger.slashes(), 1);
        assertEq(escrow.balanceOf(requester), FEE);
        (,, uint16 open, uint32 guilty,) = escrow.fulfilment(id);
        assertEq(open, 0, "a proof opens no dispute");
        assertEq(guilty, 2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceEscrow.InferenceEscrowServingAlreadyProven.selector, id, 1));
        _prove(id, req, e);
    }

    function test_equivocation_sameHash_isNoEquivocation() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        IInferenceEscrow.ServingEquivocation memory e = _equivocation(id, 0, 0, _servedOutput(id, 0, 0), op1);
        vm.expectRevert(IInferenceEscrow.InferenceEscrowNotAnEquivocation.selector);
        _prove(id, req, e);
    }

    function test_equivocation_frameSignedBySomeoneElse_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        // op1 signs a frame "of stage 1": it cannot frame op2
        IInferenceEscrow.ServingEquivocation memory e = _equivocation(id, 1, 0, keccak256("forged"), op1);
        vm.expectRevert(IInferenceEscrow.InferenceEscrowInvalidFrameSignature.selector);
        _prove(id, req, e);
    }

    function test_equivocation_leafNotCommitted_reverts() public {
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        IInferenceEscrow.ServingEquivocation memory e = _equivocation(id, 1, 0, keccak256("x"), op2);
        e.committedHash = keccak256("a leaf that is not in the tree");
        vm.expectRevert(IInferenceEscrow.InferenceEscrowInvalidOutputProof.selector);
        _prove(id, req, e);
    }

    /// @dev Whatever mix of challenges and verdicts, the requester is refunded at most its fee, once,
    /// and everything the ledger sends is accounted for (requester or treasury).
    function testFuzz_verdicts_refundAtMostTheFee(uint8 verdicts, uint96 slashWei) public {
        servingLedger.setSlashableWei(bound(slashWei, 0, 3 ether));
        (uint256 id, IInferenceEscrow.InferenceRequest memory req) = _requestAndFulfil();
        _challenge(id, req, 0);
        _challenge(id, req, 1);
        uint256 ledgerBefore = address(servingLedger).balance;
        uint256 protocolBefore = escrow.protocolFeesOwed();
        servingLedger.decide(address(escrow), 1, verdicts & 1 == 1);
        servingLedger.decide(address(escrow), 2, verdicts & 2 == 2);
        uint256 sent = ledgerBefore - address(servingLedger).balance;
        uint256 refunded = escrow.balanceOf(requester);
        assertLe(refunded, FEE);
        assertEq(refunded + escrow.protocolFeesOwed() - protocolBefore, sent);
        if (verdicts & 3 != 0) assertEq(refunded, _min(FEE, servingLedger.slashableWei() * (verdicts & 3 == 3 ? 2 : 1)));
    }

    // ------------------------------------------------------------ helpers

    function _ops() internal view returns (address[] memory ops) {
        ops = new address[](2);
        ops[0] = op1;
        ops[1] = op2;
    }

    function _request() internal returns (uint256 id, IInferenceEscrow.InferenceRequest memory req) {
        uint64 deadline = uint64(block.timestamp + 60);
        req = IInferenceEscrow.InferenceRequest(modelId, key, requester, FEE, deadline, keccak256("prompt"));
        vm.prank(requester);
        id = escrow.request{value: FEE}(modelId, key, req.inputHash, deadline);
    }

    function _requestAndFulfil() internal returns (uint256 id, IInferenceEscrow.InferenceRequest memory req) {
        (id, req) = _request();
        _fulfillAs(escrow, op1, id, req, OUTPUT, _ops());
    }

    function _root(uint256 id) internal pure returns (bytes32) {
        return _servingRootOf(id, _servingCommitments(id, 2));
    }

    function _challenge(uint256 id, IInferenceEscrow.InferenceRequest memory req, uint16 stage) internal returns (uint256) {
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        address[] memory ops = _ops();
        vm.prank(challenger);
        return escrow.challengeServing{value: 0.01 ether}(id, req, OUTPUT, c, ops, stage);
    }

    /// @dev Stage `stage`'s committed leaf at `position` and a frame there with `signedHash`, signed by `signer`.
    function _equivocation(uint256 id, uint16 stage, uint32 position, bytes32 signedHash, address signer)
        internal
        view
        returns (IInferenceEscrow.ServingEquivocation memory e)
    {
        bytes32 structHash = keccak256(abi.encode(FRAME_TYPEHASH_SPEC, id, stage, position, signedHash));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", _escrowDomain(escrow), structHash));
        e = IInferenceEscrow.ServingEquivocation({
            stage: stage,
            position: position,
            committedHash: _servedOutput(id, stage, position),
            proof: _outputProof(id, stage, position),
            signedHash: signedHash,
            signature: _signCompact(operatorKeys[signer], digest)
        });
    }

    function _prove(uint256 id, IInferenceEscrow.InferenceRequest memory req, IInferenceEscrow.ServingEquivocation memory e)
        internal
    {
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        address[] memory ops = _ops();
        vm.prank(challenger);
        escrow.proveServingEquivocation(id, req, OUTPUT, c, ops, e);
    }

    function _owed(address account) internal view returns (uint256 owedWei) {
        (, owedWei) = escrow.memberOf(key, account);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
