// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {GasMeter} from "./economy/GasMeter.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";
import {PipelineConsents} from "./economy/PipelineConsents.sol";

/// @notice Gas of request, fulfil and withdraw as transaction gas (see GasMeter), in steady state: the model's
/// terms are cached, the operators' pipeline is registered and has earned, the token has holders. The serving
/// check goes to a minimal ledger double (one cold mapping read per distinct operator); the real
/// ledger also reads the model's minimum stake: `npm run bench:gas` measures that path on a chain (bench/gas.json "chain").
contract InferenceEscrowGasTest is EconomyBase, PipelineConsents, GasMeter {
    InferenceEscrow internal escrow;
    MockServingLedger internal servingLedger;
    ModelToken internal token;
    uint64 internal modelId;
    address internal op1 = _operator("op1");
    address internal op2 = _operator("op2");
    address internal treasury = makeAddr("treasury");
    bytes32 internal key;
    address internal requester = makeAddr("requester");
    IInferenceEscrow.InferenceRequest internal live;
    uint256 internal liveId;

    function setUp() public {
        _deployRegistry();
        (modelId, token) = _register(_spec(2));
        servingLedger = new MockServingLedger();
        escrow = new InferenceEscrow(registry, servingLedger, treasury);
        servingLedger.setServing(modelId, op1, true);
        servingLedger.setServing(modelId, op2, true);
        _mint(token, makeAddr("holder"), 100e18);
        vm.deal(requester, 10 ether);
        // operators and the treasury hold ETH (they pay gas): a withdrawal does not create their account
        vm.deal(op2, 1 ether);
        vm.deal(treasury, 1 ether);
        address[] memory ops = _ops();
        key = _registerPipeline(escrow, modelId, ops);
        // one full cycle first, so balances and the token's accumulator are non-zero (steady state)
        uint64 deadline = uint64(block.timestamp + 1000); // outlives the first request's challenge window
        vm.startPrank(requester);
        uint256 first = escrow.request{value: 0.1 ether}(modelId, key, keccak256("a"), deadline);
        liveId = escrow.request{value: 0.1 ether}(modelId, key, keccak256("b"), deadline);
        vm.stopPrank();
        IInferenceEscrow.InferenceRequest memory firstReq =
            IInferenceEscrow.InferenceRequest(modelId, key, requester, 0.1 ether, deadline, keccak256("a"));
        _fulfillAs(escrow, op1, first, firstReq, 0, ops);
        _releaseAfterWindow(escrow, first, firstReq, 0, ops);
        live = IInferenceEscrow.InferenceRequest(modelId, key, requester, 0.1 ether, deadline, keccak256("b"));
    }

    function test_gas_request_within60k() public {
        (InferenceEscrow e, address r, uint64 id, bytes32 k) = (escrow, requester, modelId, key);
        uint64 deadline = uint64(block.timestamp + 100);
        _warm(address(e));
        _warm(r);
        vm.prank(r);
        e.request{value: 0.1 ether}(id, k, keccak256("prompt"), deadline);
        uint256 txGas = _lastTxGas(abi.encodeCall(e.request, (id, k, keccak256("prompt"), deadline)));
        _snap("InferenceEscrow", "request", txGas);
        assertLe(txGas, 60_000, "request above target");
    }

    /// @dev Target: 95k (75k before verified inference, ~69k measured then), steady state (the pipeline of
    /// these two operators is registered and has earned). What verification added (~24k): calldata for each
    /// stage's 4-word serving commitment and 64-byte compact signature (~8k for two stages), two ecrecovers
    /// with the struct hashing (~7k), and the fulfilment word (the request slot rewritten, 2.9k, where it was
    /// cleared for a 4.8k refund before); the pipeline accumulator's 5k write moved to `release`.
    function test_gas_fulfill_twoStages_within95k() public {
        (InferenceEscrow e, IInferenceEscrow.InferenceRequest memory req, uint256 id) = (escrow, live, liveId);
        address[] memory ops = _ops();
        bytes32 out = keccak256("out");
        IInferenceEscrow.ServingCommitment[] memory c = _servingCommitments(id, 2);
        bytes memory sigs = _servingSignatures(e, id, ops, c);
        _warm(address(e));
        _warm(op1);
        vm.prank(op1);
        e.fulfill(id, req, out, c, sigs, ops);
        uint256 txGas = _lastTxGas(abi.encodeCall(e.fulfill, (id, req, out, c, sigs, ops)));
        _snap("InferenceEscrow", "fulfill, 2 stages, minimal ledger", txGas);
        assertEq(uint8(e.requestState(id)), uint8(IInferenceEscrow.RequestState.Fulfilled));
        assertLe(txGas, 95_000, "fulfil above target");
    }

    /// @dev Releasing a request's operator shares after its window: the fulfilment word rewritten and the
    /// pipeline's per-stage accumulator (steady state: it has earned before).
    function test_gas_release_twoStages_within45k() public {
        (InferenceEscrow e, IInferenceEscrow.InferenceRequest memory req, uint256 id) = (escrow, live, liveId);
        address[] memory ops = _ops();
        bytes32 out = keccak256("out");
        _fulfillAs(e, op1, id, req, out, ops);
        bytes32 servingRoot = _servingRootOf(id, _servingCommitments(id, 2));
        vm.warp(block.timestamp + e.challengeWindowSec(modelId));
        address anyone = makeAddr("anyone");
        _warm(address(e));
        _warm(anyone);
        vm.prank(anyone);
        e.release(id, req, out, servingRoot, ops);
        uint256 txGas = _lastTxGas(abi.encodeCall(e.release, (id, req, out, servingRoot, ops)));
        _snap("InferenceEscrow", "release, 2 stages", txGas);
        assertEq(uint8(e.requestState(id)), uint8(IInferenceEscrow.RequestState.Released));
        assertLe(txGas, 45_000, "release above target");
    }

    /// @dev An operator's withdrawal of one pipeline's share: one member checkpoint, one pipeline read, the
    /// settled balance, the value transfer. Each further pipeline adds its two cold slots (~7k).
    function test_gas_withdraw_operatorOnePipeline_within50k() public {
        (InferenceEscrow e, address who, bytes32[] memory keys) = (escrow, op2, _keys1(key));
        _warm(address(e));
        _warm(who);
        vm.prank(who);
        e.withdraw(who, keys);
        uint256 txGas = _lastTxGas(abi.encodeCall(e.withdraw, (who, keys)));
        _snap("InferenceEscrow", "withdraw, operator, 1 pipeline", txGas);
        assertLe(txGas, 50_000, "withdraw above target");
    }

    /// @dev The treasury's withdrawal reads and writes one counter, whatever the number of pipelines.
    function test_gas_withdraw_treasury_within45k() public {
        (InferenceEscrow e, address who) = (escrow, treasury);
        bytes32[] memory none = new bytes32[](0);
        _warm(address(e));
        _warm(who);
        vm.prank(who);
        e.withdraw(who, none);
        uint256 txGas = _lastTxGas(abi.encodeCall(e.withdraw, (who, none)));
        _snap("InferenceEscrow", "withdraw, treasury", txGas);
        assertLe(txGas, 45_000, "treasury withdraw above target");
    }

    function _ops() private view returns (address[] memory ops) {
        ops = new address[](2);
        ops[0] = op1;
        ops[1] = op2;
    }
}
