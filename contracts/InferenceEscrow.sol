// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IComputeLedger} from "./interfaces/IComputeLedger.sol";
import {IInferenceEscrow} from "./interfaces/IInferenceEscrow.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelToken} from "./interfaces/IModelToken.sol";

/// @dev The registry's public getter of the implementation its token clones are made of.
interface ITokenImplementation {
    function tokenImplementation() external view returns (address);
}

/// @title InferenceEscrow: paid inference requests, delivered by a model's staked serving operators
/// @notice A requester escrows a fee; a serving operator fulfils before the deadline and the fee is split
/// into the protocol treasury's share, the stage operators' shares (pull) and the model token's revenue
/// accumulator. After the deadline an unfulfilled request can only be refunded to its requester; before it
/// the requester cannot take the fee back (no front-running of the delivery).
///
/// Gas design (fulfil is the hot path; see bench/gas.json):
/// - a request stores one slot, the hash of its fields (`fulfill`/`refund` take the fields back as calldata);
///   fulfilment clears it (EIP-3529 refund) and a cleared slot with an id up to `requestCount` reads as
///   fulfilled; a refund writes a marker instead.
/// - operator and protocol shares are aggregated per pipeline, the ordered list of stage operators of a
///   model: `pipelineKey = keccak256(abi.encode(modelId, stageOperators))`. A fulfilment adds to the one
///   pipeline slot (cumulative fee per stage, cumulative protocol fee, and the model's split terms), however
///   many stages; each member holds a checkpoint (the Uniswap-v3 fee-growth pattern) and is owed
///   `stagesServed * (perStage - paidPerStage)` (the treasury, a member of every pipeline, also the protocol
///   part). Opening a pipeline (its first fulfilment) records the memberships once.
/// - the token is the registry's deterministic clone (salt = modelId): its address is computed, not read.
contract InferenceEscrow is IInferenceEscrow, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- constants

    uint256 private constant _BPS = 10_000;
    /// @dev A refunded request's slot; fulfilled ones are cleared. A keccak output is never 2 (or 0).
    bytes32 private constant _REFUNDED = bytes32(uint256(2));
    uint256 private constant _FLAG = 1 << 255;
    uint256 private constant _M104 = (1 << 104) - 1;
    uint256 private constant _M128 = type(uint128).max;
    // model terms: _FLAG | minRequestFeeWei << 64 | operatorFeeBps << 32 | protocolFeeBps << 16 | stageCount
    uint256 private constant _MIN_FEE_SHIFT = 64;
    uint256 private constant _OP_BPS_SHIFT = 32;
    uint256 private constant _PROTO_BPS_SHIFT = 16;
    // pipeline: _FLAG | operatorFeeBps << 224 | protocolFeeBps << 208 | protocolWei << 104 | perStageWei
    // member:   _FLAG | stagesServed << 208 | paidProtocolWei << 104 | paidPerStageWei
    uint256 private constant _P_OP_BPS_SHIFT = 224;
    uint256 private constant _P_PROTO_BPS_SHIFT = 208;
    uint256 private constant _STAGES_SHIFT = 208;
    uint256 private constant _PROTOCOL_SHIFT = 104;

    // ---------------------------------------------------------------- storage

    /// @notice Where model terms come from.
    // solhint-disable-next-line immutable-vars-naming
    IModelRegistry public immutable registry; // public getter names are part of the ABI
    /// @notice Who may serve: `ledger.findNonServingOperator(modelId, caller, stageOperators)` checks a pipeline.
    // solhint-disable-next-line immutable-vars-naming
    IComputeLedger public immutable ledger;
    /// @notice Receives the protocol share (as a pull balance); a member of every pipeline.
    // solhint-disable-next-line immutable-vars-naming
    address public immutable treasury;
    /// @dev keccak256 of the init code of the registry's token clones (the OZ `Clones` EIP-1167 proxy of
    /// its token implementation), hashed once here so `tokenOf` on the fulfil path only hashes the
    /// CREATE2 preimage.
    // solhint-disable-next-line immutable-vars-naming
    bytes32 private immutable _cloneInitCodeHash;

    uint256 private _requestCount;
    /// @dev Live: hash of the request fields; fulfilled: 0; refunded: `_REFUNDED`.
    mapping(uint256 requestId => bytes32) private _requests;
    /// @dev Settled, withdrawable balances (pipeline shares not yet settled are on top).
    mapping(address account => uint256) private _balances;
    mapping(uint64 modelId => uint256) private _terms;
    mapping(bytes32 pipelineKey => uint256) private _pipelines;
    mapping(bytes32 pipelineKey => mapping(address account => uint256)) private _members;
    mapping(address account => bytes32[]) private _pipelinesOf;

    // ---------------------------------------------------------------- setup

    constructor(IModelRegistry registry_, IComputeLedger ledger_, address treasury_) {
        if (address(registry_) == address(0) || address(ledger_) == address(0) || treasury_ == address(0)) {
            revert InferenceEscrowZeroAddress();
        }
        registry = registry_;
        ledger = ledger_;
        treasury = treasury_;
        _cloneInitCodeHash = keccak256(
            abi.encodePacked(
                hex"3d602d80600a3d3981f3363d3d373d3d3d363d73",
                ITokenImplementation(address(registry_)).tokenImplementation(),
                hex"5af43d82803e903d91602b57fd5bf3"
            )
        );
    }

    // ---------------------------------------------------------------- operations

    /// @notice Escrows `msg.value` as the fee of one inference of `modelId` on the input whose hash is
    /// `inputHash` (the input itself travels off-chain), deliverable until `deadline` (exclusive).
    /// @return requestId Sequential id (1, 2, ...).
    function request(uint64 modelId, bytes32 inputHash, uint64 deadline)
        external
        payable
        returns (uint256 requestId)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) terms = _cacheTerms(modelId);
        uint256 minFee = (terms >> _MIN_FEE_SHIFT) & _M128;
        if (msg.value < minFee) revert InferenceEscrowFeeTooLow(msg.value, minFee);
        // solhint-disable-next-line gas-strict-inequalities
        if (deadline <= block.timestamp) revert InferenceEscrowInvalidDeadline(deadline);
        requestId = ++_requestCount;
        _requests[requestId] = _hash(modelId, msg.sender, msg.value, deadline, inputHash);
        emit InferenceRequested(requestId, modelId, msg.sender, inputHash, msg.value, deadline);
    }

    /// @notice Delivers request `requestId`: the caller and every entry of `stageOperators` (one per stage,
    /// in stage order; an operator serving several stages appears several times) must be serving operators
    /// of the model, strictly before the deadline, once. Splits the fee (see `InferenceFulfilled`): the
    /// operators' and the protocol's shares accrue to the pipeline `stageOperators` (opened on first use).
    /// @param req The request's fields exactly as emitted by `InferenceRequested`.
    /// @param outputHash Hash of the delivered output (the output travels off-chain).
    /// @custom:security The token is a registry clone (trusted code); state is final before it is called.
    function fulfill(
        uint256 requestId,
        InferenceRequest calldata req,
        bytes32 outputHash,
        address[] calldata stageOperators
    ) external nonReentrant {
        _checkLive(requestId, req);
        // solhint-disable-next-line gas-strict-inequalities
        if (block.timestamp >= req.deadline) revert InferenceEscrowDeadlinePassed(requestId, req.deadline);
        uint64 modelId = req.modelId;
        _checkServing(modelId, stageOperators);
        bytes32 key = pipelineKey(modelId, stageOperators);
        uint256 pipeline = _pipelines[key];
        if (pipeline == 0) pipeline = _openPipeline(key, modelId, stageOperators);
        delete _requests[requestId];
        (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei) =
            _split(pipeline >> _P_PROTO_BPS_SHIFT, pipeline >> _P_OP_BPS_SHIFT, stageOperators.length, req.feeWei);
        if (protocolWei | perStageWei != 0) {
            uint256 earnedPerStage = (pipeline & _M104) + perStageWei;
            uint256 earnedProtocol = ((pipeline >> _PROTOCOL_SHIFT) & _M104) + protocolWei;
            if ((earnedPerStage | earnedProtocol) > _M104) revert InferenceEscrowAccountingOverflow(key);
            _pipelines[key] = (pipeline & ~((1 << _P_PROTO_BPS_SHIFT) - 1)) | (earnedProtocol << _PROTOCOL_SHIFT)
                | earnedPerStage;
        }
        emit InferenceFulfilled(requestId, modelId, msg.sender, outputHash, protocolWei, perStageWei, holdersWei, key);
        if (holdersWei != 0) _depositRevenue(tokenOf(modelId), holdersWei);
    }

    /// @notice Returns the fee of an unfulfilled request to its requester, at or after its deadline.
    /// Anyone may call it; the fee only goes to the requester.
    function refund(uint256 requestId, InferenceRequest calldata req) external nonReentrant {
        _checkLive(requestId, req);
        if (block.timestamp < req.deadline) revert InferenceEscrowDeadlineNotReached(requestId, req.deadline);
        _requests[requestId] = _REFUNDED;
        emit InferenceRefunded(requestId, req.modelId, req.requester, req.feeWei);
        _send(req.requester, req.feeWei);
    }

    /// @notice Settles the caller's shares of all its pipelines and sends its whole balance to `to`.
    /// @dev Loops over the caller's own pipelines; `settle` pages through them if they ever become many.
    function withdraw(address to) external nonReentrant returns (uint256 amountWei) {
        if (to == address(0)) revert InferenceEscrowZeroAddress();
        amountWei = _balances[msg.sender] + _settle(msg.sender, 0, _pipelinesOf[msg.sender].length);
        if (amountWei == 0) revert InferenceEscrowNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amountWei);
        _send(to, amountWei);
    }

    /// @notice Moves `account`'s shares of its pipelines `[fromIndex, toIndex)` (see `pipelinesOf`) into its
    /// withdrawable balance. Anyone may call it: the shares only ever go to `account`.
    function settle(address account, uint256 fromIndex, uint256 toIndex) external nonReentrant returns (uint256 amountWei) {
        uint256 count = _pipelinesOf[account].length;
        if (toIndex > count) toIndex = count;
        amountWei = _settle(account, fromIndex, toIndex);
        if (amountWei != 0) _balances[account] += amountWei;
    }

    /// @notice Copies a model's fee terms from the registry (done automatically by the first request).
    function cacheModelTerms(uint64 modelId) external {
        if (_terms[modelId] == 0) _cacheTerms(modelId);
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of requests made; ids run from 1 to this value.
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @notice Where request `requestId` stands.
    function requestState(uint256 requestId) external view returns (RequestState) {
        bytes32 stored = _requests[requestId];
        if (stored == bytes32(0)) return _exists(requestId) ? RequestState.Fulfilled : RequestState.None;
        if (stored == _REFUNDED) return RequestState.Refunded;
        return RequestState.Live;
    }

    /// @notice The stored hash of a live request (0 once fulfilled or if unknown, 2 once refunded).
    function requestHash(uint256 requestId) external view returns (bytes32) {
        return _requests[requestId];
    }

    /// @notice The hash the escrow stores for `req`: `keccak256(abi.encode(modelId, requester, feeWei, deadline, inputHash))`.
    function hashRequest(InferenceRequest calldata req) external pure returns (bytes32) {
        return _hash(req.modelId, req.requester, req.feeWei, req.deadline, req.inputHash);
    }

    /// @notice Withdrawable balance of `account` (treasury or operator) in wei, settled or not.
    function balanceOf(address account) external view returns (uint256 amountWei) {
        amountWei = _balances[account];
        bytes32[] storage keys = _pipelinesOf[account];
        for (uint256 i; i < keys.length; ++i) {
            (uint256 owed,) = _owed(keys[i], account);
            amountWei += owed;
        }
    }

    /// @notice The pipelines `account` is a member of (as a stage operator, or as the treasury), in joining order.
    function pipelinesOf(address account) external view returns (bytes32[] memory) {
        return _pipelinesOf[account];
    }

    /// @notice A pipeline's cumulative fee per stage served and cumulative protocol fee, in wei.
    function pipelineEarnings(bytes32 key) external view returns (bool opened, uint256 perStageWei, uint256 protocolWei) {
        uint256 p = _pipelines[key];
        return (p != 0, p & _M104, (p >> _PROTOCOL_SHIFT) & _M104);
    }

    /// @notice Key of the pipeline of `modelId` served by `stageOperators` (in stage order).
    /// @dev Hashes the calldata words as `abi.encode` lays them out. An entry with dirty high bits gives a
    /// key no pipeline was opened with, and opening one reads (so ABI-validates) every entry and reverts.
    function pipelineKey(uint64 modelId, address[] calldata stageOperators) public pure returns (bytes32 key) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, modelId)
            mstore(add(ptr, 0x20), 0x40)
            mstore(add(ptr, 0x40), stageOperators.length)
            let size := shl(5, stageOperators.length)
            calldatacopy(add(ptr, 0x60), stageOperators.offset, size)
            key := keccak256(ptr, add(0x60, size))
        }
    }

    /// @notice The model token of `modelId`: the registry's deterministic clone (salt = modelId).
    function tokenOf(uint64 modelId) public view returns (address) {
        // CREATE2: keccak256(0xff ++ registry ++ salt ++ initCodeHash)[12:], as `Clones.predictDeterministicAddress`
        bytes32 initCodeHash = _cloneInitCodeHash;
        address deployer = address(registry);
        address token;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(add(ptr, 0x40), initCodeHash)
            mstore(add(ptr, 0x20), modelId)
            mstore(ptr, deployer)
            mstore8(add(ptr, 0x0b), 0xff)
            token := and(keccak256(add(ptr, 0x0b), 0x55), 0xffffffffffffffffffffffffffffffffffffffff)
        }
        return token;
    }

    /// @notice How a fee of `feeWei` for `modelId` would be split (the model's terms must be cached).
    function splitFee(uint64 modelId, uint256 feeWei)
        external
        view
        returns (uint256 protocolFeeWei, uint256 operatorFeeWeiPerStage, uint256 holdersWei)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) revert InferenceEscrowUnknownModel(modelId);
        return _split(terms >> _PROTO_BPS_SHIFT, terms >> _OP_BPS_SHIFT, uint16(terms), feeWei);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The caller and every stage operator must be serving: one ledger call for the whole pipeline.
    /// Encoded by hand: the operators are copied from calldata in one `calldatacopy` instead of an
    /// element-by-element ABI re-encoding (fulfil is the hot path; the ledger validates each entry).
    function _checkServing(uint64 modelId, address[] calldata stageOperators) private view {
        address ledger_ = address(ledger);
        bytes4 selector = IComputeLedger.findNonServingOperator.selector;
        uint256 found;
        uint256 notServing; // the address in the low 160 bits (the cast below drops anything above)
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), modelId)
            mstore(add(ptr, 0x24), caller())
            mstore(add(ptr, 0x44), 0x60)
            mstore(add(ptr, 0x64), stageOperators.length)
            let size := shl(5, stageOperators.length)
            calldatacopy(add(ptr, 0x84), stageOperators.offset, size)
            if iszero(staticcall(gas(), ledger_, ptr, add(0x84, size), 0, 0x40)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // a short answer reverts empty, as a high-level call's ABI decoding would
            if lt(returndatasize(), 0x40) { revert(0, 0) }
            found := mload(0)
            notServing := mload(0x20)
        }
        if (found != 0) revert InferenceEscrowNotServingOperator(modelId, address(uint160(notServing)));
    }

    /// @dev First fulfilment through `stageOperators`: checks the stage count, records each distinct
    /// operator's stages served and the treasury as members, and copies the split terms into the pipeline.
    function _openPipeline(bytes32 key, uint64 modelId, address[] calldata stageOperators)
        private
        returns (uint256 pipeline)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) terms = _cacheTerms(modelId);
        uint256 stageCount = uint16(terms);
        if (stageOperators.length != stageCount) {
            revert InferenceEscrowStageCountMismatch(stageCount, stageOperators.length);
        }
        for (uint256 i; i < stageCount; ++i) {
            _join(key, stageOperators[i], 1);
        }
        _join(key, treasury, 0);
        pipeline = _FLAG | (uint256(uint16(terms >> _OP_BPS_SHIFT)) << _P_OP_BPS_SHIFT)
            | (uint256(uint16(terms >> _PROTO_BPS_SHIFT)) << _P_PROTO_BPS_SHIFT);
        _pipelines[key] = pipeline;
        emit PipelineOpened(key, modelId, stageOperators);
    }

    function _join(bytes32 key, address account, uint256 stages) private {
        uint256 member = _members[key][account];
        if (member == 0) {
            _pipelinesOf[account].push(key);
            member = _FLAG;
        }
        _members[key][account] = member + (stages << _STAGES_SHIFT);
    }

    /// @dev Checkpoints `account` in its pipelines `[fromIndex, toIndex)` and returns what they owed it.
    function _settle(address account, uint256 fromIndex, uint256 toIndex) private returns (uint256 amountWei) {
        bytes32[] storage keys = _pipelinesOf[account];
        for (uint256 i = fromIndex; i < toIndex; ++i) {
            bytes32 key = keys[i];
            (uint256 owed, uint256 checkpoint) = _owed(key, account);
            if (owed != 0) {
                _members[key][account] = checkpoint;
                amountWei += owed;
            }
        }
        if (amountWei != 0) emit BalanceSettled(account, amountWei);
    }

    /// @dev What pipeline `key` owes `account` since its checkpoint, and the checkpoint that pays it.
    function _owed(bytes32 key, address account) private view returns (uint256 owedWei, uint256 checkpoint) {
        uint256 p = _pipelines[key];
        uint256 member = _members[key][account];
        uint256 perStage = p & _M104;
        uint256 protocol = (p >> _PROTOCOL_SHIFT) & _M104;
        owedWei = ((member >> _STAGES_SHIFT) & type(uint16).max) * (perStage - (member & _M104));
        if (account == treasury) owedWei += protocol - ((member >> _PROTOCOL_SHIFT) & _M104);
        checkpoint = (member & ~((1 << _STAGES_SHIFT) - 1)) | (protocol << _PROTOCOL_SHIFT) | perStage;
    }

    /// @dev Protocol and per-stage operator shares round down; the rounding remainder goes to the holders,
    /// so the three parts always sum to the fee. Only the low 16 bits of the bps words count.
    function _split(uint256 protocolBpsWord, uint256 operatorBpsWord, uint256 stageCount, uint256 feeWei)
        private
        pure
        returns (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei)
    {
        protocolWei = feeWei * uint16(protocolBpsWord) / _BPS;
        perStageWei = feeWei * uint16(operatorBpsWord) / _BPS / stageCount;
        holdersWei = feeWei - protocolWei - perStageWei * stageCount;
    }

    function _cacheTerms(uint64 modelId) private returns (uint256 terms) {
        if (modelId == 0 || modelId > registry.modelCount()) revert InferenceEscrowUnknownModel(modelId);
        IModelRegistry.Model memory m = registry.model(modelId);
        if (m.token != tokenOf(modelId)) revert InferenceEscrowUnexpectedToken(modelId, m.token);
        terms = _FLAG | (uint256(m.minRequestFeeWei) << _MIN_FEE_SHIFT) | (uint256(m.operatorFeeBps) << _OP_BPS_SHIFT)
            | (uint256(m.protocolFeeBps) << _PROTO_BPS_SHIFT) | m.stageCount;
        _terms[modelId] = terms;
        emit ModelTermsCached(modelId, m.token, m.stageCount, m.protocolFeeBps, m.operatorFeeBps, m.minRequestFeeWei);
    }

    /// @dev `IModelToken(token).depositRevenue{value: amountWei}()` without the high-level call's
    /// EXTCODESIZE check: the token is the registry's clone of `modelId`, deployed when the model was
    /// registered (`_cacheTerms` checked the address), and that check would make the clone's cold
    /// access cost 2600 + 100 instead of 2600. A revert of the token is bubbled up unchanged.
    function _depositRevenue(address token, uint256 amountWei) private {
        bytes4 selector = IModelToken.depositRevenue.selector;
        assembly ("memory-safe") {
            mstore(0, selector)
            if iszero(call(gas(), token, amountWei, 0, 4, 0, 0)) {
                let ptr := mload(0x40)
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
        }
    }

    function _checkLive(uint256 requestId, InferenceRequest calldata req) private view {
        bytes32 stored = _requests[requestId];
        bytes32 given;
        // The struct is 5 static words in calldata, laid out as `abi.encode` of its fields: hashing them raw
        // equals `_hash` for clean words; a dirty word can only fail to match.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, req, 0xa0)
            given := keccak256(ptr, 0xa0)
        }
        if (stored == given) return;
        if (stored == bytes32(0)) {
            if (_exists(requestId)) revert InferenceEscrowAlreadyFulfilled(requestId);
            revert InferenceEscrowUnknownRequest(requestId);
        }
        if (stored == _REFUNDED) revert InferenceEscrowAlreadyRefunded(requestId);
        revert InferenceEscrowRequestMismatch(requestId);
    }

    function _exists(uint256 requestId) private view returns (bool) {
        // solhint-disable-next-line gas-strict-inequalities
        return requestId != 0 && requestId <= _requestCount;
    }

    function _send(address to, uint256 amountWei) private {
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok,) = to.call{value: amountWei}("");
        if (!ok) revert InferenceEscrowTransferFailed(to);
    }

    function _hash(uint64 modelId, address requester, uint256 feeWei, uint64 deadline, bytes32 inputHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(modelId, requester, feeWei, deadline, inputHash));
    }
}
