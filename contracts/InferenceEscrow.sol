// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IComputeLedger} from "./interfaces/IComputeLedger.sol";
import {IInferenceEscrow} from "./interfaces/IInferenceEscrow.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IModelToken} from "./interfaces/IModelToken.sol";

/// @title InferenceEscrow: paid inference requests, delivered by a model's staked serving operators
/// @notice A requester escrows a fee; a serving operator fulfils before the deadline and the fee is split
/// into the protocol treasury's balance, the stage operators' balances (pull) and the model token's
/// revenue accumulator. After the deadline an unfulfilled request can only be refunded to its requester;
/// before it the requester cannot take the fee back (no front-running of the delivery).
///
/// Gas: a request stores one slot, the hash of its fields; `fulfill`/`refund` take the fields back as
/// calldata. A model's terms are immutable in the registry, so the escrow caches them (two slots) on
/// first use instead of calling the registry on every request.
contract InferenceEscrow is IInferenceEscrow, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- constants

    uint256 private constant _BPS = 10_000;
    /// @dev Settled markers: a keccak output is never 1 or 2. Keeping them (instead of clearing the slot for a
    /// 4.8k refund) lets `requestState` tell fulfilled from refunded on-chain.
    bytes32 private constant _FULFILLED = bytes32(uint256(1));
    bytes32 private constant _REFUNDED = bytes32(uint256(2));
    /// @dev Marks a cached min fee, so that a (registry-forbidden) zero fee still reads as cached.
    uint256 private constant _CACHED = 1 << 255;
    uint256 private constant _STAGES_SHIFT = 160;
    uint256 private constant _PROTOCOL_SHIFT = 176;
    uint256 private constant _OPERATOR_SHIFT = 192;

    // ---------------------------------------------------------------- storage

    /// @notice Where model terms come from.
    // solhint-disable-next-line immutable-vars-naming
    IModelRegistry public immutable registry; // public getter names are part of the ABI
    /// @notice Who may serve: `ledger.isServingOperator(modelId, operator)`.
    // solhint-disable-next-line immutable-vars-naming
    IComputeLedger public immutable ledger;
    /// @notice Receives the protocol share (as a pull balance).
    // solhint-disable-next-line immutable-vars-naming
    address public immutable treasury;

    uint256 private _requestCount;
    /// @dev Live: hash of the request fields; then `_FULFILLED` or `_REFUNDED`.
    mapping(uint256 requestId => bytes32) private _requests;
    mapping(address account => uint256) private _balances;
    /// @dev `operatorFeeBps << 192 | protocolFeeBps << 176 | stageCount << 160 | token`.
    mapping(uint64 modelId => uint256) private _terms;
    /// @dev `_CACHED | minRequestFeeWei`.
    mapping(uint64 modelId => uint256) private _minFees;

    // ---------------------------------------------------------------- setup

    constructor(IModelRegistry registry_, IComputeLedger ledger_, address treasury_) {
        if (address(registry_) == address(0) || address(ledger_) == address(0) || treasury_ == address(0)) {
            revert InferenceEscrowZeroAddress();
        }
        registry = registry_;
        ledger = ledger_;
        treasury = treasury_;
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
        uint256 minFee = _minFees[modelId];
        if (minFee == 0) minFee = _cacheTerms(modelId);
        minFee &= ~_CACHED;
        if (msg.value < minFee) revert InferenceEscrowFeeTooLow(msg.value, minFee);
        // solhint-disable-next-line gas-strict-inequalities
        if (deadline <= block.timestamp) revert InferenceEscrowInvalidDeadline(deadline);
        requestId = ++_requestCount;
        _requests[requestId] = _hash(modelId, msg.sender, msg.value, deadline, inputHash);
        emit InferenceRequested(requestId, modelId, msg.sender, inputHash, msg.value, deadline);
    }

    /// @notice Delivers request `requestId`: the caller and every entry of `stageOperators` (one per stage,
    /// in stage order; an operator serving several stages appears several times) must be serving operators
    /// of the model, strictly before the deadline, once. Splits the fee (see `InferenceFulfilled`).
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
        uint256 terms = _terms[modelId];
        uint256 stageCount = uint16(terms >> _STAGES_SHIFT);
        if (stageOperators.length != stageCount) {
            revert InferenceEscrowStageCountMismatch(stageCount, stageOperators.length);
        }
        if (!ledger.isServingOperator(modelId, msg.sender)) revert InferenceEscrowNotServingOperator(modelId, msg.sender);
        for (uint256 i; i < stageCount; ++i) {
            address op = stageOperators[i];
            if (op != msg.sender && !ledger.isServingOperator(modelId, op)) {
                revert InferenceEscrowNotServingOperator(modelId, op);
            }
        }
        _requests[requestId] = _FULFILLED;
        _payOut(requestId, modelId, terms, req.feeWei, outputHash, stageOperators);
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

    /// @notice Sends the caller's whole balance (treasury or operator fees) to `to`.
    function withdraw(address to) external nonReentrant returns (uint256 amountWei) {
        if (to == address(0)) revert InferenceEscrowZeroAddress();
        amountWei = _balances[msg.sender];
        if (amountWei == 0) revert InferenceEscrowNothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amountWei);
        _send(to, amountWei);
    }

    /// @notice Copies a model's fee terms from the registry (done automatically by the first request).
    function cacheModelTerms(uint64 modelId) external {
        if (_minFees[modelId] == 0) _cacheTerms(modelId);
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of requests made; ids run from 1 to this value.
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @notice Where request `requestId` stands.
    function requestState(uint256 requestId) external view returns (RequestState) {
        bytes32 stored = _requests[requestId];
        if (stored == bytes32(0)) return RequestState.None;
        if (stored == _FULFILLED) return RequestState.Fulfilled;
        if (stored == _REFUNDED) return RequestState.Refunded;
        return RequestState.Live;
    }

    /// @notice The stored hash of a live request (1 once fulfilled, 2 once refunded, 0 if unknown).
    function requestHash(uint256 requestId) external view returns (bytes32) {
        return _requests[requestId];
    }

    /// @notice The hash the escrow stores for `req`: `keccak256(abi.encode(modelId, requester, feeWei, deadline, inputHash))`.
    function hashRequest(InferenceRequest calldata req) external pure returns (bytes32) {
        return _hash(req.modelId, req.requester, req.feeWei, req.deadline, req.inputHash);
    }

    /// @notice Withdrawable balance of `account` (treasury or operator), in wei.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @notice How a fee of `feeWei` for `modelId` would be split (the model's terms must be cached).
    function splitFee(uint64 modelId, uint256 feeWei)
        external
        view
        returns (uint256 protocolFeeWei, uint256 operatorFeeWeiPerStage, uint256 holdersWei)
    {
        uint256 terms = _terms[modelId];
        if (terms == 0) revert InferenceEscrowUnknownModel(modelId);
        return _split(terms, feeWei);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Credits the treasury and the stage operators and deposits the holders' share in the token.
    function _payOut(
        uint256 requestId,
        uint64 modelId,
        uint256 terms,
        uint256 feeWei,
        bytes32 outputHash,
        address[] calldata stageOperators
    ) private {
        (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei) = _split(terms, feeWei);
        if (protocolWei != 0) _balances[treasury] += protocolWei;
        if (perStageWei != 0) {
            for (uint256 i; i < stageOperators.length; ++i) {
                _balances[stageOperators[i]] += perStageWei;
            }
        }
        emit InferenceFulfilled(
            requestId, modelId, msg.sender, outputHash, protocolWei, perStageWei, holdersWei, stageOperators
        );
        if (holdersWei != 0) IModelToken(address(uint160(terms))).depositRevenue{value: holdersWei}();
    }

    /// @dev Protocol and per-stage operator shares round down; the rounding remainder goes to the holders,
    /// so the three parts always sum to the fee.
    function _split(uint256 terms, uint256 feeWei)
        private
        pure
        returns (uint256 protocolWei, uint256 perStageWei, uint256 holdersWei)
    {
        uint256 stageCount = uint16(terms >> _STAGES_SHIFT);
        protocolWei = feeWei * uint16(terms >> _PROTOCOL_SHIFT) / _BPS;
        perStageWei = feeWei * uint16(terms >> _OPERATOR_SHIFT) / _BPS / stageCount;
        holdersWei = feeWei - protocolWei - perStageWei * stageCount;
    }

    function _cacheTerms(uint64 modelId) private returns (uint256 minFee) {
        if (modelId == 0 || modelId > registry.modelCount()) revert InferenceEscrowUnknownModel(modelId);
        IModelRegistry.Model memory m = registry.model(modelId);
        _terms[modelId] = (uint256(m.operatorFeeBps) << _OPERATOR_SHIFT) | (uint256(m.protocolFeeBps) << _PROTOCOL_SHIFT)
            | (uint256(m.stageCount) << _STAGES_SHIFT) | uint256(uint160(m.token));
        minFee = _CACHED | m.minRequestFeeWei;
        _minFees[modelId] = minFee;
        emit ModelTermsCached(modelId, m.token, m.stageCount, m.protocolFeeBps, m.operatorFeeBps, m.minRequestFeeWei);
    }

    function _checkLive(uint256 requestId, InferenceRequest calldata req) private view {
        bytes32 stored = _requests[requestId];
        if (stored == _hash(req.modelId, req.requester, req.feeWei, req.deadline, req.inputHash)) return;
        if (stored == bytes32(0)) revert InferenceEscrowUnknownRequest(requestId);
        if (stored == _FULFILLED) revert InferenceEscrowAlreadyFulfilled(requestId);
        if (stored == _REFUNDED) revert InferenceEscrowAlreadyRefunded(requestId);
        revert InferenceEscrowRequestMismatch(requestId);
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
