// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {IInferenceEscrow} from "../interfaces/IInferenceEscrow.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {InferenceEscrow} from "../InferenceEscrow.sol";
import {ModelToken} from "../ModelToken.sol";
import {EconomyBase} from "./economy/EconomyBase.sol";
import {MockServingLedger} from "./economy/MockServingLedger.sol";

/// @title Drives random requests, fulfilments (legal and not), refunds, withdrawals and time jumps
/// @dev Handlers live in the .t.sol file: Hardhat only hands the fuzzer artifacts of test roots.
/// Ghosts: the fields and liveness of every request, the sum of live fees, the wei sent to each token,
/// and flags for any outcome DESIGN invariant 6 forbids (an illegal call that succeeded, a legal one that failed).
contract EscrowHandler is CommonBase, StdCheats, StdUtils {
    InferenceEscrow public immutable escrow;
    uint64[] public modelIds;
    uint16[] public stageCounts;
    ModelToken[] public tokens;
    address[] public operators; // index 0..2 serving both models; the last one never serves
    address[] public requesters;

    IInferenceEscrow.InferenceRequest[] internal _reqs;
    uint256[] internal _ids;
    bool[] public live;
    uint256 public liveFeesWei;
    mapping(address token => uint256) public holdersWei;
    uint256 public fulfilled;
    uint256 public refunded;
    bool public illegalSuccess;
    bool public legalFailure;

    constructor(
        InferenceEscrow escrow_,
        uint64[] memory modelIds_,
        uint16[] memory stageCounts_,
        ModelToken[] memory tokens_,
        address[] memory operators_,
        address[] memory requesters_
    ) {
        escrow = escrow_;
        modelIds = modelIds_;
        stageCounts = stageCounts_;
        tokens = tokens_;
        operators = operators_;
        requesters = requesters_;
    }

    function requestCount() external view returns (uint256) {
        return _reqs.length;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function request(uint256 modelSeed, uint256 requesterSeed, uint256 feeWei, uint256 ttl) external {
        uint256 m = modelSeed % modelIds.length;
        address who = requesters[requesterSeed % requesters.length];
        feeWei = bound(feeWei, 1e12, 10 ether);
        uint64 deadline = uint64(block.timestamp + bound(ttl, 1, 600));
        vm.deal(who, feeWei);
        vm.prank(who);
        uint256 id = escrow.request{value: feeWei}(modelIds[m], keccak256(abi.encode(_reqs.length)), deadline);
        _reqs.push(IInferenceEscrow.InferenceRequest(modelIds[m], who, feeWei, deadline, keccak256(abi.encode(_reqs.length))));
        _ids.push(id);
        live.push(true);
        liveFeesWei += feeWei;
    }

    function fulfill(uint256 reqSeed, uint256 callerSeed, uint256 opsSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        uint256 m = _modelIndex(r.modelId);
        address caller = operators[callerSeed % operators.length];
        address[] memory ops = new address[](stageCounts[m]);
        bool allServing = caller != operators[operators.length - 1];
        for (uint256 s; s < ops.length; ++s) {
            ops[s] = operators[(opsSeed >> (s * 8)) % operators.length];
            if (ops[s] == operators[operators.length - 1]) allServing = false;
        }
        bool legal = live[i] && block.timestamp < r.deadline && allServing;
        vm.prank(caller);
        try escrow.fulfill(_ids[i], r, keccak256("out"), ops) {
            if (!legal) illegalSuccess = true;
            live[i] = false;
            liveFeesWei -= r.feeWei;
            (uint256 p, uint256 perStage, uint256 holders) = escrow.splitFee(r.modelId, r.feeWei);
            if (p + perStage * ops.length + holders != r.feeWei) illegalSuccess = true;
            holdersWei[address(tokens[m])] += holders;
            ++fulfilled;
        } catch {
            if (legal) legalFailure = true;
        }
    }

    function refund(uint256 reqSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        bool legal = live[i] && block.timestamp >= r.deadline;
        uint256 before = r.requester.balance;
        try escrow.refund(_ids[i], r) {
            if (!legal) illegalSuccess = true;
            if (r.requester.balance != before + r.feeWei) illegalSuccess = true;
            live[i] = false;
            liveFeesWei -= r.feeWei;
            ++refunded;
        } catch {
            if (legal) legalFailure = true;
        }
    }

    /// @dev The requester trying to take a live fee back before the deadline must always fail.
    function requesterPullsEarly(uint256 reqSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        if (!live[i] || block.timestamp >= r.deadline) return;
        vm.prank(r.requester);
        try escrow.refund(_ids[i], r) {
            illegalSuccess = true;
        } catch {}
    }

    function withdraw(uint256 accountSeed) external {
        address who = accountSeed % 4 == 3 ? escrow.treasury() : operators[accountSeed % operators.length];
        uint256 amount = escrow.balanceOf(who);
        uint256 before = who.balance;
        vm.prank(who);
        try escrow.withdraw(who) returns (uint256 paid) {
            if (paid != amount || who.balance != before + amount || amount == 0) illegalSuccess = true;
        } catch {
            if (amount != 0) legalFailure = true;
        }
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 300));
    }

    function _modelIndex(uint64 modelId) private view returns (uint256) {
        for (uint256 k; k < modelIds.length; ++k) {
            if (modelIds[k] == modelId) return k;
        }
        revert("unknown model");
    }
}

/// @notice DESIGN invariants 2 and 6 for the escrow, over two models (2 and 3 stages, different splits).
contract InferenceEscrowInvariantTest is EconomyBase {
    EscrowHandler internal handler;
    InferenceEscrow internal escrow;
    ModelToken[] internal tokens;
    address[] internal operators;

    function setUp() public {
        _deployRegistry();
        MockServingLedger servingLedger = new MockServingLedger();
        escrow = new InferenceEscrow(registry, servingLedger, makeAddr("treasury"));
        uint64[] memory ids = new uint64[](2);
        uint16[] memory stages = new uint16[](2);
        ModelToken t;
        (ids[0], t) = _register(_spec(2));
        tokens.push(t);
        stages[0] = 2;
        IModelRegistry.ModelSpec memory alt = _spec(3);
        alt.protocolFeeBps = 500;
        alt.operatorFeeBps = 3333;
        (ids[1], t) = _register(alt);
        tokens.push(t);
        stages[1] = 3;
        for (uint256 i; i < 4; ++i) {
            operators.push(makeAddr(string(abi.encodePacked("op", vm.toString(i)))));
        }
        for (uint256 m; m < 2; ++m) {
            _mint(tokens[m], makeAddr("holder"), 1000e18);
            for (uint256 i; i < 3; ++i) {
                servingLedger.setServing(ids[m], operators[i], true);
            }
        }
        address[] memory requesters = new address[](3);
        for (uint256 i; i < 3; ++i) {
            requesters[i] = makeAddr(string(abi.encodePacked("req", vm.toString(i))));
        }
        handler = new EscrowHandler(escrow, ids, stages, tokens, operators, requesters);
        targetContract(address(handler));
    }

    /// @dev 2: escrow ETH == live request fees + unwithdrawn protocol/operator balances.
    function invariant_escrowSolvent() public view {
        uint256 owed = handler.liveFeesWei() + escrow.balanceOf(escrow.treasury());
        for (uint256 i; i < operators.length; ++i) {
            owed += escrow.balanceOf(operators[i]);
        }
        assertEq(address(escrow).balance, owed);
        assertEq(escrow.balanceOf(operators[3]), 0, "a non-serving operator was paid");
    }

    /// @dev 6: fulfil at most once and only before the deadline; refund only after it and only if unfulfilled;
    /// a live fee never goes back early. Legal calls never fail.
    function invariant_settlementRules() public view {
        assertFalse(handler.illegalSuccess(), "a forbidden fulfil/refund/withdraw succeeded");
        assertFalse(handler.legalFailure(), "a permitted fulfil/refund/withdraw failed");
        uint256 n = handler.requestCount();
        uint256 stillLive;
        for (uint256 i; i < n; ++i) {
            bool isLive = escrow.requestState(i + 1) == IInferenceEscrow.RequestState.Live;
            assertEq(isLive, handler.live(i));
            if (isLive) ++stillLive;
        }
        assertEq(handler.fulfilled() + handler.refunded() + stillLive, n);
    }

    /// @dev The holders' share reaches the token in full.
    function invariant_holdersShareDeposited() public view {
        for (uint256 m; m < tokens.length; ++m) {
            assertEq(address(tokens[m]).balance, handler.holdersWei(address(tokens[m])));
        }
    }
}

