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

/// @title Drives random pipeline registrations (with and without consent), requests naming a pipeline,
/// fulfilments (legal and not), serving challenges and their verdicts, releases, refunds, withdrawals and
/// time jumps
/// @dev Handlers live in the .t.sol file: Hardhat only hands the fuzzer artifacts of test roots.
/// Ghosts: the fields and liveness of every request, the sum of live fees, the wei sent to each token, what
/// each operator earned and withdrew, and flags for any outcome invariant 6 (docs/PROTOCOL.md) forbids (an illegal call
/// that succeeded, a legal one that failed).
contract EscrowHandler is CommonBase, StdCheats, StdUtils {
    InferenceEscrow public immutable escrow;
    uint64[] public modelIds;
    uint16[] public stageCounts;
    ModelToken[] public tokens;
    address[] public operators; // index 0..2 serving both models; the last one never serves
    uint256[] internal _operatorKeys;
    address[] public requesters;

    bytes32[] public pipelineKeys;
    mapping(bytes32 key => address[]) internal _pipelineOps;
    mapping(bytes32 key => uint256) internal _pipelineModel;
    mapping(address operator => bytes32[]) internal _keysOf;

    IInferenceEscrow.InferenceRequest[] internal _reqs;
    uint256[] internal _ids;
    bool[] public live;
    uint256 public liveFeesWei;
    mapping(address token => uint256) public holdersWei;
    mapping(address operator => uint256) public earnedWei;
    mapping(address operator => uint256) public withdrawnWei;
    uint256 public protocolEarnedWei;
    /// operators' shares of fulfilled requests not yet released
    uint256 public heldWei;
    /// what serving verdicts refunded to requesters
    uint256 public servingRefundsWei;
    MockServingLedger public immutable servingLedger;
    mapping(uint256 i => address[]) internal _fulfilOps;
    mapping(uint256 i => bool) public released;
    mapping(uint256 i => uint256) public openDisputes;
    mapping(uint256 i => uint256) public guiltyStages;
    uint256[] internal _disputeRequests;
    uint16[] internal _disputeStages;
    bool[] internal _disputeDecided;
    uint256 public protocolWithdrawnWei;
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
        uint256[] memory operatorKeys_,
        address[] memory requesters_,
        MockServingLedger servingLedger_
    ) {
        servingLedger = servingLedger_;
        escrow = escrow_;
        modelIds = modelIds_;
        stageCounts = stageCounts_;
        tokens = tokens_;
        operators = operators_;
        _operatorKeys = operatorKeys_;
        requesters = requesters_;
    }

    function requestCount() external view returns (uint256) {
        return _reqs.length;
    }

    function pipelineCount() external view returns (uint256) {
        return pipelineKeys.length;
    }

    function keysOf(address operator) external view returns (bytes32[] memory) {
        return _keysOf[operator];
    }

    function pipelineOps(bytes32 key) external view returns (address[] memory) {
        return _pipelineOps[key];
    }

    /// @dev Registers a pipeline of random operators, every one of them consenting.
    function registerPipeline(uint256 modelSeed, uint256 opsSeed) external {
        uint256 m = modelSeed % modelIds.length;
        address[] memory ops = _randomOps(m, opsSeed);
        bytes32 key = escrow.pipelineKey(modelIds[m], ops);
        (bool registered,,) = escrow.pipeline(key);
        uint64 deadline = uint64(block.timestamp + 60);
        bytes32 digest = escrow.hashPipelineConsent(modelIds[m], ops, deadline);
        bytes[] memory consents = new bytes[](ops.length);
        for (uint256 i; i < ops.length; ++i) {
            (uint8 v, bytes32 r, bytes32 sig) = vm.sign(_keyOf(ops[i]), digest);
            consents[i] = abi.encodePacked(r, sig, v);
        }
        try escrow.registerPipeline(modelIds[m], ops, deadline, consents) {
            if (registered) illegalSuccess = true;
            _record(key, m, ops);
        } catch {
            if (!registered) legalFailure = true;
        }
    }

    /// @dev An operator trying to register a pipeline with someone else in it, without that one's consent.
    function registerWithoutConsent(uint256 modelSeed, uint256 opsSeed, uint256 senderSeed) external {
        uint256 m = modelSeed % modelIds.length;
        address[] memory ops = _randomOps(m, opsSeed);
        address sender = operators[senderSeed % operators.length];
        bool othersInIt;
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] != sender) othersInIt = true;
        }
        if (!othersInIt) return;
        vm.prank(sender);
        try escrow.registerPipeline(modelIds[m], ops, uint64(block.timestamp + 60), new bytes[](ops.length)) {
            illegalSuccess = true;
        } catch {}
    }

    function request(uint256 pipelineSeed, uint256 requesterSeed, uint256 feeWei, uint256 ttl) external {
        if (pipelineKeys.length == 0) return;
        bytes32 key = pipelineKeys[pipelineSeed % pipelineKeys.length];
        uint64 modelId = modelIds[_pipelineModel[key]];
        address who = requesters[requesterSeed % requesters.length];
        feeWei = bound(feeWei, 1e12, 10 ether);
        uint64 deadline = uint64(block.timestamp + bound(ttl, 1, 600));
        bytes32 input = keccak256(abi.encode(_reqs.length));
        vm.deal(who, feeWei);
        vm.prank(who);
        uint256 id = escrow.request{value: feeWei}(modelId, key, input, deadline);
        _reqs.push(IInferenceEscrow.InferenceRequest(modelId, key, who, feeWei, deadline, input));
        _ids.push(id);
        live.push(true);
        liveFeesWei += feeWei;
    }

    /// @dev Half the time through the request's own pipeline, otherwise through random operators.
    function fulfill(uint256 reqSeed, uint256 callerSeed, uint256 opsSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        uint256 m = _pipelineModel[r.pipelineKey];
        address caller = operators[callerSeed % operators.length];
        address[] memory ops = opsSeed % 2 == 0 ? _pipelineOps[r.pipelineKey] : _randomOps(m, opsSeed >> 1);
        bool named = escrow.pipelineKey(r.modelId, ops) == r.pipelineKey;
        bool member;
        bool allServing = true;
        for (uint256 s; s < ops.length; ++s) {
            if (ops[s] == caller) member = true;
            if (ops[s] == operators[operators.length - 1]) allServing = false;
        }
        bool forged = opsSeed % 7 == 1; // one stage's commitment signed by someone else
        bool legal = live[i] && block.timestamp < r.deadline && named && member && allServing && !forged;
        (IInferenceEscrow.ServingCommitment[] memory c, bytes memory sigs) = _signedCommitments(_ids[i], ops, forged);
        vm.prank(caller);
        try escrow.fulfill(_ids[i], r, keccak256("out"), c, sigs, ops) {
            if (!legal) illegalSuccess = true;
            _recordFulfilment(i, m, ops);
        } catch {
            if (legal) legalFailure = true;
        }
    }

    function _recordFulfilment(uint256 i, uint256 m, address[] memory ops) private {
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        live[i] = false;
        liveFeesWei -= r.feeWei;
        (uint256 p, uint256 perStage, uint256 holders) = escrow.splitFee(r.modelId, r.feeWei);
        if (p + perStage * ops.length + holders != r.feeWei) illegalSuccess = true;
        holdersWei[address(tokens[m])] += holders;
        protocolEarnedWei += p;
        heldWei += perStage * ops.length;
        _fulfilOps[i] = ops;
        ++fulfilled;
    }

    /// @dev Anyone challenges a stage of a fulfilled request (the mock ledger records the dispute).
    function challenge(uint256 reqSeed, uint256 stageSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        address[] memory ops = _fulfilOps[i];
        if (ops.length == 0) return;
        uint16 stage = uint16(stageSeed % ops.length);
        (IInferenceEscrow.ServingCommitment[] memory c,) = _signedCommitments(_ids[i], ops, false);
        (, uint64 fulfilledAt,,,) = escrow.fulfilment(_ids[i]);
        bool legal = !released[i] && block.timestamp < fulfilledAt + escrow.challengeWindowSec(_reqs[i].modelId)
            && (guiltyStages[i] >> stage) & 1 == 0;
        try escrow.challengeServing(_ids[i], _reqs[i], keccak256("out"), c, ops, stage) {
            if (!legal) illegalSuccess = true;
            ++openDisputes[i];
            _disputeRequests.push(i);
            _disputeStages.push(stage);
            _disputeDecided.push(false);
        } catch {
            if (legal) legalFailure = true;
        }
    }

    /// @dev The ledger ends an open serving dispute; a fraud verdict refunds the requester (up to the fee, once).
    function decide(uint256 disputeSeed, bool fraud) external {
        if (_disputeRequests.length == 0) return;
        uint256 d = disputeSeed % _disputeRequests.length;
        if (_disputeDecided[d]) return;
        uint256 i = _disputeRequests[d];
        address requester = _reqs[i].requester;
        uint256 before = escrow.balanceOf(requester);
        (,,,, uint256 owedBefore) = escrow.fulfilment(_ids[i]);
        vm.deal(address(servingLedger), 100 ether);
        servingLedger.decide(address(escrow), d + 1, fraud);
        _disputeDecided[d] = true;
        --openDisputes[i];
        if (fraud) guiltyStages[i] |= 1 << _disputeStages[d];
        uint256 refundWei = escrow.balanceOf(requester) - before;
        if (refundWei > owedBefore || (fraud && refundWei != owedBefore)) illegalSuccess = true;
        servingRefundsWei += refundWei;
        // what the mock sent beyond the refund went to the treasury's counter
        uint256 slashWei = fraud ? _min(_capOf(d), servingLedger.slashableWei()) : 0;
        protocolEarnedWei += slashWei - refundWei;
    }

    /// @dev Anyone releases a fulfilled request's operator shares: only after its window, with no dispute open, once.
    function release(uint256 reqSeed) external {
        if (_reqs.length == 0) return;
        uint256 i = reqSeed % _reqs.length;
        address[] memory ops = _fulfilOps[i];
        if (ops.length == 0) return;
        IInferenceEscrow.InferenceRequest memory r = _reqs[i];
        (IInferenceEscrow.ServingCommitment[] memory c,) = _signedCommitments(_ids[i], ops, false);
        (, uint64 fulfilledAt,,,) = escrow.fulfilment(_ids[i]);
        bool legal = !released[i] && block.timestamp >= fulfilledAt + escrow.challengeWindowSec(r.modelId)
            && openDisputes[i] == 0;
        try escrow.release(_ids[i], r, keccak256("out"), _servingRoot(_ids[i], c), ops) {
            if (!legal) illegalSuccess = true;
            released[i] = true;
            (, uint256 perStage,) = escrow.splitFee(r.modelId, r.feeWei);
            heldWei -= perStage * ops.length;
            for (uint256 s; s < ops.length; ++s) {
                if ((guiltyStages[i] >> s) & 1 == 1) protocolEarnedWei += perStage;
                else earnedWei[ops[s]] += perStage;
            }
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

    /// @dev An operator withdraws through all its pipelines, or the treasury through none.
    function withdraw(uint256 accountSeed) external {
        bool isTreasury = accountSeed % 4 == 3;
        address who = isTreasury ? escrow.treasury() : operators[accountSeed % operators.length];
        bytes32[] memory keys = isTreasury ? new bytes32[](0) : _keysOf[who];
        uint256 amount = escrow.balanceOf(who);
        for (uint256 k; k < keys.length; ++k) {
            (, uint256 owed) = escrow.memberOf(keys[k], who);
            amount += owed;
        }
        uint256 before = who.balance;
        vm.prank(who);
        try escrow.withdraw(who, keys) returns (uint256 paid) {
            if (paid != amount || who.balance != before + amount || amount == 0) illegalSuccess = true;
            if (isTreasury) protocolWithdrawnWei += paid;
            else withdrawnWei[who] += paid;
        } catch {
            if (amount != 0) legalFailure = true;
        }
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 300));
    }

    function requesterCount() external view returns (uint256) {
        return requesters.length;
    }

    function _capOf(uint256 d) private view returns (uint256 capWei) {
        (,,,,, capWei,) = servingLedger.opened(d);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev Every stage's serving commitment of request `id`, signed by its operator (stage 0 by a stranger if `forged`).
    function _signedCommitments(uint256 id, address[] memory ops, bool forged)
        private
        view
        returns (IInferenceEscrow.ServingCommitment[] memory c, bytes memory sigs)
    {
        c = new IInferenceEscrow.ServingCommitment[](ops.length);
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Shardholder"),
                keccak256("1"),
                block.chainid,
                address(escrow)
            )
        );
        for (uint256 s; s < ops.length; ++s) {
            c[s] = IInferenceEscrow.ServingCommitment(keccak256(abi.encode(s)), bytes32(0), keccak256(abi.encode(id, s)), 1);
            bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domain, _structHash(id, s, c[s])));
            uint256 key = forged && s == 0 ? uint256(keccak256("stranger")) : _keyOf(ops[s]);
            (bytes32 r, bytes32 vs) = vm.signCompact(key, digest);
            sigs = bytes.concat(sigs, r, vs);
        }
    }

    function _structHash(uint256 id, uint256 s, IInferenceEscrow.ServingCommitment memory c) private view returns (bytes32) {
        return keccak256(
            abi.encode(escrow.SERVING_COMMITMENT_TYPEHASH(), id, uint16(s), c.weightsRoot, c.sampling, c.outputsRoot, c.positions)
        );
    }

    function _servingRoot(uint256 id, IInferenceEscrow.ServingCommitment[] memory c) private view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](c.length);
        for (uint256 s; s < c.length; ++s) {
            hashes[s] = _structHash(id, s, c[s]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _randomOps(uint256 m, uint256 seed) private view returns (address[] memory ops) {
        ops = new address[](stageCounts[m]);
        for (uint256 s; s < ops.length; ++s) {
            ops[s] = operators[(seed >> (s * 8)) % operators.length];
        }
    }

    function _record(bytes32 key, uint256 m, address[] memory ops) private {
        pipelineKeys.push(key);
        _pipelineOps[key] = ops;
        _pipelineModel[key] = m;
        for (uint256 s; s < ops.length; ++s) {
            bool seen;
            for (uint256 t; t < s; ++t) {
                if (ops[t] == ops[s]) seen = true;
            }
            if (!seen) _keysOf[ops[s]].push(key);
        }
    }

    function _keyOf(address operator) private view returns (uint256) {
        for (uint256 k; k < operators.length; ++k) {
            if (operators[k] == operator) return _operatorKeys[k];
        }
        revert("unknown operator");
    }
}

/// @notice Invariants 2 and 6 (docs/PROTOCOL.md) for the escrow, over two models (2 and 3 stages, different splits), with
/// pipelines registered only by consent.
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
        uint256[] memory keys = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string(abi.encodePacked("op", vm.toString(i))));
            operators.push(op);
            keys[i] = key;
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
        handler = new EscrowHandler(escrow, ids, stages, tokens, operators, keys, requesters, servingLedger);
        this.setRequesters(requesters);
        // a first pipeline per model, so requests can start at once
        handler.registerPipeline(0, 0x0100);
        handler.registerPipeline(1, 0x020100);
        targetContract(address(handler));
    }

    address[] internal _requesters;

    function setRequesters(address[] memory requesters) external {
        _requesters = requesters;
    }

    /// @dev 2: escrow ETH == live request fees + operators' shares held through challenge windows + protocol
    /// fees owed + settled balances (operators' and refunded requesters') + every member's unsettled share
    /// of every pipeline.
    function invariant_escrowSolvent() public view {
        uint256 owed = handler.liveFeesWei() + handler.heldWei() + escrow.protocolFeesOwed();
        for (uint256 i; i < operators.length; ++i) {
            owed += escrow.balanceOf(operators[i]) + _unsettled(operators[i]);
        }
        for (uint256 i; i < _requesters.length; ++i) {
            owed += escrow.balanceOf(_requesters[i]);
        }
        assertEq(address(escrow).balance, owed);
    }

    /// @dev A fraud verdict refunds the requester once, at most its fee: refunds never exceed the fees of
    /// the requests they were for.
    function invariant_servingRefundsBounded() public view {
        uint256 refunded;
        for (uint256 i; i < _requesters.length; ++i) {
            refunded += escrow.balanceOf(_requesters[i]);
        }
        assertEq(refunded, handler.servingRefundsWei(), "requesters' balances are their serving refunds");
    }

    /// @dev Each operator is owed or was paid exactly what it earned per stage served; the treasury likewise;
    /// an operator that never serves earned nothing.
    function invariant_sharesMatchEarnings() public view {
        for (uint256 i; i < operators.length; ++i) {
            address op = operators[i];
            assertEq(handler.withdrawnWei(op) + escrow.balanceOf(op) + _unsettled(op), handler.earnedWei(op));
        }
        assertEq(handler.protocolWithdrawnWei() + escrow.protocolFeesOwed(), handler.protocolEarnedWei());
        assertEq(handler.earnedWei(operators[3]), 0, "a non-serving operator was paid");
    }

    /// @dev 6: fulfil at most once, only before the deadline and only by a member of the named pipeline;
    /// refund only after it and only if unfulfilled; a live fee never goes back early; no pipeline without
    /// consent. Legal calls never fail.
    function invariant_settlementRules() public view {
        assertFalse(handler.illegalSuccess(), "a forbidden register/fulfil/refund/withdraw succeeded");
        assertFalse(handler.legalFailure(), "a permitted register/fulfil/refund/withdraw failed");
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

    function _unsettled(address op) private view returns (uint256 total) {
        bytes32[] memory keys = handler.keysOf(op);
        for (uint256 k; k < keys.length; ++k) {
            (, uint256 owed) = escrow.memberOf(keys[k], op);
            total += owed;
        }
    }
}
